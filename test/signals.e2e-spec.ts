import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './support/env.js';
import { createTenant, type RunsHarness, startRunsHarness, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

type Run = {
  id: string;
  status: string;
  attempts: number;
  output: unknown;
  error: { type: string; step_index?: number } | null;
  waiting_for?: { signal: string; step_index: number; until: string };
};
type Step = { status: string; output: unknown; error: { type: string } | null };

/**
 * `wait` steps and signals, with real worker processes (WORKER_CONCURRENCY=1) on real PostgreSQL and
 * Redis. The API process only serves HTTP; the sweep is off (an hour), so every timeout here is fired by
 * the durable delayed job, also across a SIGKILL of every worker.
 */
describe('wait steps and signals (real worker processes)', () => {
  let h: RunsHarness;
  const workers: WorkerProcess[] = [];

  const startWorker = async () => {
    const worker = await spawnWorker(h.env.env);
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    h = await startRunsHarness('signals', (s) => ({
      WORKER_ENABLED: 'false',
      WORKER_CONCURRENCY: '1',
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`,
      WORKER_LOCK_DURATION_MS: '3000',
      SWEEP_INTERVAL_MS: '3600000',
    }));
  }, 60_000);

  beforeEach(async () => {
    await startWorker();
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.kill('SIGKILL');
  });

  afterAll(async () => {
    await h?.dispose();
  });

  const submit = async (steps: unknown[]) =>
    (await h.app.http.post('/v1/agents/approver/runs').set('Authorization', h.auth).send({ steps }).expect(202)).body as Run;
  const get = async (id: string) => (await h.app.http.get(`/v1/runs/${id}`).set('Authorization', h.auth).expect(200)).body as Run;
  const trace = async (id: string) =>
    ((await h.app.http.get(`/v1/runs/${id}/trace`).set('Authorization', h.auth).expect(200)).body as { steps: Step[] }).steps;
  const signal = (id: string, name: string, payload?: unknown, key?: string) => {
    const req = h.app.http.post(`/v1/runs/${id}/signals/${name}`).set('Authorization', h.auth);
    if (key) req.set('Idempotency-Key', key);
    return payload === undefined ? req : req.send(payload as object);
  };
  const status = (id: string, wanted: string, timeoutMs = 30_000) =>
    waitFor(async () => {
      const run = await get(id);
      return run.status === wanted ? run : undefined;
    }, timeoutMs);
  const finished = (id: string, timeoutMs = 30_000) =>
    waitFor(async () => {
      const run = await get(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    }, timeoutMs);
  const effect = (name: string, key: string) => ({
    name: `effect-${name}`,
    skill: 'http.request',
    params: { method: 'POST', url: `${h.server.url}/effect/${name}`, body: { approved: { $ref: '/steps/0/output/approved' } } },
    idempotency_key: key,
  });

  it('a waiting run holds no worker: with WORKER_CONCURRENCY=1 another run completes meanwhile; the signal resumes it once', async () => {
    const waiting = await submit([
      { name: 'approval', skill: 'wait', params: { signal: 'approval', timeout_ms: 120_000 } },
      effect('refund', 'refund-1'),
    ]);
    const parked = await status(waiting.id, 'waiting');
    expect(parked.waiting_for).toMatchObject({ signal: 'approval', step_index: 0 });
    expect((await trace(waiting.id)).map((s) => s.status)).toEqual(['running', 'pending']);
    expect(await h.app.http.get('/v1/runs?status=waiting').set('Authorization', h.auth).expect(200)).toMatchObject({
      body: { data: [{ id: waiting.id, status: 'waiting' }] },
    });
    expect((await h.app.http.get('/metrics').expect(200)).text).toMatch(/^agentruns_runs_waiting 1$/m);

    const other = await submit([{ name: 'sum', skill: 'transform', params: { expression: '1 + 1' } }]);
    expect(await finished(other.id, 20_000)).toMatchObject({ status: 'succeeded', output: 2 });
    expect(h.server.hits('/effect/refund')).toBe(0);
    expect((await get(waiting.id)).status).toBe('waiting');

    const sent = await signal(waiting.id, 'approval', { approved: true, by: 'ana' }).expect(202);
    expect(sent.body).toEqual({ run_id: waiting.id, signal: 'approval', received_at: expect.any(String) });
    const done = await finished(waiting.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 }); // the resume is a new attempt
    expect(done).not.toHaveProperty('waiting_for');
    const steps = await trace(waiting.id);
    expect(steps[0]).toMatchObject({ status: 'succeeded', output: { approved: true, by: 'ana' } });
    expect(steps[1]).toMatchObject({ status: 'succeeded', output: { body: { effect: 'refund', count: 1 } } });
    expect(h.server.hits('/effect/refund')).toBe(1);
    expect(JSON.parse(h.server.log.find((l) => l.path === '/effect/refund')!.body)).toEqual({ approved: true });
    // The same signal again changes nothing; another payload is refused; a new signal to the finished run too.
    await signal(waiting.id, 'approval', { by: 'ana', approved: true }).expect(202);
    const conflict = await signal(waiting.id, 'approval', { approved: false }).expect(409);
    expect(conflict.body.type).toMatch(/signal-already-sent$/);
    const late = await signal(waiting.id, 'other', { x: 1 }).expect(409);
    expect(late.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(h.server.hits('/effect/refund')).toBe(1);
  }, 90_000);

  it('a signal sent before the run reaches its wait step is kept and consumed there (the run never waits)', async () => {
    const run = await submit([
      { name: 'think', skill: 'delay', params: { ms: 1500 } },
      { name: 'go', skill: 'wait', params: { signal: 'go' } },
    ]);
    await signal(run.id, 'go', ['early', 1]).expect(202);
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, output: ['early', 1] });
  }, 60_000);

  it('signals: Idempotency-Key replays, 422 on reuse, 404 across tenants, any JSON (or no body) as payload', async () => {
    const run = await submit([
      { name: 'a', skill: 'wait', params: { signal: 'a' } },
      { name: 'b', skill: 'wait', params: { signal: 'b.2' } },
    ]);
    const first = await signal(run.id, 'a', { ok: 1 }, 'sig-key').expect(202);
    const again = await signal(run.id, 'a', { ok: 1 }, 'sig-key').expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const reused = await signal(run.id, 'b.2', { ok: 1 }, 'sig-key').expect(422);
    expect(reused.body.type).toMatch(/idempotency-key-reused$/);

    const stranger = await createTenant(h.app, 'stranger');
    await h.app.http.post(`/v1/runs/${run.id}/signals/b.2`).set('Authorization', stranger.auth).send({ ok: 2 }).expect(404);

    await status(run.id, 'waiting'); // step 0 took "a"; now it waits for "b.2"
    expect((await get(run.id)).waiting_for).toMatchObject({ signal: 'b.2', step_index: 1 });
    await signal(run.id, 'b.2').expect(202); // no body: the payload is null
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', output: null });
    expect((await trace(run.id)).map((s) => s.output)).toEqual([{ ok: 1 }, null]);
  }, 60_000);

  it('past its timeout the wait step fails the run with signal_timeout; the steps after it never run', async () => {
    const run = await submit([
      { name: 'approval', skill: 'wait', params: { signal: 'never', timeout_ms: 1500 } },
      effect('timeout', 'timeout-1'),
    ]);
    const done = await finished(run.id, 30_000);
    expect(done).toMatchObject({ status: 'failed', error: { type: 'signal_timeout', step_index: 0 } });
    const steps = await trace(run.id);
    expect(steps.map((s) => s.status)).toEqual(['failed', 'cancelled']);
    expect(steps[0].error).toMatchObject({ type: 'signal_timeout' });
    expect(h.server.hits('/effect/timeout')).toBe(0);
    await signal(run.id, 'never', {}).expect(409); // too late: the run is finished
  }, 60_000);

  it('cancel works on a waiting run: the waiting and later steps show cancelled, a later signal is refused', async () => {
    const run = await submit([{ name: 'approval', skill: 'wait', params: { signal: 'approval' } }, effect('cancelled', 'cancel-1')]);
    await status(run.id, 'waiting');
    const cancelled = await h.app.http.post(`/v1/runs/${run.id}/cancel`).set('Authorization', h.auth).expect(202);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', error: { type: 'cancelled' } });
    expect((await trace(run.id)).map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    await signal(run.id, 'approval', { approved: true }).expect(409);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await get(run.id)).toMatchObject({ status: 'cancelled' });
    expect(h.server.hits('/effect/cancelled')).toBe(0);
  }, 60_000);

  it('every worker SIGKILLed while runs wait, then restarted: runs resume on their signals and timeouts still fire', async () => {
    const wait = (timeout_ms: number) => ({ name: 'approval', skill: 'wait', params: { signal: 'approval', timeout_ms } });
    const signalled = await submit([wait(300_000), effect('restart', 'restart-1')]);
    const overdue = await submit([wait(2_000), effect('restart-overdue', 'restart-2')]); // due while no worker lives, its job lost
    const later = await submit([wait(14_000), effect('restart-later', 'restart-3')]); // due after the restart
    for (const run of [signalled, overdue, later]) await status(run.id, 'waiting');
    for (const w of workers.splice(0)) await w.kill('SIGKILL'); // no worker process is left

    // The overdue run's timer job is lost too (as if Redis lost it): the sweep at the worker's start fires it.
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('runs', { connection, prefix: `${h.env.redisPrefix}:bull` });
    const timers = (await queue.getDelayed()).filter((job) => (job.data as { runId: string }).runId === overdue.id);
    expect(timers).toHaveLength(1);
    await timers[0].remove();
    await queue.close();
    connection.disconnect();

    await signal(signalled.id, 'approval', { approved: true }).expect(202);
    expect(await get(signalled.id)).toMatchObject({ status: 'queued' }); // durable: queued with the signal stored
    await new Promise((r) => setTimeout(r, 3_000)); // the overdue run's deadline passes while nothing runs
    expect(await get(overdue.id)).toMatchObject({ status: 'waiting' });

    await startWorker();
    expect(await finished(signalled.id)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await finished(overdue.id)).toMatchObject({ status: 'failed', error: { type: 'signal_timeout', step_index: 0 } });
    // Not yet due when the worker started (so the boot sweep left it): the delayed job kept in Redis fires it.
    expect(await finished(later.id)).toMatchObject({ status: 'failed', error: { type: 'signal_timeout', step_index: 0 } });
    expect(h.server.hits('/effect/restart')).toBe(1);
    expect(h.server.hits('/effect/restart-overdue') + h.server.hits('/effect/restart-later')).toBe(0);
  }, 90_000);

  it('signals racing the run to its wait step are never lost (the step and the endpoint lock the run row)', async () => {
    const runs = await Promise.all(
      Array.from({ length: 24 }, () =>
        submit([
          { name: 'think', skill: 'delay', params: { ms: 200 } },
          { name: 'go', skill: 'wait', params: { signal: 'go' } },
        ]),
      ),
    );
    for (const [i, run] of runs.entries()) {
      await waitFor(async () => ((await trace(run.id))[0].status !== 'pending' ? true : undefined), 30_000, 5);
      // Around the moment the delay ends and the wait step decides: before, during and after the park.
      await new Promise((r) => setTimeout(r, 170 + (i % 8) * 10));
      await signal(run.id, 'go', { i }).expect(202);
    }
    for (const [i, run] of runs.entries()) expect(await finished(run.id, 20_000)).toMatchObject({ status: 'succeeded', output: { i } });
  }, 120_000);

  it('replay: skip takes the recorded payload; execute waits for a signal of the replay run', async () => {
    const original = await submit([
      { name: 'approval', skill: 'wait', params: { signal: 'approval' } },
      { name: 'echo', skill: 'transform', params: { expression: 'steps[0].output.n * 10' } },
    ]);
    await signal(original.id, 'approval', { n: 1 }).expect(202);
    expect(await finished(original.id)).toMatchObject({ status: 'succeeded', output: 10 });

    const skipped = (
      await h.app.http.post(`/v1/runs/${original.id}/replay`).set('Authorization', h.auth).send({ default_behavior: 'skip' }).expect(202)
    ).body as Run;
    expect(await finished(skipped.id)).toMatchObject({ status: 'succeeded', output: 10 });

    const executed = (
      await h.app.http.post(`/v1/runs/${original.id}/replay`).set('Authorization', h.auth).send({ default_behavior: 'execute' }).expect(202)
    ).body as Run;
    await status(executed.id, 'waiting'); // the original's signal is not the replay's
    await signal(executed.id, 'approval', { n: 2 }).expect(202);
    expect(await finished(executed.id)).toMatchObject({ status: 'succeeded', output: 20 });
  }, 60_000);
});
