/**
 * `npm run -s build && node dist/bench/profile.js <e2e|skip|check|execute> [runs]`: CPU profiles of the worker path.
 * Starts the bench API and worker processes under `node --cpu-prof` (profiles in /tmp/agentruns-prof-<tag>/),
 * applies one load, stops the processes (SIGTERM, so each writes its profile) and prints a summary of
 * each profile within the measured window (the load's start to its end): idle, GC and busy time, self time by
 * package and the top functions.
 * - e2e: `runs` 3-step transform runs (default 1000) through the API and 2 workers;
 * - skip / check / execute: a 1,000-step transform run, then its replay (or a new run) through 1 worker.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { type CpuProfile, summarizeProfile } from './profile-summary.js';
import { type Proc, sql, start, waitUntil } from './support.js';

const mode = process.argv[2] ?? 'e2e';
const RUNS = Number(process.argv[3] ?? 1000);
const BASE_DB = process.env.BENCH_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const tag = randomBytes(4).toString('hex');
const dir = `/tmp/agentruns-prof-${tag}`;
mkdirSync(dir, { recursive: true });

async function main(): Promise<void> {
  const dbName = `test_prof_${tag}`;
  await sql(BASE_DB, `CREATE DATABASE ${dbName}`);
  const u = new URL(BASE_DB);
  u.pathname = `/${dbName}`;
  const DATABASE_URL = u.toString();
  const port = 3900 + Math.floor(Math.random() * 90);
  const base = {
    DATABASE_URL,
    REDIS_URL,
    REDIS_PREFIX: `prof-${tag}`,
    RATE_LIMIT_PER_SECOND: '0',
    LOG_REQUESTS: 'false',
    LOG_LEVEL: 'warn',
    MAX_STEPS: '1000',
    DB_POOL_SIZE: '20',
    NODE_ENV: 'production',
  };
  const procs: Proc[] = [];
  const window: [number, number] = [0, Number.MAX_SAFE_INTEGER];
  const prof = (name: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}/${name}`];
  try {
    const api = start('dist/bench/server.js', { ...base, PORT: String(port), WORKER_ENABLED: 'false' }, '"ready":true', [], prof('api'));
    procs.push(api);
    const key = `Bearer ${(JSON.parse(await api.line) as { apiKey: string }).apiKey}`;
    const workerEnv = { ...base, WORKER_CONCURRENCY: '25', LOG_LEVEL: 'info' };
    const n = mode === 'e2e' ? 2 : 1;
    const workers = Array.from({ length: n }, (_, i) => start('dist/src/worker.js', workerEnv, 'worker started', [], prof(`worker${i}`)));
    procs.push(...workers);
    await Promise.all(workers.map((w) => w.line));
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { authorization: key, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await r.json()) as { id: string };
    };
    const finished = async (id: string) => {
      const rows = await sql<{ status: string }>(DATABASE_URL, 'SELECT status FROM runs WHERE id = $1', [id]);
      return ['succeeded', 'failed', 'cancelled'].includes(rows[0]?.status);
    };
    const started = Date.now();
    const now = () => Number(process.hrtime.bigint() / 1000n);
    if (mode === 'e2e') {
      window[0] = now();
      const plan = {
        input: { n: 3 },
        steps: [
          { name: 'a', skill: 'transform', params: { expression: 'input.n + 1' } },
          { name: 'b', skill: 'transform', params: { expression: 'steps[0].output * 2' } },
          { name: 'c', skill: 'transform', params: { expression: '{ "total": steps[1].output }' } },
        ],
      };
      for (let i = 0; i < RUNS; i += 50)
        await Promise.all(Array.from({ length: Math.min(50, RUNS - i) }, () => post('/v1/agents/e2e/runs', plan)));
      await waitUntil(
        async () =>
          Number(
            (await sql<{ n: string }>(DATABASE_URL, `SELECT count(*) AS n FROM runs WHERE status IN ('queued','running','retry')`))[0].n,
          ) === 0,
        600_000,
      );
      window[1] = now();
      process.stdout.write(`e2e: ${RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } else {
      const plan = {
        input: { n: 1 },
        steps: Array.from({ length: 1000 }, (_, i) => ({ name: `s${i}`, skill: 'transform', params: { expression: `input.n + ${i}` } })),
      };
      const original = await post('/v1/agents/replay/runs', plan);
      await waitUntil(() => finished(original.id), 600_000);
      const t0 = Date.now();
      window[0] = now();
      const posting = Date.now();
      const run =
        mode === 'execute'
          ? await post('/v1/agents/replay/runs', plan)
          : await post(`/v1/runs/${original.id}/replay`, { default_behavior: mode });
      const posted = Date.now() - posting;
      await waitUntil(() => finished(run.id), 600_000);
      window[1] = now();
      const [t] = await sql<Record<string, string>>(
        DATABASE_URL,
        `SELECT r.created_at, r.started_at, min(s.started_at) AS first_step, max(s.finished_at) AS last_step, r.finished_at
         FROM runs r JOIN run_steps s ON s.run_id = r.id WHERE r.id = $1 GROUP BY r.id`,
        [run.id],
      );
      const ms = (a: string, b: string) => new Date(t[b]).getTime() - new Date(t[a]).getTime();
      process.stdout.write(
        `timeline (ms): POST answered in ${posted}; created -> taken ${ms('created_at', 'started_at')}, -> first step ${ms('started_at', 'first_step')}, steps ${ms('first_step', 'last_step')}, -> finished ${ms('last_step', 'finished_at')}; POST to finished seen ${Date.now() - t0}\n`,
      );
      process.stdout.write(
        `${mode}: 1000 steps in ${((Date.now() - t0) / 1000).toFixed(2)} s (original run: ${((t0 - started) / 1000).toFixed(2)} s)\n`,
      );
    }
  } finally {
    for (const p of procs.reverse()) await p.stop();
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `prof-${tag}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await sql(BASE_DB, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
  for (const name of readdirSync(dir)) {
    for (const file of readdirSync(`${dir}/${name}`)) {
      process.stdout.write(
        `\n== ${name} (${dir}/${name}/${file})\n${summarizeProfile(JSON.parse(readFileSync(`${dir}/${name}/${file}`, 'utf8')) as CpuProfile, window)}\n`,
      );
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
