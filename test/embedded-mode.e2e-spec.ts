import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { startEchoServer } from './support/echo-server.js';
import { assertFreshDist } from './support/dist.js';
import { waitFor } from './support/test-app.js';

const ADMIN = 'embedded-admin-token-123456';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

/** `npm start`'s process (dist/src/main.js) with neither DATABASE_URL nor REDIS_URL. */
async function startEmbedded(
  dataDir: string,
  port: number,
  pgPort: number,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<number | null> }> {
  assertFreshDist();
  const child = spawn(process.execPath, [resolve('dist/src/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      ADMIN_TOKEN: ADMIN,
      EMBEDDED_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`exited early:\n${output}`);
      return output.includes('listening on') ? true : undefined;
    },
    90_000,
    200,
  );
  return {
    child,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('embedded mode: `npm start` with nothing configured', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agent-runs-embedded-'));
  chmodSync(dataDir, 0o755); // as root, PostgreSQL runs as the `postgres` user, which must reach the directory
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('boots embedded PostgreSQL + in-process queue, serves an authenticated run, and keeps data (and its secrets key) across a restart', async () => {
    const [port, pgPort] = [await freePort(), await freePort()];
    const echo = await startEchoServer();
    const extraEnv = { SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${echo.port}`, REPLAY_BATCH_CONCURRENCY: '2' };
    const secretStep = {
      name: 'call',
      skill: 'http.request',
      params: { url: `${echo.url}/echo`, headers: { 'x-key': { $secret: 'api' } } },
    };
    const first = await startEmbedded(dataDir, port, pgPort, extraEnv);
    const http = request(`http://127.0.0.1:${port}`);
    let runId: string;
    try {
      expect(first.output()).toMatch(/in-memory store \+ in-process queue/);
      expect(first.output()).toMatch(/npm run cli -- tenant:create/);
      // Not a terminal: JSON lines from the first line on, the docs' address among them.
      const lines = first.output().trim().split('\n');
      expect(lines.every((line) => line.startsWith('{"level":'))).toBe(true);
      expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toContain(
        `API docs: http://127.0.0.1:${port}/docs (OpenAPI document: http://127.0.0.1:${port}/openapi.json)`,
      );
      await http.get('/v1/runs').expect(401);
      // the web console is served by the same process (built into dist/console by npm run build)
      const page = await http.get('/console').expect(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toMatch(/src="\/console\/assets\/[^"]+\.js"/);
      const tenant = await http.post('/admin/tenants').set('Authorization', `Bearer ${ADMIN}`).send({ name: 'solo' }).expect(201);
      const auth = `Bearer ${tenant.body.api_key}`;
      const created = await http
        .post('/v1/agents/local/runs')
        .set('Authorization', auth)
        .set('Idempotency-Key', 'emb-1')
        .send({ input: { n: 20 }, steps: [{ name: 'double', skill: 'transform', params: { expression: 'input.n * 2 + 2' } }] })
        .expect(202);
      runId = created.body.id;
      const done = await waitFor(async () => {
        const res = await http.get(`/v1/runs/${runId}`).set('Authorization', auth).expect(200);
        return res.body.status === 'succeeded' ? res.body : undefined;
      });
      expect(done.output).toBe(42);

      // A replay batch in this mode too (the in-process queue): every run of the agent, checked, one report.
      const double = { name: 'double', skill: 'transform', params: { expression: 'input.n * 2 + 2' } };
      for (let n = 0; n < 4; n++)
        await http
          .post('/v1/agents/local/runs')
          .set('Authorization', auth)
          .send({ input: { n }, steps: [double] })
          .expect(202);
      await waitFor(async () => {
        const res = await http.get('/v1/runs?agent_id=local&status=succeeded').set('Authorization', auth).expect(200);
        return res.body.data.length === 5 ? true : undefined;
      });
      const batch = await http
        .post('/v1/replays')
        .set('Authorization', auth)
        .send({ filter: { agent_id: 'local' }, replay: { default_behavior: 'check' } })
        .expect(202);
      const report = await waitFor(async () => {
        const res = await http.get(`/v1/replays/${batch.body.id}`).set('Authorization', auth).expect(200);
        return res.body.status === 'running' ? undefined : res.body;
      });
      expect(report).toMatchObject({
        status: 'completed',
        total: 5,
        counts: { match: 5, mismatch: 0, failed: 0, pending: 0, cancelled: 0 },
      });

      // No SECRETS_KEY: the embedded mode generates one in the data directory, once, mode 0600.
      await http.put('/v1/secrets/api').set('Authorization', auth).send({ value: 'embedded-secret-value' }).expect(204);
      expect(statSync(join(dataDir, 'secrets.key')).mode & 0o777).toBe(0o600);
      expect(first.output()).not.toContain('embedded-secret-value');
      expect(await first.stop()).toBe(0);

      const second = await startEmbedded(dataDir, port, pgPort, extraEnv);
      try {
        const again = await http.get(`/v1/runs/${runId}`).set('Authorization', auth).expect(200);
        expect(again.body).toMatchObject({ id: runId, status: 'succeeded', output: 42 });
        const replayed = await http
          .post('/v1/agents/local/runs')
          .set('Authorization', auth)
          .set('Idempotency-Key', 'emb-1')
          .send({ input: { n: 20 }, steps: [{ name: 'double', skill: 'transform', params: { expression: 'input.n * 2 + 2' } }] })
          .expect(202);
        expect(replayed.headers['idempotent-replayed']).toBe('true');
        expect(replayed.body.id).toBe(runId);
        // The key kept in the data directory still opens the secret stored before the restart.
        const withSecret = await http
          .post('/v1/agents/local/runs')
          .set('Authorization', auth)
          .send({ steps: [secretStep] })
          .expect(202);
        const finished = await waitFor(async () => {
          const res = await http.get(`/v1/runs/${withSecret.body.id}`).set('Authorization', auth).expect(200);
          return ['succeeded', 'failed'].includes(res.body.status) ? res.body : undefined;
        });
        expect(finished.status).toBe('succeeded');
        expect(echo.at('/echo')[0].headers['x-key']).toBe('embedded-secret-value');
        expect(second.output()).not.toContain('embedded-secret-value');
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      if (first.child.exitCode === null) await first.stop();
      await echo.close();
    }
  }, 180_000);
});
