import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RUN_EXECUTION_ORCHESTRATOR } from '../src/spine/orchestrator/orchestrator.tokens.js';
import { createTenant, createTestEnvironment, startTestApp, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

/**
 * A checked step's executed output is never lost to a re-execution: a shutdown or a crash while the
 * judge is asked (an LLM call of up to a minute, longer than the shutdown's grace) resumes with the
 * comparison, and the unkeyed POST under the check is received once by the replay.
 * Also: a run interrupted by a shutdown in its first attempt resumes after the steps it recorded.
 */
describe('checks interrupted by a shutdown or a crash (real PostgreSQL + Redis, loopback upstream and judge)', () => {
  let env: TestEnvironment;
  let server: Server;
  let port = 0;
  const hits = new Map<string, number>();
  let chats = 0;
  /** Judge answers held back while true (the judge is "slow"); released answers go out at once. */
  let holdJudge = true;
  const held: ServerResponse[] = [];
  const verdict = JSON.stringify({
    model: 'j',
    choices: [{ message: { content: '{"pass": true, "reason": "same charge"}' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        hits.set(path, (hits.get(path) ?? 0) + 1);
        res.setHeader('content-type', 'application/json');
        if (path === '/v1/chat/completions') {
          chats++;
          if (holdJudge) held.push(res);
          else res.end(verdict);
          return;
        }
        res.end(JSON.stringify({ charged: true }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    env = await createTestEnvironment({
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${port}`,
      LLM_BASE_URL: `http://127.0.0.1:${port}/v1`,
      LLM_API_KEY: 'k',
      SHUTDOWN_GRACE_MS: '300',
      RUN_RETRY_BACKOFF_MS: '50',
      WORKER_LOCK_DURATION_MS: '2000',
    });
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await env?.dispose();
  });

  const harness = (app: () => TestApp, auth: string) => {
    const getRun = async (id: string) => (await app().http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
    return {
      finished: (id: string) =>
        waitFor(async () => {
          const run = await getRun(id);
          return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
        }, 60_000),
      trace: async (id: string) => (await app().http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body.steps,
      submit: async (agent: string, steps: unknown[]) =>
        (await app().http.post(`/v1/agents/${agent}/runs`).set('Authorization', auth).send({ steps }).expect(202)).body.id as string,
      replay: async (id: string, body: object) =>
        (await app().http.post(`/v1/runs/${id}/replay`).set('Authorization', auth).send(body).expect(202)).body.id as string,
    };
  };
  const post = (path: string) => ({
    name: 'charge',
    skill: 'http.request',
    params: { method: 'POST', url: `http://127.0.0.1:${port}${path}` },
  });
  const judged = { default_behavior: 'check', compare: { '*': { mode: 'judge', model: 'j', rubric: 'the same charge' } } };
  /** A graceful shutdown past its grace (as SIGTERM does it): running skills are aborted, runs requeued. */
  const shutDown = async (app: TestApp) => {
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 400));
    app.app.get<symbol, { abortRunningSkills(): void }>(RUN_EXECUTION_ORCHESTRATOR).abortRunningSkills();
    await closing;
  };

  it('a shutdown during the judge call: the next attempt asks the judge again, the POST is not sent again', async () => {
    let t: TestApp = await startTestApp(env.env);
    const { auth } = await createTenant(t, 'judged');
    const h = harness(() => t, auth);
    const original = await h.finished(await h.submit('judged', [post('/effect')]));
    expect(original.status).toBe('succeeded');
    expect(hits.get('/effect')).toBe(1);

    holdJudge = true;
    const replay = await h.replay(original.id, judged);
    await waitFor(async () => (chats >= 1 ? true : undefined), 30_000);
    expect(hits.get('/effect')).toBe(2); // the replay's execution, then the judge is asked
    const [during] = await h.trace(replay);
    expect(during).toMatchObject({ status: 'running', executed: true, output: { status: 200, body: { charged: true } } });
    await shutDown(t);
    for (const res of held.splice(0)) res.destroy();

    holdJudge = false;
    t = await startTestApp(env.env);
    try {
      const done = await h.finished(replay);
      expect(done).toMatchObject({ status: 'succeeded', replay: { verdict: 'match', summary: { executed: 1, checked: 1 } } });
      expect(hits.get('/effect')).toBe(2); // it was 3: the interrupted attempt's output was thrown away and the POST sent again
      expect(chats).toBe(2);
      const [step] = await h.trace(replay);
      expect(step).toMatchObject({
        status: 'succeeded',
        executed: true,
        from_cache: false,
        attempts: 2,
        comparison: { mode: 'judge', passed: true, reason: 'same charge' },
      });
    } finally {
      await t.close();
    }
  }, 90_000);

  it('a shutdown in a first attempt: the next attempt resumes after the steps it recorded (no step runs twice)', async () => {
    let t: TestApp = await startTestApp(env.env);
    const { auth } = await createTenant(t, 'resumed');
    const h = harness(() => t, auth);
    const id = await h.submit('resumed', [post('/first'), { name: 'wait', skill: 'delay', params: { ms: 3_000 } }]);
    await waitFor(async () => ((await h.trace(id))[1]?.status === 'running' ? true : undefined), 30_000);
    await shutDown(t);
    t = await startTestApp(env.env);
    try {
      const done = await h.finished(id);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 1 }); // the interrupted attempt was given back
      expect(hits.get('/first')).toBe(1); // it was 2: attempt "1" again read no trace and ran step 0 again
      const steps = await h.trace(id);
      expect(steps.map((s: { status: string; attempts: number }) => [s.status, s.attempts])).toEqual([
        ['succeeded', 1],
        ['succeeded', 2],
      ]);
    } finally {
      await t.close();
    }
  }, 90_000);

  describe('a worker process killed (SIGKILL) during the judge call', () => {
    let api: TestApp;
    const workers: WorkerProcess[] = [];
    beforeAll(async () => {
      api = await startTestApp({ ...env.env, WORKER_ENABLED: 'false' });
    });
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
      await api?.close();
    });

    it('another worker asks the judge again; the POST is received once by the replay', async () => {
      const { auth } = await createTenant(api, 'killed');
      const h = harness(() => api, auth);
      const victim = await spawnWorker(env.env);
      workers.push(victim);
      const original = await h.finished(await h.submit('killed', [post('/killed')]));
      expect(original.status).toBe('succeeded');
      holdJudge = true;
      const chatsBefore = chats;
      const replay = await h.replay(original.id, judged);
      await waitFor(async () => (chats > chatsBefore ? true : undefined), 30_000);
      expect(hits.get('/killed')).toBe(2);
      await victim.kill('SIGKILL');
      expect(victim.child.signalCode).toBe('SIGKILL');
      for (const res of held.splice(0)) res.destroy();

      holdJudge = false;
      const rescuer = await spawnWorker(env.env);
      workers.push(rescuer);
      const done = await h.finished(replay);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2, replay: { verdict: 'match' } });
      expect(hits.get('/killed')).toBe(2); // the executed output was on the step's row: only the judge was asked again
      expect(chats).toBe(chatsBefore + 2);
      const [step] = await h.trace(replay);
      expect(step).toMatchObject({ status: 'succeeded', executed: true, attempts: 2, comparison: { mode: 'judge', passed: true } });
    }, 90_000);
  });
});
