/**
 * `npm run bench:profile`: a CPU profile of the API process under one create scenario of the bench.
 *
 * Starts `dist/bench/server.js` under `node --cpu-prof` with the bench's create settings (request logging
 * and the rate limit on), drives it with autocannon (2 s warm-up, then PROFILE_DURATION s), stops it
 * and summarises the samples taken during the measured window only (boot and warm-up left out): the
 * idle, GC and program shares, the top self-time functions and the self time per package.
 *
 * Knobs: PROFILE_SCENARIO (idem | plain | peer | bare, default idem), PROFILE_DURATION (s, default 10),
 * BENCH_CONNECTIONS (default 50), PROFILE_TOP (default 25), PROFILE_DIR (where the .cpuprofile is kept,
 * default a temporary directory), BENCH_DATABASE_URL / BENCH_REDIS_URL.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';

const BASE_DB = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SCENARIO = process.env.PROFILE_SCENARIO ?? 'idem';
const DURATION = Number(process.env.PROFILE_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const DIR = process.env.PROFILE_DIR ?? mkdtempSync(join(tmpdir(), 'api-profile-'));

const tag = randomBytes(4).toString('hex');
const dbName = `test_profile_${tag}`;
const prefix = `profile-${tag}`;
const log = (m: string) => process.stderr.write(`[profile] ${m}\n`);

/** The same body as the bench's create scenarios. */
const createBody = JSON.stringify({
  input: { order: 42, customer: 'c-1' },
  steps: [{ name: 'double', skill: 'transform', params: { expression: 'input.order * 2' } }],
  metadata: { source: 'bench' },
});

async function sql(url: string, text: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, params);
  } finally {
    await client.end();
  }
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<pkg>` (scoped too), `node:` internals, the app's own code, or V8/native. */
function packageOf(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.includes('/dist/src/')) return 'app (dist/src)';
  if (url.includes('/dist/bench/')) return 'bench server (dist/bench)';
  return url;
}

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/');

/** Self time per function and per package over the samples taken in [fromUs, toUs] (monotonic clock, µs). */
function summarise(profile: CpuProfile, fromUs: number, toUs: number, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfByFn = new Map<string, number>();
  const selfByPkg = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    // a sample stands for the time until the next one
    const dt = i + 1 < profile.timeDeltas.length ? profile.timeDeltas[i + 1] : 0;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = url ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}` : functionName || '(anonymous)';
    selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + dt);
    const special = ['(idle)', '(garbage collector)', '(program)'].includes(functionName);
    const pkg = special ? functionName : packageOf(url);
    selfByPkg.set(pkg, (selfByPkg.get(pkg) ?? 0) + dt);
  }
  const idle = selfByPkg.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(1)} %`;
  const sorted = (m: Map<string, number>) => [...m.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
  const lines = [
    `window ${(total / 1e6).toFixed(1)} s: idle ${pct(idle, total)}, busy ${pct(busy, total)}` +
      ` (of busy: GC ${pct(selfByPkg.get('(garbage collector)') ?? 0, busy)}, program ${pct(selfByPkg.get('(program)') ?? 0, busy)})`,
    '',
    '| self time, by package | % of busy |',
    '| --- | ---: |',
    ...sorted(selfByPkg)
      .slice(0, 15)
      .map(([k, v]) => `| ${k} | ${pct(v, busy)} |`),
    '',
    `| top ${top} functions by self time | % of busy |`,
    '| --- | ---: |',
    ...sorted(selfByFn)
      .slice(0, top)
      .map(([k, v]) => `| \`${k}\` | ${pct(v, busy)} |`),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  await sql(BASE_DB, `CREATE DATABASE ${dbName}`);
  const u = new URL(BASE_DB);
  u.pathname = `/${dbName}`;
  const port = 3900 + Math.floor(Math.random() * 90);
  const env = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: u.toString(),
    REDIS_URL,
    REDIS_PREFIX: prefix,
    MAX_STEPS: '1000',
    DB_POOL_SIZE: '20',
    NODE_ENV: 'production',
    // as the bench's create scenarios (bench/run.ts HTTP_ENV)
    LOG_REQUESTS: 'true',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_SECOND: '1000000',
    PORT: String(port),
    WORKER_ENABLED: 'false',
  };
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${DIR}`, resolve('dist/bench/server.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const redis = new Redis(REDIS_URL);
  try {
    let out = '';
    let ready = false;
    const line = await new Promise<string>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => {
        if (ready) return; // request log lines: read and dropped, as the bench does
        out += d.toString();
        const found = out.split('\n').find((l) => l.includes('"ready":true'));
        if (found) {
          ready = true;
          res(found);
        }
      });
      child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
      child.once('exit', (code) => rej(new Error(`server exited ${code}:\n${out}`)));
    });
    const { apiKey } = JSON.parse(line) as { apiKey: string };
    const url = `http://127.0.0.1:${port}`;
    const keyed = SCENARIO !== 'plain';
    const options: autocannon.Options =
      SCENARIO === 'bare'
        ? { url: `${url}/bench/bare` }
        : {
            url: `${url}${SCENARIO === 'peer' ? '/bench/peer/bench-agent' : '/v1/agents/bench-agent/runs'}`,
            requests: [
              {
                method: 'POST',
                headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
                body: createBody,
                ...(keyed
                  ? {
                      setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }),
                    }
                  : {}),
              },
            ],
          };
    await autocannon({ ...options, duration: 2, connections: CONNECTIONS });
    const load = loadavg()[0];
    const from = Number(process.hrtime.bigint() / 1000n);
    const r = await autocannon({ ...options, duration: DURATION, connections: CONNECTIONS });
    const to = Number(process.hrtime.bigint() / 1000n);
    log(`${SCENARIO}: ${(r['2xx'] / r.duration).toFixed(0)} 2xx/s under the profiler, non-2xx ${r.non2xx}, errors ${r.errors}`);
    child.kill('SIGTERM');
    await exited;
    const file = readdirSync(DIR).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile in ${DIR}`);
    const profile = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as CpuProfile;
    process.stdout.write(
      `# CPU profile of the API: ${SCENARIO}, ${CONNECTIONS} connections, ${DURATION} s\n\n` +
        `${(r['2xx'] / r.duration).toFixed(0)} 2xx/s under the profiler (non-2xx ${r.non2xx}, errors ${r.errors}); ` +
        `load average (1 min) ${load.toFixed(1)} at the start; profile: ${join(DIR, file)}\n\n` +
        `${summarise(profile, from, to, TOP)}\n`,
    );
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
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
