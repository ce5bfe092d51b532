import type { Queue } from 'bullmq';
import { runsQueue } from './support/queue.js';
import type { SideEffectServer } from './support/side-effect-server.js';
import { type RunsHarness, startRunsHarness, type TestApp, waitFor } from './support/test-app.js';

/** Cancel of a run waiting for its retry (a long backoff keeps it in `retry`). */
describe('POST /v1/runs/{id}/cancel of a retry run (real PostgreSQL + Redis)', () => {
  let h: RunsHarness;
  let t: TestApp;
  let server: SideEffectServer;
  let auth: string;
  let queue: Queue;

  beforeAll(async () => {
    h = await startRunsHarness('canceller', (s) => ({ SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`, RUN_RETRY_BACKOFF_MS: '60000' }));
    ({ app: t, server, auth } = h);
    queue = runsQueue(h.env.redisPrefix);
  });

  afterAll(async () => {
    await queue?.close();
    await h?.dispose();
  });

  const getRun = async (id: string) => (await t.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;

  it('cancels a run in retry: its delayed attempt never runs a step, the trace shows the rest cancelled', async () => {
    const { id } = (
      await t.http
        .post('/v1/agents/cancel/runs')
        .set('Authorization', auth)
        .send({
          steps: [
            { name: 'flaky', skill: 'http.request', params: { url: `${server.url}/flaky/cancel-retry?fail=99` } },
            { name: 'after', skill: 'http.request', params: { url: `${server.url}/effect/after-retry-cancel`, method: 'POST' } },
          ],
        })
        .expect(202)
    ).body as { id: string };
    await waitFor(async () => ((await getRun(id)).status === 'retry' ? true : undefined));
    const cancelled = await t.http.post(`/v1/runs/${id}/cancel`).set('Authorization', auth).expect(202);
    expect(cancelled.body).toMatchObject({ id, status: 'cancelled', attempts: 1, error: { type: 'cancelled' } });
    // Run the delayed attempt now instead of in 60 s, and wait until a worker has taken and finished it.
    const job = await queue.getJob(id);
    expect(await job?.getState()).toBe('delayed');
    await job!.promote();
    await waitFor(async () => ((await queue.getJob(id)) ? undefined : true));
    expect(server.hits('/flaky/cancel-retry')).toBe(1);
    expect(server.hits('/effect/after-retry-cancel')).toBe(0);
    expect(await getRun(id)).toMatchObject({ status: 'cancelled', attempts: 1 });
    const trace = (await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body;
    expect(trace.steps.map((s: { status: string }) => s.status)).toEqual(['failed', 'cancelled']);
    await t.http.post(`/v1/runs/${id}/cancel`).set('Authorization', auth).expect(409);
  });
});
