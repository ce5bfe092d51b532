/**
 * Fair share, as the issue states it: while tenant A has FLOOD runs queued, tenant B's new 1-step
 * runs finish within 2 s (p99 over PROBES runs). Runs against the bench's API process and worker
 * processes. A's runs are written straight to PostgreSQL (as the create path writes them) and enqueued
 * through the product's own queue adapter (BullmqRunQueue: the same priority the create path gives),
 * and topped up while B's runs are measured (refilled to FLOOD + 10 % every 200 ms), so A's backlog
 * stays at or above FLOOD. B's runs go
 * through the API; each is timed from the moment its POST is sent to its `finished_at`.
 */
import { Queue } from 'bullmq';
import pg from 'pg';
import { BullmqRunQueue, type RunJobData } from '../src/infra/queue/bullmq-run.queue.js';
import { bullmqPrefix, RUNS_QUEUE_NAME } from '../src/infra/queue/run-queue.port.js';

export interface FairShareOptions {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** The API's base URL and tenant B's Authorization header. */
  apiUrl: string;
  auth: string;
  flood: number;
  probes: number;
  /** One probe every this many ms (open loop: a slow probe does not delay the next). */
  intervalMs: number;
  log: (line: string) => void;
}

export interface FairShareResult {
  flood: number;
  /** A's queued runs: the least seen while B's runs were measured, and when the first started. */
  minQueued: number;
  queuedAtStart: number;
  probes: number;
  succeeded: number;
  problems: string[];
  p50: number;
  p99: number;
  max: number;
  /** A's runs finished per second while B's were measured (the workers were busy with A). */
  floodRunsPerSecond: number;
}

const step = { name: 'double', skill: 'transform', params: { expression: 'input.n * 2' } };
const storedSteps = JSON.stringify([{ ...step, replay_behavior: 'execute', idempotency_key: null }]);

export async function fairShare(o: FairShareOptions): Promise<FairShareResult> {
  const db = new pg.Client({ connectionString: o.databaseUrl });
  await db.connect();
  const queue = new Queue<RunJobData>(RUNS_QUEUE_NAME, { connection: { url: o.redisUrl }, prefix: bullmqPrefix(o.redisPrefix) });
  const runQueue = new BullmqRunQueue(queue, { url: o.redisUrl, maxRetriesPerRequest: null });
  try {
    const tenantA = (await db.query<{ id: string }>(`INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'flooder') RETURNING id`))
      .rows[0].id;
    const count = async (status: string) =>
      Number(
        (await db.query<{ n: string }>('SELECT count(*) AS n FROM runs WHERE tenant_id = $1 AND status = $2', [tenantA, status])).rows[0].n,
      );
    const flood = async (n: number) => {
      const ids = (
        await db.query<{ id: string }>(
          `INSERT INTO runs (id, tenant_id, agent_id, status, input, steps, metadata, attempts, created_at, updated_at)
           SELECT gen_random_uuid(), $1, 'flood', 'queued', json_build_object('n', i), $2::json, '{}'::json, 0, now(), now()
           FROM generate_series(1, $3::int) AS i RETURNING id`,
          [tenantA, storedSteps, n],
        )
      ).rows.map((r) => r.id);
      for (let i = 0; i < ids.length; i += 100) await Promise.all(ids.slice(i, i + 100).map((id) => runQueue.enqueue(id, tenantA)));
    };

    const started = Date.now();
    await flood(o.flood);
    o.log(`fair share: ${o.flood} runs of tenant A written and enqueued in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Top A's backlog up (the workers keep taking from it) until B's runs are done: whenever it is below
    // FLOOD + HEADROOM it is refilled to that, so between two checks it stays above FLOOD.
    const refillTo = o.flood + Math.ceil(o.flood / 10);
    let queued = await count('queued');
    if (queued < refillTo) await flood(refillTo - queued);
    const queuedAtStart = await count('queued');
    let minQueued = queuedAtStart;
    let measuring = true;
    const feeder = (async () => {
      while (measuring) {
        queued = await count('queued');
        minQueued = Math.min(minQueued, queued);
        if (queued < refillTo) await flood(refillTo - queued);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const floodDoneBefore = await count('succeeded');
    const measureStarted = Date.now();
    const problems: string[] = [];
    // Each run is timed from the moment its POST is sent to its finished_at (written by the worker that
    // finished it; same machine, same clock), read from PostgreSQL in one query every 50 ms: polling
    // GET /v1/runs/{id} for every run in flight would load the machine it measures.
    const submit = async (n: number): Promise<{ id: string; n: number; sentAt: number } | null> => {
      const sentAt = Date.now();
      const posted = await fetch(`${o.apiUrl}/v1/agents/probe/runs`, {
        method: 'POST',
        headers: { authorization: o.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { n }, steps: [step] }),
      });
      const created = (await posted.json()) as { id?: string };
      if (posted.status !== 202 || !created.id) {
        problems.push(`POST answered ${posted.status}`);
        return null;
      }
      return { id: created.id, n, sentAt };
    };
    const sent = (
      await Promise.all(
        Array.from({ length: o.probes }, (_, n) => new Promise((r) => setTimeout(r, n * o.intervalMs)).then(() => submit(n))),
      )
    ).filter((p) => p !== null);
    type Row = { id: string; status: string; output: unknown; finished_at: Date | null };
    let rows = new Map<string, Row>();
    const deadline = Date.now() + 300_000;
    for (;;) {
      const found = await db.query<Row>('SELECT id, status, output, finished_at FROM runs WHERE id = ANY($1::uuid[])', [
        sent.map((p) => p.id),
      ]);
      rows = new Map(found.rows.map((r) => [r.id, r]));
      if (found.rows.every((r) => r.finished_at !== null) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const results = sent.map((p): number | null => {
      const row = rows.get(p.id);
      if (!row?.finished_at) {
        problems.push(`run ${p.id} did not finish within 5 minutes`);
        return null;
      }
      if (row.status !== 'succeeded' || row.output !== p.n * 2) {
        problems.push(`run ${p.id} ended ${row.status}`);
        return null;
      }
      return row.finished_at.getTime() - p.sentAt;
    });
    const measureSeconds = (Date.now() - measureStarted) / 1000;
    const floodDone = (await count('succeeded')) - floodDoneBefore;
    measuring = false;
    await feeder;
    minQueued = Math.min(minQueued, await count('queued'));
    // Stop the flood: its remaining runs are cancelled (their jobs find nothing to do).
    await db.query(
      `UPDATE runs SET status = 'cancelled', finished_at = now(), updated_at = now() WHERE tenant_id = $1 AND status = 'queued'`,
      [tenantA],
    );
    await queue.drain();

    const latencies = results.filter((x): x is number => x !== null).sort((a, b) => a - b);
    const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] : NaN);
    const result: FairShareResult = {
      flood: o.flood,
      minQueued,
      queuedAtStart,
      probes: o.probes,
      succeeded: latencies.length,
      problems,
      p50: at(0.5),
      p99: at(0.99),
      max: latencies[latencies.length - 1] ?? NaN,
      floodRunsPerSecond: floodDone / measureSeconds,
    };
    o.log(
      `fair share: B's ${result.succeeded}/${o.probes} runs p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms, max ${result.max.toFixed(0)} ms; ` +
        `A queued ${queuedAtStart} at the start, at least ${minQueued} throughout; A's runs meanwhile ${result.floodRunsPerSecond.toFixed(0)}/s` +
        (problems.length ? `; problems: ${problems.join(', ')}` : ''),
    );
    return result;
  } finally {
    await queue.close();
    await db.end();
  }
}
