/**
 * End to end, side by side: our 3-step runs (API + 2 worker processes) and DBOS Transact's durable
 * 3-step workflows (an HTTP process that enqueues + 2 DBOS worker processes, `bench/dbos.ts`), on the
 * same PostgreSQL, started and awaited the same way:
 * - started: autocannon POSTs `runs` requests over `connections` connections (one run or workflow each);
 * - awaited: the bench polls PostgreSQL every 50 ms until none of the round's runs/workflows is still
 *   queued or running; the time is from the first POST to that moment; runs/s = succeeded / time.
 * Rounds alternate (ours first in even rounds, DBOS first in odd ones); medians are reported.
 * Peak RSS is each process's VmHWM (Linux high-water mark) after all rounds.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { type Proc, sql, start, waitUntil } from './support.js';

export interface E2ERound {
  seconds: number;
  submitSeconds: number;
  accepted: number;
  non2xx: number;
  errors: number;
  succeeded: number;
  notSucceeded: number;
  rate: number;
}

export interface Side {
  name: string;
  rounds: E2ERound[];
  /** Peak RSS (MB) of the API-side process and of each worker process (sandbox children separately). */
  rss: { api: number; workers: number[]; children: number[][] };
}

/** VmHWM of a process in MB (0 if gone). */
export function peakRssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of a process (Linux /proc). */
export function childPids(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function rssOf(api: Proc, workers: Proc[]): Side['rss'] {
  return {
    api: peakRssMb(api.child.pid),
    workers: workers.map((w) => peakRssMb(w.child.pid)),
    children: workers.map((w) => childPids(w.child.pid).map(peakRssMb)),
  };
}

export interface SideRunner {
  name: string;
  /** One round of `runs` runs (default: the bench's count); round -1 is the warm-up. */
  round(round: number, runs?: number): Promise<E2ERound>;
  rss(): Side['rss'];
  stop(): Promise<void>;
}

/** Submits `runs` POSTs, then waits until `active()` is 0; `succeeded()` counts this round's successes. */
export async function e2eRound(opts: {
  url: string;
  headers: Record<string, string>;
  body: string;
  runs: number;
  connections: number;
  active: () => Promise<number>;
  finished: () => Promise<{ succeeded: number; created: number }>;
}): Promise<E2ERound> {
  const started = Date.now();
  const submitted = await autocannon({
    url: opts.url,
    amount: opts.runs,
    connections: opts.connections,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json', ...opts.headers }, body: opts.body }],
  });
  const submitSeconds = (Date.now() - started) / 1000;
  await waitUntil(async () => (await opts.active()) === 0, 600_000);
  const seconds = (Date.now() - started) / 1000;
  const { succeeded, created } = await opts.finished();
  return {
    seconds,
    submitSeconds,
    accepted: submitted['2xx'],
    non2xx: submitted.non2xx,
    errors: submitted.errors,
    succeeded,
    notSucceeded: created - succeeded,
    rate: succeeded / seconds,
  };
}

/** The DBOS side: its HTTP enqueuer and 2 DBOS worker processes, on `databaseUrl` (schema `dbos`). */
export async function startDbos(databaseUrl: string, port: number, runs: number, connections: number): Promise<SideRunner> {
  const env = { DBOS_SYSTEM_DATABASE_URL: databaseUrl, NODE_ENV: 'production', PORT: String(port) };
  // One at a time: the first launch creates DBOS's schema.
  const first = start('dist/bench/dbos.js', env, '"ready":true', ['worker']);
  await first.line;
  const workers = [first, start('dist/bench/dbos.js', env, '"ready":true', ['worker'])];
  const api = start('dist/bench/dbos.js', env, '"ready":true', ['api']);
  await Promise.all([workers[1].line, api.line]);
  const body = JSON.stringify({ input: { n: 3 } });
  return {
    name: 'DBOS Transact',
    async round(_round, amount = runs) {
      const count = async () =>
        (
          await sql<{ created: string; active: string; succeeded: string }>(
            databaseUrl,
            `SELECT count(*) AS created, count(*) FILTER (WHERE status IN ('ENQUEUED', 'PENDING')) AS active,
               count(*) FILTER (WHERE status = 'SUCCESS') AS succeeded FROM dbos.workflow_status WHERE queue_name = 'bench'`,
          )
        )[0];
      const before = await count();
      return e2eRound({
        url: `http://127.0.0.1:${port}/workflows`,
        headers: {},
        body,
        runs: amount,
        connections,
        active: async () => Number((await count()).active),
        finished: async () => {
          const after = await count();
          return {
            created: Number(after.created) - Number(before.created),
            succeeded: Number(after.succeeded) - Number(before.succeeded),
          };
        },
      });
    },
    rss: () => rssOf(api, workers),
    stop: async () => {
      for (const p of [api, ...workers]) await p.stop();
    },
  };
}
