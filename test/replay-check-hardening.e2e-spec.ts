import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { MAX_OUTPUT_DEPTH } from '../src/shared/json-depth.js';
import { HTTP_VOLATILE_PATHS } from '../src/skills/builtin/http-request.skill.js';
import {
  createTenant,
  createTestEnvironment,
  startTestApp,
  startTestWorker,
  type TestApp,
  type TestEnvironment,
  waitFor,
} from './support/test-app.js';

/**
 * Replay checks on real PostgreSQL and Redis (findings of the review of tolerant checks): identical
 * outputs pass under schema and text, runs recorded before hop-by-hop headers were left out still
 * match, a failed replay reports no verdict unless it found a mismatch, volatile paths are those stored
 * with the replay, and an output nested too deep fails once, cleanly.
 */
describe('replay checks: hardening (real PostgreSQL + Redis, loopback upstream)', () => {
  let env: TestEnvironment;
  let t: TestApp;
  let auth: string;
  let db: pg.Client;
  let server: Server;
  let port = 0;
  const hits = new Map<string, number>();
  const deep = (depth: number) => {
    let s = '1';
    for (let i = 0; i < depth; i++) s = `{"a":${s}}`;
    return s;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-request-id', randomUUID());
      if (path.startsWith('/deep/')) return res.end(`{"d":${deep(Number(path.split('/')[2]))}}`);
      if (path === '/list') return res.end(JSON.stringify({ items: [{ id: 1 }, { id: 2, note: 'x' }, null], mixed: [1, 'a'] }));
      if (path === '/counter') return res.end(JSON.stringify({ n }));
      if (path === '/once') {
        if (n > 1) res.statusCode = 500; // retryable: the replay fails once its attempts are used up
        return res.end(JSON.stringify({ ok: n === 1 }));
      }
      res.end('{"value":42}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    env = await createTestEnvironment({ SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${port}`, RUN_RETRY_BACKOFF_MS: '50' });
    t = await startTestApp(env.env);
    auth = (await createTenant(t, 'hardening')).auth;
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await t?.close();
    server?.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await env?.dispose();
  });

  const getRun = async (id: string) => (await t.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
  const finished = (id: string) =>
    waitFor(async () => {
      const run = await getRun(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    }, 60_000);
  const trace = async (id: string) => (await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body.steps;
  const get = (path: string) => ({ name: path, skill: 'http.request', params: { url: `http://127.0.0.1:${port}${path}` } });
  const submit = async (steps: unknown[]) =>
    finished((await t.http.post('/v1/agents/hardening/runs').set('Authorization', auth).send({ steps }).expect(202)).body.id);
  const replay = async (id: string, body: object) =>
    finished((await t.http.post(`/v1/runs/${id}/replay`).set('Authorization', auth).send(body).expect(202)).body.id);

  it('an answer nested deeper than the limit fails its step once, cleanly (not retried, not internal_error)', async () => {
    const path = `/deep/3400`;
    const run = await submit([get(path)]);
    expect(run).toMatchObject({ status: 'failed', attempts: 1, error: { type: 'step_failed', step_index: 0 } });
    expect(run.error.message).toBe(`step output is nested deeper than ${MAX_OUTPUT_DEPTH} levels of arrays and objects`);
    expect(hits.get(path)).toBe(1); // an unkeyed request, sent once (it was sent 3 times as a retryable internal_error)
    const [step] = await trace(run.id);
    expect(step).toMatchObject({ status: 'failed', attempts: 1, output: null });
  });

  it('an answer just within the limit is recorded, and every comparator passes its unchanged replay', async () => {
    const path = `/deep/${MAX_OUTPUT_DEPTH - 3}`; // + the output's object, its body and the body's "d"
    const original = await submit([get(path)]);
    expect(original.status).toBe('succeeded');
    for (const mode of [
      { mode: 'exact' },
      { mode: 'numeric', abs: 1 },
      { mode: 'schema' },
      { mode: 'text', min_similarity: 1, paths: ['/headers/content-type'] },
    ]) {
      const run = await replay(original.id, { default_behavior: 'check', compare: { '*': mode } });
      expect({ mode, status: run.status, verdict: run.replay?.verdict }).toEqual({ mode, status: 'succeeded', verdict: 'match' });
    }
  });

  it('schema and text pass an unchanged output (optional keys in a list, mixed arrays, a non-string output)', async () => {
    const original = await submit([get('/list')]);
    for (const mode of [
      { mode: 'schema' },
      { mode: 'text', min_similarity: 1 },
      { mode: 'text', min_similarity: 0.5, paths: ['/body/items'] },
    ]) {
      const run = await replay(original.id, { default_behavior: 'check', compare: { '*': mode } });
      const [step] = await trace(run.id);
      expect({ mode, status: run.status, comparison: step.comparison, mismatch: step.mismatch }).toEqual({
        mode,
        status: 'succeeded',
        comparison: { mode: mode.mode, passed: true, score: null, reason: null, ignored_paths: ['/headers/date', '/headers/x-request-id'] },
        mismatch: null,
      });
    }
  });

  it('a run recorded with hop-by-hop headers (before they were left out) matches its replay, also strict', async () => {
    const original = await submit([get('/plain')]);
    await db.query(
      `UPDATE run_steps SET output = jsonb_set(jsonb_set(output::jsonb, '{headers,connection}', '"keep-alive"'),
         '{headers,transfer-encoding}', '"chunked"')::json WHERE run_id = $1`,
      [original.id],
    );
    const loose = await replay(original.id, { default_behavior: 'check' });
    expect(loose).toMatchObject({ status: 'succeeded', replay: { verdict: 'match' } });
    const [step] = await trace(loose.id);
    expect(step.comparison.ignored_paths).toEqual([
      '/headers/date',
      '/headers/x-request-id',
      '/headers/connection',
      '/headers/transfer-encoding',
    ]);
    const strict = await replay(original.id, {
      default_behavior: 'check',
      strict: true,
      ignore_paths: ['/headers/date', '/headers/x-request-id'],
    });
    expect(strict).toMatchObject({ status: 'succeeded', replay: { verdict: 'match' } });
    expect((await trace(strict.id))[0].comparison.ignored_paths).toEqual([
      '/headers/date',
      '/headers/x-request-id',
      '/headers/connection',
      '/headers/transfer-encoding',
    ]);
  });

  it('a replay that failed for another reason than a mismatch reports no verdict; one that found a mismatch first reports it', async () => {
    const original = await submit([get('/counter'), get('/once')]);
    expect(original.status).toBe('succeeded');
    // step 1 now answers 500: the replay fails at it (after its retries), after step 0 matched or not
    const failed = await replay(original.id, { default_behavior: 'check', behaviors: { '0': 'skip' } });
    expect(failed).toMatchObject({ status: 'failed', error: { type: 'step_failed', step_index: 1 }, replay: null });
    const mismatched = await replay(original.id, { default_behavior: 'check', on_mismatch: 'continue' });
    expect(mismatched).toMatchObject({
      status: 'failed',
      error: { type: 'step_failed', step_index: 1 },
      replay: { verdict: 'mismatch', summary: { checked: 1, mismatches: 1 }, mismatches: [{ step_index: 0 }] },
    });
  });

  it('compares by the volatile paths stored with the replay when it was created, not by those of a later deploy', async () => {
    const original = await submit([get('/plain')]);
    // No worker for a while: the replays wait in the queue while their stored options are read and changed.
    await t.close();
    t = await startTestApp({ ...env.env, WORKER_ENABLED: 'false' });
    const create = async () =>
      (await t.http.post(`/v1/runs/${original.id}/replay`).set('Authorization', auth).send({ default_behavior: 'check' }).expect(202)).body
        .id as string;
    const stored = await create();
    const options = async (id: string) => (await db.query('SELECT replay_options FROM runs WHERE id = $1', [id])).rows[0].replay_options;
    expect((await options(stored)).volatile_paths).toEqual({ 'http.request': [...HTTP_VOLATILE_PATHS] });
    // as if the replay had been created by a version whose http.request declared no volatile path
    await db.query(
      `UPDATE runs SET replay_options = jsonb_set(replay_options::jsonb, '{volatile_paths,http.request}', '[]')::json WHERE id = $1`,
      [stored],
    );
    // a replay stored before volatile paths were stored with it: the skill's own apply
    const older = await create();
    await db.query(`UPDATE runs SET replay_options = (replay_options::jsonb - 'volatile_paths')::json WHERE id = $1`, [older]);
    const strict = (
      await t.http
        .post(`/v1/runs/${original.id}/replay`)
        .set('Authorization', auth)
        .send({ default_behavior: 'check', strict: true })
        .expect(202)
    ).body.id as string;
    expect((await options(strict)).volatile_paths).toBeUndefined(); // strict compares them all anyway

    const worker = await startTestWorker(env.env);
    try {
      const byStoredRules = await finished(stored);
      expect(byStoredRules).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch' }, replay: { verdict: 'mismatch' } });
      const [step] = await trace(stored);
      expect(step.comparison.ignored_paths).toEqual([]);
      const changed: string[] = step.mismatch.diff.map((op: { path: string }) => op.path);
      expect(changed).toContain('/headers/x-request-id'); // fresh on every answer
      expect(changed.every((p) => p === '/headers/x-request-id' || p === '/headers/date')).toBe(true);
      expect(await finished(older)).toMatchObject({ status: 'succeeded', replay: { verdict: 'match' } });
      expect(await finished(strict)).toMatchObject({ status: 'failed', replay: { verdict: 'mismatch' } });
    } finally {
      await worker.close();
      await t.close();
      t = await startTestApp(env.env);
    }
  });
});
