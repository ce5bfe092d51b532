/**
 * `npm run bench`: one run, side by side, on loopback against the machine's PostgreSQL and Redis.
 * Writes the markdown table to stdout and to BENCHMARKS.md (BENCH_OUT to change the file).
 *
 * Knobs: BENCH_DURATION (s per HTTP scenario, default 10), BENCH_CONNECTIONS (default 50),
 * BENCH_E2E_RUNS (default 2000), BENCH_ROUNDS (default 3), BENCH_E2E_ROUNDS (default BENCH_ROUNDS), BENCH_REPLAY_STEPS (default 1000),
 * BENCH_FAIR_FLOOD (tenant A's queued runs in the fair-share scenario, default 10000), BENCH_FAIR_PROBES
 * (tenant B's runs measured meanwhile, default 50), BENCH_DATABASE_URL / BENCH_REDIS_URL (the machine's services).
 *
 * What counts: only 2xx answers count as requests served (req/s = 2xx / seconds; latencies of 2xx
 * only). A scenario with any non-2xx answer or connection error is shown with its status codes and
 * every ratio or target that uses it is marked invalid. Runs/s counts succeeded runs only. Replays
 * are timed from the POST to the moment GET /v1/runs/{id} shows the replay finished, and count only
 * when it succeeded with the expected verdict. In-process microbenchmarks are labelled as such and
 * never compared with a product target.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { type E2ERound, e2eRound, rssOf, type Side, type SideRunner, startDbos } from './e2e.js';
import { type Proc, sql, start, waitUntil } from './support.js';
import { bullmqPrefix } from '../src/infra/queue/run-queue.port.js';
import { hashOutput } from '../src/shared/canonical-json.js';
import { MemoryStepIdempotencyStore } from '../src/domains/logs/drivers/memory-step-idempotency.store.js';
import { type EnforcedStep, ReplayEnforcer } from '../src/domains/logs/drivers/replay-enforcer.driver.js';
import { fairShare } from './fair-share.js';

const BASE_DB = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const E2E_RUNS = Number(process.env.BENCH_E2E_RUNS ?? 2000);
const OUT = process.env.BENCH_OUT ?? 'BENCHMARKS.md';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const E2E_ROUNDS = Number(process.env.BENCH_E2E_ROUNDS ?? ROUNDS);
const REPLAY_STEPS = Number(process.env.BENCH_REPLAY_STEPS ?? 1000);
const FAIR_FLOOD = Number(process.env.BENCH_FAIR_FLOOD ?? 10_000);
const FAIR_PROBES = Number(process.env.BENCH_FAIR_PROBES ?? 50);

/**
 * The API process of the create scenarios runs as in production: request logging on (pino, one JSON
 * line per request, read from the pipe by this process) and the rate limit on (counted in Redis on
 * every request). Only the limit is raised, so the one bench tenant is counted but never refused.
 */
const HTTP_ENV = { LOG_REQUESTS: 'true', LOG_LEVEL: 'info', RATE_LIMIT_PER_SECOND: '1000000' };

const tag = randomBytes(4).toString('hex');
const dbName = `test_bench_${tag}`;
const prefix = `bench-${tag}`;
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const createBody = JSON.stringify({
  input: { order: 42, customer: 'c-1' },
  steps: [{ name: 'double', skill: 'transform', params: { expression: 'input.order * 2' } }],
  metadata: { source: 'bench' },
});
const threeSteps = JSON.stringify({
  input: { n: 3 },
  steps: [
    { name: 'a', skill: 'transform', params: { expression: 'input.n + 1' } },
    { name: 'b', skill: 'transform', params: { expression: 'steps[0].output * 2' } },
    { name: 'c', skill: 'transform', params: { expression: '{ "total": steps[1].output }' } },
  ],
});

function dbUrl(name: string): string {
  const u = new URL(BASE_DB);
  u.pathname = `/${name}`;
  return u.toString();
}

interface Measured {
  /** 2xx answers per second. */
  rps: number;
  /** CPU time per answer (µs) of the API process and of the PostgreSQL backends serving its database: costs that other load on the machine does not change much. */
  apiCpuUs?: number;
  pgCpuUs?: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Every status code seen, with its count ("202: 51234"). */
  codes: string;
}

/** User + system CPU time of a process in ms (Linux /proc; null elsewhere or once it is gone). */
function cpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU time (ms) of each PostgreSQL backend connected to `database`, by pid. */
async function backendCpu(database: string): Promise<Map<number, number>> {
  const rows = await sql<{ pid: number }>(BASE_DB, 'SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  return new Map(rows.flatMap(({ pid }) => [[pid, cpuMs(pid)] as const].filter((e): e is [number, number] => e[1] !== null)));
}

/** Where the CPU time of a scenario is measured: the API process and the PostgreSQL backends of its database. */
interface CpuProbe {
  pid: number;
  database: string;
}

async function cannon(name: string, opts: autocannon.Options, probe?: CpuProbe): Promise<Measured> {
  // warm-up, then the measured run; latencies of 2xx answers only
  await autocannon({ ...opts, duration: 2, connections: CONNECTIONS, excludeErrorStats: true });
  const apiBefore = probe ? cpuMs(probe.pid) : null;
  const pgBefore = probe ? await backendCpu(probe.database) : null;
  const r = await autocannon({ ...opts, duration: DURATION, connections: CONNECTIONS, excludeErrorStats: true });
  const apiAfter = probe ? cpuMs(probe.pid) : null;
  const pgAfter = probe ? await backendCpu(probe.database) : null;
  const codes = Object.entries(r.statusCodeStats ?? {})
    .map(([code, stat]) => `${code}: ${stat.count ?? 0}`)
    .join(', ');
  const answers = Math.max(1, r['2xx'] + r.non2xx);
  const perAnswer = (ms: number) => (ms * 1000) / answers;
  const m: Measured = { rps: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, codes };
  if (apiBefore !== null && apiAfter !== null) m.apiCpuUs = perAnswer(apiAfter - apiBefore);
  // backends that came and went during the run are missed; those that came are counted from 0
  if (pgBefore && pgAfter) m.pgCpuUs = perAnswer([...pgAfter].reduce((sum, [pid, ms]) => sum + ms - (pgBefore.get(pid) ?? 0), 0));
  log(
    `${name}: ${m.rps.toFixed(0)} 2xx/s, p50 ${m.p50} ms, p99 ${m.p99} ms, codes {${codes}}, non-2xx ${m.non2xx}, errors ${m.errors}` +
      (m.apiCpuUs !== undefined ? `, CPU per answer: API ${m.apiCpuUs.toFixed(0)} µs, PostgreSQL ${m.pgCpuUs?.toFixed(0) ?? '?'} µs` : ''),
  );
  return m;
}

/** Deletes the keys matching `pattern`, a SCAN batch at a time (tens of thousands of job keys). */
async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** The median of each field over the rounds; non-2xx and errors summed, codes of every round kept. */
function median(runs: Measured[]): Measured & { all: number[] } {
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cpu = (pick: (r: Measured) => number | undefined) => {
    const xs = runs.map(pick).filter((x): x is number => x !== undefined);
    return xs.length === runs.length ? mid(xs) : undefined;
  };
  return {
    rps: mid(runs.map((r) => r.rps)),
    apiCpuUs: cpu((r) => r.apiCpuUs),
    pgCpuUs: cpu((r) => r.pgCpuUs),
    p50: mid(runs.map((r) => r.p50)),
    p99: mid(runs.map((r) => r.p99)),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    codes: runs.map((r) => `{${r.codes}}`).join(' '),
    all: runs.map((r) => r.rps),
  };
}

const clean = (m: Measured) => m.non2xx === 0 && m.errors === 0;

/** a / b, or why it is not valid: a ratio over a scenario with failed requests says nothing. */
function ratioOf(a: Measured, aName: string, b: Measured, bName: string): string {
  const bad = [
    [a, aName],
    [b, bName],
  ]
    .filter(([m]) => !clean(m as Measured))
    .map(([m, n]) => `${n as string}: ${(m as Measured).non2xx} non-2xx, ${(m as Measured).errors} errors`);
  return bad.length ? `invalid (${bad.join('; ')})` : `**${(a.rps / b.rps).toFixed(2)}**`;
}

async function storm(url: string, auth: string, key: string): Promise<Map<number, number>> {
  const responses = await Promise.all(
    Array.from({ length: 200 }, () =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json', 'idempotency-key': key },
        body: createBody,
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      }),
    ),
  );
  const histogram = new Map<number, number>();
  for (const s of responses) histogram.set(s, (histogram.get(s) ?? 0) + 1);
  return histogram;
}

const fmtHist = (h: Map<number, number>) =>
  [...h.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');

/** The replay engine alone: enforceTrace over a 1,000-step trace with recorded outputs (memory store). */
async function replayEngineRates(): Promise<{ skip: number; check: number }> {
  const clock = { now: () => new Date() };
  const enforcer = new ReplayEnforcer(new MemoryStepIdempotencyStore(clock), { ttlSeconds: 3600, leaseMs: 30_000, waitMs: 1_000, clock });
  const output = (i: number) => ({
    status: 200,
    headers: { 'content-type': 'application/json', date: 'Mon, 23 Nov 2026 10:00:00 GMT' },
    body: { id: i, items: [1, 2, 3], note: 'recorded output' },
  });
  const trace = (behavior: 'skip' | 'check'): EnforcedStep[] =>
    Array.from({ length: 1000 }, (_, i) => ({
      index: i,
      skill: 'http.request',
      params: { url: `https://api.example.com/items/${i}` },
      idempotency_key: null,
      behavior,
      recorded: { output: output(i) },
    }));
  const executor = async (s: EnforcedStep) => output(s.index);
  const rate = async (behavior: 'skip' | 'check') => {
    const steps = trace(behavior);
    await enforcer.enforceTrace(steps, executor, 'tenant', 'continue'); // warm-up
    const rounds = 5;
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) await enforcer.enforceTrace(steps, executor, 'tenant', 'continue');
    return (rounds * steps.length) / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  return { skip: await rate('skip'), check: await rate('check') };
}

function hashing(): { canonical: number; plain: number; bytes: number } {
  const doc = {
    id: 'order-42',
    customer: { id: 7, name: 'Ada Lovelace', email: 'ada@example.com', tags: ['vip', 'beta', 'émigré'] },
    lines: Array.from({ length: 40 }, (_, i) => ({
      sku: `SKU-${1000 + i}`,
      qty: (i % 5) + 1,
      price: 12.5 + i,
      title: `Item number ${i} with a longer title`,
      flags: { gift: i % 2 === 0, fragile: i % 3 === 0 },
    })),
    totals: { net: 1234.56, tax: 234.5, gross: 1469.06 },
    notes: 'Leave at the door. '.repeat(10),
  };
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  const run = (fn: () => unknown) => {
    for (let i = 0; i < 2000; i++) fn();
    const n = 20_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return (n * bytes) / (Number(process.hrtime.bigint() - started) / 1e9) / 1e6;
  };
  const canonical = run(() => hashOutput(doc));
  const plain = run(() => createHash('sha256').update(JSON.stringify(doc), 'utf8').digest('hex'));
  return { canonical, plain, bytes };
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const [pgVersion] = await sql<{ server_version: string }>(BASE_DB, 'SHOW server_version');
  const dbosVersion = (JSON.parse(readFileSync('node_modules/@dbos-inc/dbos-sdk/package.json', 'utf8')) as { version: string }).version;
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  await sql(BASE_DB, `CREATE DATABASE ${dbName}`);
  const DATABASE_URL = dbUrl(dbName);
  const base = {
    DATABASE_URL,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    RATE_LIMIT_PER_SECOND: '0',
    LOG_REQUESTS: 'false',
    LOG_LEVEL: 'warn',
    MAX_STEPS: '1000',
    DB_POOL_SIZE: '20',
    NODE_ENV: 'production',
  };
  const procs: Proc[] = [];
  let dbosSide: SideRunner | null = null;
  try {
    // ---- HTTP: bare, plain insert, idempotent create, peer -------------------------------------
    const port = 3400 + Math.floor(Math.random() * 500);
    const server = start('dist/bench/server.js', { ...base, ...HTTP_ENV, PORT: String(port), WORKER_ENABLED: 'false' }, '"ready":true');
    procs.push(server);
    const { apiKey } = JSON.parse(await server.line) as { apiKey: string };
    const auth = `Bearer ${apiKey}`;
    const url = `http://127.0.0.1:${port}`;
    const post = (path: string, keyed: boolean): autocannon.Options => ({
      url: `${url}${path}`,
      requests: [
        {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: createBody,
          ...(keyed
            ? { setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }) }
            : {}),
        },
      ],
    });
    // (a), (b), (c), (d) interleaved over ROUNDS rounds in rotating order; the median of each is reported,
    // so a drift of the machine during the run (caches, autovacuum, CPU clock, other load) favours none.
    const probe: CpuProbe = { pid: server.child.pid!, database: dbName };
    const scenarios = {
      bare: () => cannon('bare', { url: `${url}/bench/bare` }, probe),
      plain: () => cannon('plain create (no key)', post('/v1/agents/bench-agent/runs', false), probe),
      idem: () => cannon('idempotent create', post('/v1/agents/bench-agent/runs', true), probe),
      peer: () => cannon('@node-idempotency/nestjs', post('/bench/peer/bench-agent', true), probe),
    };
    const loadBefore = loadavg();
    const rounds: Record<keyof typeof scenarios, Measured[]> = { bare: [], plain: [], idem: [], peer: [] };
    const order = Object.keys(scenarios) as Array<keyof typeof scenarios>;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < order.length; i++) {
        const name = order[(i + round) % order.length];
        rounds[name].push(await scenarios[name]());
      }
    }
    const [bare, plain, idem, peer] = [median(rounds.bare), median(rounds.plain), median(rounds.idem), median(rounds.peer)];
    const loadAfter = loadavg();
    const httpLoad = `load average (1 min) ${loadBefore[0].toFixed(1)} before, ${loadAfter[0].toFixed(1)} after`;
    log(`create scenarios: ${httpLoad}`);

    const ours = await storm(`${url}/v1/agents/storm/runs`, auth, `storm-${tag}`);
    const oursRuns = Number((await sql<{ n: string }>(DATABASE_URL, `SELECT count(*) AS n FROM runs WHERE agent_id = 'storm'`))[0].n);
    const theirs = await storm(`${url}/bench/peer/storm-peer`, auth, `storm-peer-${tag}`);
    const theirRuns = Number((await sql<{ n: string }>(DATABASE_URL, `SELECT count(*) AS n FROM runs WHERE agent_id = 'storm-peer'`))[0].n);
    log(`storm: ours ${fmtHist(ours)} (${oursRuns} run), peer ${fmtHist(theirs)} (${theirRuns} run)`);
    await server.stop();
    procs.pop();
    // drop the queued jobs of the HTTP scenarios (no worker ran them)
    await deleteKeys(redis, `${bullmqPrefix(prefix)}:*`);
    await sql(DATABASE_URL, 'TRUNCATE runs CASCADE');

    // ---- end to end, side by side: ours (API + 2 workers) and DBOS Transact (enqueuer + 2 workers) -----
    const port2 = port + 1;
    // Both sides with their default pool sizes (ours: DB_POOL_SIZE 10; DBOS: 10), so the six processes stay
    // well within PostgreSQL's max_connections (100) on a machine that runs other things too.
    const e2eBase = { ...base, DB_POOL_SIZE: '10' };
    const api = start('dist/bench/server.js', { ...e2eBase, PORT: String(port2), WORKER_ENABLED: 'false' }, '"ready":true');
    procs.push(api);
    const key2 = `Bearer ${(JSON.parse(await api.line) as { apiKey: string }).apiKey}`;
    const workerEnv = { ...e2eBase, WORKER_CONCURRENCY: '25', LOG_LEVEL: 'info' };
    const workers = [start('dist/src/worker.js', workerEnv, 'worker started'), start('dist/src/worker.js', workerEnv, 'worker started')];
    procs.push(...workers);
    await Promise.all(workers.map((w) => w.line));
    const oursSide: SideRunner = {
      name: 'ours',
      round: (round, runs = E2E_RUNS) => {
        const agent = `e2e-${round}`;
        const count = async () =>
          (
            await sql<{ created: string; active: string; succeeded: string }>(
              DATABASE_URL,
              `SELECT count(*) AS created, count(*) FILTER (WHERE status IN ('queued','running','retry')) AS active,
                 count(*) FILTER (WHERE status = 'succeeded') AS succeeded FROM runs WHERE agent_id = $1`,
              [agent],
            )
          )[0];
        return e2eRound({
          url: `http://127.0.0.1:${port2}/v1/agents/${agent}/runs`,
          headers: { authorization: key2 },
          body: threeSteps,
          runs,
          connections: CONNECTIONS,
          active: async () => Number((await count()).active),
          finished: async () => {
            const c = await count();
            return { created: Number(c.created), succeeded: Number(c.succeeded) };
          },
        });
      },
      rss: () => rssOf(api, workers),
      stop: async () => undefined,
    };
    dbosSide = await startDbos(DATABASE_URL, port + 2, E2E_RUNS, CONNECTIONS);
    const sides = [oursSide, dbosSide];
    // A warm-up round per side, not counted (JIT, pools, sandbox processes, DBOS's queue poller).
    for (const side of sides) {
      const r = await side.round(-1, Math.max(50, Math.floor(E2E_RUNS / 10)));
      log(`e2e ${side.name} warm-up: ${r.succeeded} succeeded in ${r.seconds.toFixed(1)} s`);
    }
    const e2eRounds = new Map<SideRunner, E2ERound[]>(sides.map((s) => [s, []]));
    for (let round = 0; round < E2E_ROUNDS; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const r = await side.round(round);
        e2eRounds.get(side)!.push(r);
        log(
          `e2e ${side.name} round ${round + 1}: ${r.succeeded} succeeded in ${r.seconds.toFixed(1)} s = ${r.rate.toFixed(0)}/s (submitted in ${r.submitSeconds.toFixed(1)} s: ${r.accepted} 2xx, ${r.non2xx} non-2xx, ${r.errors} errors; ${r.notSucceeded} not succeeded)`,
        );
      }
    }
    const e2e: Side[] = sides.map((s) => ({ name: s.name, rounds: e2eRounds.get(s)!, rss: s.rss() }));
    await dbosSide.stop();
    dbosSide = null;
    for (const side of e2e) log(`e2e ${side.name}: peak RSS ${JSON.stringify(side.rss)}`);
    const [oursE2E, dbosE2E] = e2e;
    const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const e2eClean = (s: Side) =>
      s.rounds.every((r) => r.accepted === E2E_RUNS && r.non2xx === 0 && r.errors === 0 && r.notSucceeded === 0);
    const e2eRate = (s: Side) => medianOf(s.rounds.map((r) => r.rate));
    const e2eRatio =
      e2eClean(oursE2E) && e2eClean(dbosE2E)
        ? `**${(e2eRate(oursE2E) / e2eRate(dbosE2E)).toFixed(2)}**`
        : 'invalid (some requests were not accepted or some runs did not succeed)';

    // ---- replay through the API and the workers: a REPLAY_STEPS-step trace ----------------------------
    const big = JSON.stringify({
      input: { n: 1 },
      steps: Array.from({ length: REPLAY_STEPS }, (_, i) => ({
        name: `s${i}`,
        skill: 'transform',
        params: { expression: `input.n + ${i}` },
      })),
    });
    const api2 = `http://127.0.0.1:${port2}`;
    /** POST, then poll GET /v1/runs/{id} until finished: the time a client waits, queueing and pickup included. */
    const timed = async (
      path: string,
      body: string,
      expect: { verdict: string | null },
    ): Promise<{ ms: number; problem: string | null }> => {
      const started = performance.now();
      const posted = await fetch(`${api2}${path}`, {
        method: 'POST',
        headers: { authorization: key2, 'content-type': 'application/json' },
        body,
      });
      const created = (await posted.json()) as { id?: string };
      if (posted.status !== 202 || !created.id) return { ms: NaN, problem: `POST ${path} answered ${posted.status}` };
      for (;;) {
        const got = await fetch(`${api2}/v1/runs/${created.id}`, { headers: { authorization: key2 } });
        const run = (await got.json()) as { status: string; replay: { verdict: string } | null };
        if (['succeeded', 'failed', 'cancelled'].includes(run.status)) {
          const ms = performance.now() - started;
          if (run.status !== 'succeeded') return { ms, problem: `run ${created.id} ended ${run.status}` };
          if ((run.replay?.verdict ?? null) !== expect.verdict) return { ms, problem: `verdict ${run.replay?.verdict ?? 'none'}` };
          return { ms, problem: null };
        }
        if (performance.now() - started > 600_000) return { ms: NaN, problem: 'did not finish within 10 minutes' };
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const originalPost = await fetch(`${api2}/v1/agents/replay/runs`, {
      method: 'POST',
      headers: { authorization: key2, 'content-type': 'application/json' },
      body: big,
    });
    const originalId = ((await originalPost.json()) as { id: string }).id;
    await waitUntil(async () => {
      const run = (await (await fetch(`${api2}/v1/runs/${originalId}`, { headers: { authorization: key2 } })).json()) as { status: string };
      return ['succeeded', 'failed', 'cancelled'].includes(run.status);
    }, 600_000);
    // Each kind ROUNDS times (execute, skip, check in turn); the median time of each is reported.
    const replayRounds: Record<'execute' | 'skip' | 'check', Array<{ ms: number; problem: string | null }>> = {
      execute: [],
      skip: [],
      check: [],
    };
    for (let round = 0; round < ROUNDS; round++) {
      replayRounds.execute.push(await timed('/v1/agents/replay/runs', big, { verdict: null }));
      replayRounds.skip.push(
        await timed(`/v1/runs/${originalId}/replay`, JSON.stringify({ default_behavior: 'skip' }), { verdict: 'match' }),
      );
      replayRounds.check.push(
        await timed(`/v1/runs/${originalId}/replay`, JSON.stringify({ default_behavior: 'check' }), { verdict: 'match' }),
      );
    }
    /** The median round (by time; a round with a problem counts as the slowest), with every round's time. */
    const medianRound = (rounds: Array<{ ms: number; problem: string | null }>) => {
      const sorted = [...rounds].sort((a, b) => (a.problem ? Infinity : a.ms) - (b.problem ? Infinity : b.ms));
      return { ...sorted[Math.floor(sorted.length / 2)], problem: rounds.find((r) => r.problem)?.problem ?? null, all: rounds };
    };
    const replays = {
      execute: medianRound(replayRounds.execute),
      skip: medianRound(replayRounds.skip),
      check: medianRound(replayRounds.check),
    };
    log(
      `replay via API (${REPLAY_STEPS} steps, POST to finished): ${Object.entries(replays)
        .map(([k, r]) => `${k} ${r.all.map((x) => `${x.ms.toFixed(0)} ms${x.problem ? ` (${x.problem})` : ''}`).join(' / ')}`)
        .join(', ')}`,
    );

    // ---- fair share: tenant A keeps FAIR_FLOOD runs queued, tenant B's 1-step runs through the API ----
    const fair = await fairShare({
      databaseUrl: DATABASE_URL,
      redisUrl: REDIS_URL,
      redisPrefix: prefix,
      apiUrl: api2,
      auth: key2,
      flood: FAIR_FLOOD,
      probes: FAIR_PROBES,
      intervalMs: 200,
      log,
    });
    for (const p of procs.splice(0)) await p.stop();

    // ---- in-process: replay engine and hashing ----------------------------------------------------
    const engine = await replayEngineRates();
    log(`replay engine: skip ${engine.skip.toFixed(0)} steps/s, check ${engine.check.toFixed(0)} steps/s`);
    const hash = hashing();
    log(`hashing ${hash.bytes} B: canonical ${hash.canonical.toFixed(1)} MB/s, JSON.stringify ${hash.plain.toFixed(1)} MB/s`);

    // ---- report -----------------------------------------------------------------------------------
    const us = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(0));
    const row = (name: string, m: Measured & { all?: number[] }) =>
      `| ${name} | ${m.rps.toFixed(0)} | ${m.all ? m.all.map((x) => x.toFixed(0)).join(', ') : '-'} | ${m.p50} | ${m.p99} | ${us(m.apiCpuUs)} | ${us(m.pgCpuUs)} | ${m.non2xx} | ${m.errors} | ${m.codes} |`;
    const stepsPerSecond = (r: { ms: number; problem: string | null; all: Array<{ ms: number }> }) =>
      r.problem
        ? `invalid (${r.problem})`
        : `**${(REPLAY_STEPS / (r.ms / 1000)).toFixed(0)}** | ${r.all.map((x) => (REPLAY_STEPS / (x.ms / 1000)).toFixed(0)).join(', ')} | ${r.all.map((x) => (x.ms / 1000).toFixed(2)).join(', ')}`;
    const target = (r: { ms: number; problem: string | null }, name: string) =>
      r.problem
        ? `not comparable (the ${name} replay did not succeed with verdict match)`
        : `${(REPLAY_STEPS / (r.ms / 1000)).toFixed(0)} steps/s through the API`;
    const md = `# Benchmarks

Latest run of \`npm run bench\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC). Everything on one machine over loopback:
${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version},
PostgreSQL ${pgVersion?.server_version}, Redis ${redisVersion}. Load: autocannon, ${CONNECTIONS} connections, ${DURATION} s per
scenario after a 2 s warm-up; (a), (b), (c), (d) interleaved over ${ROUNDS} rounds in rotating order, medians reported (${httpLoad}).
The API process is \`dist/bench/server.js\` (the real AppModule plus benchmark-only endpoints), worker off, as in
production for the create scenarios: request logging on (one pino JSON line per request, to a pipe this process reads)
and the rate limit on (counted in Redis on every request; the limit raised to 1,000,000/s so the one tenant is never refused).

Only 2xx answers count: req/s is 2xx answers per second and latencies are those of 2xx answers. Any non-2xx
answer or connection error is listed, and a ratio over a scenario that had one reads *invalid*.

## HTTP: creating a run

| scenario | 2xx/s (median) | 2xx/s per round | p50 ms | p99 ms | API CPU µs/answer | PostgreSQL CPU µs/answer | non-2xx | errors | status codes per round |
| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${row('(a) bare endpoint, no auth, no I/O', bare)}
${row('(b) plain create: POST /v1/agents/{id}/runs without a key (one INSERT + enqueue)', plain)}
${row('(c) **our idempotent create** (POST /v1/agents/{id}/runs, new key each request)', idem)}
${row('(d) the plain create guarded by @node-idempotency/nestjs (Redis storage)', peer)}

- c / a = ${ratioOf(idem, '(c)', bare, '(a)')} (target >= 0.45)
- c / b = ${ratioOf(idem, '(c)', plain, '(b)')} (target >= 0.95)
- c / d = ${ratioOf(idem, '(c)', peer, '(d)')} (target >= 1.15)

(b), (c) and (d) run the same code: authenticate the API key (in-process cache: no round trip once cached), count the request
in the tenant's rate limit (Redis), validate the body (DTO, skills, \`$ref\`s, JSONata), insert one run and enqueue its
BullMQ job (job id = run id). They differ only in how idempotency is decided: (b) not at all, (c) one
\`INSERT ... ON CONFLICT\` statement that claims the key and inserts the run together (plus the SHA-256 of the
canonical body), (d) the peer's Redis round trips before and after the handler.

The CPU columns are medians over the rounds of the CPU time (user + system, from \`/proc\`) the API process and the
PostgreSQL backends of the bench database spent per answer: unlike req/s, they barely move with other load on the
machine, so they show what a change costs or saves even when the throughput figures are noisy.

## Reading these numbers

Everything (PostgreSQL, Redis, the API, the workers and autocannon) shares ${cpus().length} cores, so the numbers move
by 10-30 % from round to round (see the per-round column), and the ratios move between runs too.

## Duplicate storm: 200 concurrent requests, one key

| implementation | status histogram | runs created |
| --- | --- | ---: |
| ours | ${fmtHist(ours)} | ${oursRuns} |
| @node-idempotency/nestjs | ${fmtHist(theirs)} | ${theirRuns} |

## End to end, side by side: 3-step runs (ours) and 3-step durable workflows (DBOS Transact ${dbosVersion})

${E2E_RUNS} runs per round, ${E2E_ROUNDS} rounds alternating which side goes first, after one warm-up round per side
(${Math.max(50, Math.floor(E2E_RUNS / 10))} runs, not counted); each round POSTs its runs with autocannon
(${CONNECTIONS} connections, one run or workflow per request) and then polls PostgreSQL every 50 ms until none of them is
queued or running. Time = first POST to that moment; runs/s = succeeded / time.

- **ours**: \`dist/bench/server.js\` (the real API: API key, validation, one INSERT, BullMQ add; no idempotency key) and
  2 worker processes (\`dist/src/worker.js\`, WORKER_CONCURRENCY=25 each; DB_POOL_SIZE and TRANSFORM_POOL_SIZE default); the plan is three
  \`transform\` steps (\`input.n + 1\`, \`steps[0].output * 2\`, \`{ "total": steps[1].output }\`), each evaluated by JSONata
  in a sandbox process and recorded in the trace (fenced by the attempt).
- **DBOS Transact**: \`dist/bench/dbos.js api\` (node:http; each POST is \`DBOSClient.enqueue\` onto the queue \`bench\` with an
  explicit workflow id, a new UUID) and 2 DBOS worker processes (\`dist/bench/dbos.js worker\`: \`DBOS.launch()\`, default
  settings, the queue registered with no limits and the default polling interval); the durable workflow runs three
  \`DBOS.runStep\` steps computing the same three values as plain functions (no JSONata, no sandbox). Its system database
  (schema \`dbos\`) is in the same PostgreSQL database.

| system | runs/s (median) | runs/s per round | time per round (s) | accepted | non-2xx | errors | not succeeded | peak RSS MB: API | peak RSS MB: workers (sandboxes) |
| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |
${e2e.map((s) => `| ${s.name} | **${e2eRate(s).toFixed(0)}** | ${s.rounds.map((r) => r.rate.toFixed(0)).join(', ')} | ${s.rounds.map((r) => r.seconds.toFixed(1)).join(', ')} | ${s.rounds.reduce((a, r) => a + r.accepted, 0)} | ${s.rounds.reduce((a, r) => a + r.non2xx, 0)} | ${s.rounds.reduce((a, r) => a + r.errors, 0)} | ${s.rounds.reduce((a, r) => a + r.notSucceeded, 0)} | ${s.rss.api.toFixed(0)} | ${s.rss.workers.map((w, i) => `${w.toFixed(0)}${s.rss.children[i].length ? ` (${s.rss.children[i].map((c) => c.toFixed(0)).join(' + ')})` : ''}`).join(', ')} |`).join('\n')}

ours / DBOS = ${e2eRatio} (target >= 1.5).

## Replay of a ${REPLAY_STEPS}-step trace through the API and a worker

Timed from the POST to the moment \`GET /v1/runs/{id}\` shows the run finished (queueing, pickup and every step
recorded in PostgreSQL included); a run counts only if it succeeded (and, for replays, with verdict \`match\`).

| run (${ROUNDS} rounds) | steps/s (median) | steps/s per round | time per round (s) |
| --- | ---: | --- | --- |
| new run, every step executed | ${stepsPerSecond(replays.execute)} |
| replay, \`skip\` | ${stepsPerSecond(replays.skip)} |
| replay, \`check\` | ${stepsPerSecond(replays.check)} |

Targets, through the API: skip >= 10,000 steps/s: ${target(replays.skip, 'skip')}; check >= 2,000 steps/s: ${target(replays.check, 'check')}.
The steps are ${REPLAY_STEPS} \`transform\`s (\`input.n + i\`); consecutive pure transforms are evaluated as chains of up to 100
in one sandbox call, and their trace rows are written in batches (see README, How idempotency works).

## Fair share: tenant A keeps ${fair.flood} runs queued, tenant B submits ${fair.probes} 1-step runs

Same API and 2 worker processes as above. A's runs (1-step transforms) are written to PostgreSQL and enqueued through the
product's queue adapter, and refilled to ${fair.flood} + 10 % every 200 ms so A's backlog stays above ${fair.flood}; B submits one 1-step
transform run every 200 ms through the API, each timed from the moment its POST is sent to its \`finished_at\` (written by the
worker that finished it; same clock), read from PostgreSQL every 50 ms (polling the API for every run in flight would load
the machine being measured).

| A queued (at B's first run / least while measuring) | B runs succeeded | B p50 ms | **B p99 ms** | B max ms | A's runs/s meanwhile | FIFO estimate: A's backlog / A's runs/s |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${fair.queuedAtStart} / ${fair.minQueued} | ${fair.succeeded} of ${fair.probes}${fair.problems.length ? ` (${fair.problems.join(', ')})` : ''} | ${fair.p50.toFixed(0)} | **${fair.p99.toFixed(0)}** | ${fair.max.toFixed(0)} | ${fair.floodRunsPerSecond.toFixed(0)} | ${(fair.flood / fair.floodRunsPerSecond).toFixed(0)} s |

Target: B's p99 <= 2,000 ms while A has ${fair.flood} queued: ${
      fair.succeeded === fair.probes && fair.minQueued >= fair.flood
        ? fair.p99 <= 2000
          ? '**met**'
          : '**missed**'
        : `**not comparable** (a B run did not succeed, or A's backlog fell below ${fair.flood})`
    }. The p99 is the nearest-rank percentile (of ${fair.probes} runs: the slowest). A FIFO queue would have put each of B's runs
behind A's whole backlog (the last column, an estimate from A's measured rate).

## In-process microbenchmarks (engine only; not the product path, no product target applies)

| microbenchmark | skip, steps/s | check, steps/s |
| --- | ---: | ---: |
| \`ReplayEnforcer.enforceTrace\` over 1,000 recorded steps, memory store, an executor that answers at once, no database, no queue (production runs never call \`enforceTrace\`) | ${engine.skip.toFixed(0)} | ${engine.check.toFixed(0)} |

Canonical hashing of a ${hash.bytes} B object:

| method | MB/s |
| --- | ---: |
| RFC 8785 canonical JSON (\`safe-stable-stringify\`, strict) + lone-surrogate check + SHA-256 (\`hashOutput\`) | ${hash.canonical.toFixed(1)} |
| JSON.stringify + SHA-256 | ${hash.plain.toFixed(1)} |

Canonical / plain = ${(hash.canonical / hash.plain).toFixed(2)} (the hashing function's own target: >= 0.5).
`;
    writeFileSync(OUT, md);
    process.stdout.write(md);
  } finally {
    for (const p of procs) await p.stop();
    await dbosSide?.stop();
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
    await sql(BASE_DB, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((error: unknown) =>
      log(`could not drop ${dbName}: ${String(error)}`),
    );
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
