/**
 * `npm run bench`: one run, side by side, on loopback against the machine's PostgreSQL and Redis.
 * Writes the markdown table to stdout and to BENCHMARKS.md (BENCH_OUT to change the file).
 *
 * Knobs: BENCH_DURATION (s per HTTP scenario, default 10), BENCH_CONNECTIONS (default 50),
 * BENCH_E2E_RUNS (default 2000), BENCH_ROUNDS (default 3), BENCH_REPLAY_STEPS (default 1000),
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
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
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
const REPLAY_STEPS = Number(process.env.BENCH_REPLAY_STEPS ?? 1000);
const FAIR_FLOOD = Number(process.env.BENCH_FAIR_FLOOD ?? 10_000);
const FAIR_PROBES = Number(process.env.BENCH_FAIR_PROBES ?? 50);

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

async function sql<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

function dbUrl(name: string): string {
  const u = new URL(BASE_DB);
  u.pathname = `/${name}`;
  return u.toString();
}

interface Proc {
  child: ChildProcess;
  line: Promise<string>;
  stop(): Promise<void>;
}

function start(script: string, env: Record<string, string>, readyText: string): Proc {
  const child = spawn(process.execPath, [resolve(script)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const line = new Promise<string>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const found = out.split('\n').find((l) => l.includes(readyText));
      if (found) res(found);
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => rej(new Error(`${script} exited ${code}:\n${out}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    line,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

interface Measured {
  /** 2xx answers per second. */
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Every status code seen, with its count ("202: 51234"). */
  codes: string;
}

async function cannon(name: string, opts: autocannon.Options): Promise<Measured> {
  // warm-up, then the measured run; latencies of 2xx answers only
  await autocannon({ ...opts, duration: 2, connections: CONNECTIONS, excludeErrorStats: true });
  const r = await autocannon({ ...opts, duration: DURATION, connections: CONNECTIONS, excludeErrorStats: true });
  const codes = Object.entries(r.statusCodeStats ?? {})
    .map(([code, stat]) => `${code}: ${stat.count ?? 0}`)
    .join(', ');
  const m = { rps: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, codes };
  log(`${name}: ${m.rps.toFixed(0)} 2xx/s, p50 ${m.p50} ms, p99 ${m.p99} ms, codes {${codes}}, non-2xx ${m.non2xx}, errors ${m.errors}`);
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
  return {
    rps: mid(runs.map((r) => r.rps)),
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

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

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
  try {
    // ---- HTTP: bare, plain insert, idempotent create, peer -------------------------------------
    const port = 3400 + Math.floor(Math.random() * 500);
    const server = start('dist/bench/server.js', { ...base, PORT: String(port), WORKER_ENABLED: 'false' }, '"ready":true');
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
    const bare = await cannon('bare', { url: `${url}/bench/bare` });
    // (b), (c), (d) interleaved over ROUNDS rounds in rotating order; the median of each is reported,
    // so a drift of the machine during the run (caches, autovacuum, CPU clock) does not favour one.
    const scenarios = {
      plain: () => cannon('plain create (no key)', post('/v1/agents/bench-agent/runs', false)),
      idem: () => cannon('idempotent create', post('/v1/agents/bench-agent/runs', true)),
      peer: () => cannon('@node-idempotency/nestjs', post('/bench/peer/bench-agent', true)),
    };
    const rounds: Record<keyof typeof scenarios, Measured[]> = { plain: [], idem: [], peer: [] };
    const order = Object.keys(scenarios) as Array<keyof typeof scenarios>;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < order.length; i++) {
        const name = order[(i + round) % order.length];
        rounds[name].push(await scenarios[name]());
      }
    }
    const [plain, idem, peer] = [median(rounds.plain), median(rounds.idem), median(rounds.peer)];

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

    // ---- end to end: API + 2 worker processes, 3-step runs --------------------------------------
    const port2 = port + 1;
    const api = start('dist/bench/server.js', { ...base, PORT: String(port2), WORKER_ENABLED: 'false' }, '"ready":true');
    procs.push(api);
    const key2 = `Bearer ${(JSON.parse(await api.line) as { apiKey: string }).apiKey}`;
    const workerEnv = { ...base, WORKER_CONCURRENCY: '25', LOG_LEVEL: 'info' };
    const workers = [start('dist/src/worker.js', workerEnv, 'worker started'), start('dist/src/worker.js', workerEnv, 'worker started')];
    procs.push(...workers);
    await Promise.all(workers.map((w) => w.line));
    const e2eStarted = Date.now();
    const submitted = await autocannon({
      url: `http://127.0.0.1:${port2}/v1/agents/e2e/runs`,
      amount: E2E_RUNS,
      connections: CONNECTIONS,
      requests: [{ method: 'POST', headers: { authorization: key2, 'content-type': 'application/json' }, body: threeSteps }],
    });
    const submitSeconds = (Date.now() - e2eStarted) / 1000;
    const e2eCount = async () =>
      (
        await sql<{ created: string; active: string; succeeded: string }>(
          DATABASE_URL,
          `SELECT count(*) AS created, count(*) FILTER (WHERE status IN ('queued','running','retry')) AS active,
             count(*) FILTER (WHERE status = 'succeeded') AS succeeded FROM runs WHERE agent_id = 'e2e'`,
        )
      )[0];
    await waitUntil(async () => Number((await e2eCount()).active) === 0, 600_000);
    const e2eSeconds = (Date.now() - e2eStarted) / 1000;
    const counted = await e2eCount();
    const e2e = {
      accepted: submitted['2xx'],
      non2xx: submitted.non2xx,
      errors: submitted.errors,
      created: Number(counted.created),
      succeeded: Number(counted.succeeded),
      notSucceeded: Number(counted.created) - Number(counted.succeeded),
    };
    const e2eRate = e2e.succeeded / e2eSeconds;
    const e2eClean = e2e.accepted === E2E_RUNS && e2e.non2xx === 0 && e2e.errors === 0 && e2e.notSucceeded === 0;
    log(
      `e2e: ${e2e.succeeded} succeeded runs in ${e2eSeconds.toFixed(1)} s = ${e2eRate.toFixed(0)} runs/s (submitted in ${submitSeconds.toFixed(1)} s: ${e2e.accepted} 2xx, ${e2e.non2xx} non-2xx, ${e2e.errors} errors; ${e2e.notSucceeded} runs not succeeded)`,
    );

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
    const replays = {
      execute: await timed('/v1/agents/replay/runs', big, { verdict: null }),
      skip: await timed(`/v1/runs/${originalId}/replay`, JSON.stringify({ default_behavior: 'skip' }), { verdict: 'match' }),
      check: await timed(`/v1/runs/${originalId}/replay`, JSON.stringify({ default_behavior: 'check' }), { verdict: 'match' }),
    };
    log(
      `replay via API (${REPLAY_STEPS} steps, POST to finished): ${Object.entries(replays)
        .map(([k, r]) => `${k} ${r.ms.toFixed(0)} ms${r.problem ? ` (${r.problem})` : ''}`)
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
    const row = (name: string, m: Measured & { all?: number[] }) =>
      `| ${name} | ${m.rps.toFixed(0)} | ${m.all ? m.all.map((x) => x.toFixed(0)).join(', ') : '-'} | ${m.p50} | ${m.p99} | ${m.non2xx} | ${m.errors} | ${m.codes} |`;
    const stepsPerSecond = (r: { ms: number; problem: string | null }) =>
      r.problem ? `invalid (${r.problem})` : `${(REPLAY_STEPS / (r.ms / 1000)).toFixed(0)} (${(r.ms / 1000).toFixed(2)} s)`;
    const skipTarget = replays.skip.problem
      ? 'not comparable (the skip replay did not succeed with verdict match)'
      : `${(REPLAY_STEPS / (replays.skip.ms / 1000)).toFixed(0)} steps/s through the API`;
    const md = `# Benchmarks

Latest run of \`npm run bench\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC). Everything on one machine over loopback:
${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version},
PostgreSQL ${pgVersion?.server_version}, Redis ${redisVersion}. Load: autocannon, ${CONNECTIONS} connections, ${DURATION} s per
scenario after a 2 s warm-up; (b), (c), (d) interleaved over ${ROUNDS} rounds in rotating order, medians reported. The API process is \`dist/bench/server.js\` (the real AppModule plus
benchmark-only endpoints), with request logging and the rate limit off, worker off.

Only 2xx answers count: req/s is 2xx answers per second and latencies are those of 2xx answers. Any non-2xx
answer or connection error is listed, and a ratio over a scenario that had one reads *invalid*.

## HTTP: creating a run

| scenario | 2xx/s (median) | 2xx/s per round | p50 ms | p99 ms | non-2xx | errors | status codes per round |
| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |
${row('(a) bare endpoint, no auth, no I/O', bare)}
${row('(b) plain create: POST /v1/agents/{id}/runs without a key (one INSERT + enqueue)', plain)}
${row('(c) **our idempotent create** (POST /v1/agents/{id}/runs, new key each request)', idem)}
${row('(d) the plain create guarded by @node-idempotency/nestjs (Redis storage)', peer)}

- c / b = ${ratioOf(idem, '(c)', plain, '(b)')} (target >= 0.90)
- c / d = ${ratioOf(idem, '(c)', peer, '(d)')} (target >= 1.15)

(b), (c) and (d) run the same code: authenticate the API key (one SELECT), validate the body (DTO, skills, \`$ref\`s,
JSONata), insert one run and enqueue its BullMQ job (job id = run id). They differ only in how idempotency is decided:
(b) not at all, (c) one \`INSERT ... ON CONFLICT\` statement that claims the key and inserts the run together (plus the
SHA-256 of the canonical body), (d) the peer's Redis round trips before and after the handler.

## Reading these numbers

Everything (PostgreSQL, Redis, the API, the workers and autocannon) shares ${cpus().length} cores, so the numbers move
by 10-30 % from round to round (see the per-round column), and the ratios move between runs too.

## Duplicate storm: 200 concurrent requests, one key

| implementation | status histogram | runs created |
| --- | --- | ---: |
| ours | ${fmtHist(ours)} | ${oursRuns} |
| @node-idempotency/nestjs | ${fmtHist(theirs)} | ${theirRuns} |

## Through the queue: 3-step runs, API + 2 worker processes (concurrency 25 each)

| runs requested | accepted (2xx) | non-2xx | errors | submitted in | all finished in | succeeded | not succeeded | succeeded runs/s |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${E2E_RUNS} | ${e2e.accepted} | ${e2e.non2xx} | ${e2e.errors} | ${submitSeconds.toFixed(1)} s | ${e2eSeconds.toFixed(1)} s | ${e2e.succeeded} | ${e2e.notSucceeded} | **${e2eRate.toFixed(0)}** |

Target >= 300 runs/s${e2eClean ? '.' : ': **not comparable** (some requests were not accepted or some runs did not succeed).'}

## Replay of a ${REPLAY_STEPS}-step trace through the API and a worker

Timed from the POST to the moment \`GET /v1/runs/{id}\` shows the run finished (queueing, pickup and every step
recorded in PostgreSQL included); a run counts only if it succeeded (and, for replays, with verdict \`match\`).

| run | steps/s (time) |
| --- | ---: |
| new run, every step executed | ${stepsPerSecond(replays.execute)} |
| replay, \`skip\` | ${stepsPerSecond(replays.skip)} |
| replay, \`check\` | ${stepsPerSecond(replays.check)} |

Target: skip >= 10,000 steps/s, through the API: ${skipTarget}.

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
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
    await sql(BASE_DB, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [dbName]);
    await sql(BASE_DB, `DROP DATABASE IF EXISTS ${dbName}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
