import type { SideEffectServer } from './support/side-effect-server.js';
import { type RunsHarness, startRunsHarness, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

/** SIGTERM to a worker process: the run in hand finishes, or past the grace period goes back to the queue. */
describe('graceful shutdown of a worker process (real processes, PostgreSQL, Redis)', () => {
  let h: RunsHarness;
  let env: TestEnvironment;
  let api: TestApp;
  let server: SideEffectServer;
  let auth: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    h = await startRunsHarness('graceful', (s) => ({
      WORKER_ENABLED: 'false',
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`,
      RUN_RETRY_BACKOFF_MS: '100',
      SWEEP_INTERVAL_MS: '3600000',
    }));
    ({ env, app: api, server, auth } = h);
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await h?.dispose();
  });

  const submit = async (steps: unknown[]) =>
    (await api.http.post('/v1/agents/graceful/runs').set('Authorization', auth).send({ steps }).expect(202)).body.id as string;
  const run = async (id: string) => (await api.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
  const stepRunning = (id: string, index: number) =>
    waitFor(async () =>
      (await api.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body.steps[index].status === 'running'
        ? true
        : undefined,
    );

  it('lets the run in hand finish, then exits 0', async () => {
    const worker = await spawnWorker(env.env);
    workers.push(worker);
    const id = await submit([
      { name: 'wait', skill: 'delay', params: { ms: 1500 } },
      { name: 'after', skill: 'http.request', params: { url: `${server.url}/effect/after-sigterm`, method: 'POST' } },
    ]);
    await stepRunning(id, 0);
    await worker.kill('SIGTERM');
    expect(worker.child.exitCode).toBe(0);
    expect(await run(id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(server.hits('/effect/after-sigterm')).toBe(1);
  }, 60_000);

  it('past SHUTDOWN_GRACE_MS releases the running step without using up an attempt; another worker completes the run', async () => {
    // RUN_MAX_ATTEMPTS=1: had the interrupted attempt counted, the run could not be taken again.
    const impatient = await spawnWorker({ ...env.env, SHUTDOWN_GRACE_MS: '300', RUN_MAX_ATTEMPTS: '1' });
    workers.push(impatient);
    const id = await submit([
      {
        name: 'charge',
        skill: 'http.request',
        params: { url: `${server.url}/effect/charge-graceful`, method: 'POST' },
        idempotency_key: 'graceful-charge',
      },
      { name: 'long', skill: 'delay', params: { ms: 5000 } },
    ]);
    await stepRunning(id, 1);
    const stopped = Date.now();
    await impatient.kill('SIGTERM');
    expect(impatient.child.exitCode).toBe(0);
    expect(Date.now() - stopped).toBeLessThan(4_000); // it did not wait the 5 s step out
    expect(await run(id)).toMatchObject({ status: 'queued', attempts: 0 });
    workers.push(await spawnWorker({ ...env.env, RUN_MAX_ATTEMPTS: '1' }));
    const done = await waitFor(async () => {
      const r = await run(id);
      return r.status === 'succeeded' ? r : undefined;
    }, 30_000);
    expect(done.attempts).toBe(1);
    expect(server.hits('/effect/charge-graceful')).toBe(1);
  }, 60_000);
});
