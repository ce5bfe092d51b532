import { jobHolder, runsQueue } from './support/queue.js';
import type { SideEffectServer } from './support/side-effect-server.js';
import { type RunsHarness, startRunsHarness, startTestWorker, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

/** Crash and loss drills at test scale: a SIGKILLed worker process, and a run whose job was lost. */
describe('crashed workers and lost jobs (real processes, PostgreSQL, Redis)', () => {
  let h: RunsHarness;
  let env: TestEnvironment;
  let api: TestApp;
  let server: SideEffectServer;
  let auth: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    h = await startRunsHarness('crash', (s) => ({
      WORKER_ENABLED: 'false', // the API process here only creates runs
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`,
      WORKER_LOCK_DURATION_MS: '2000',
      STEP_CLAIM_LEASE_MS: '1500',
      SWEEP_INTERVAL_MS: '3600000',
    }));
    ({ env, app: api, server, auth } = h);
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    await h?.dispose();
  });

  const getRun = async (id: string) => (await api.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
  const finished = (id: string) =>
    waitFor(async () => {
      const run = await getRun(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    }, 40_000);

  it('a worker killed with SIGKILL while its keyed request is in flight: the re-send carries the same key, the effect is applied once', async () => {
    const victim = await spawnWorker(env.env);
    workers.push(victim);
    server.hold('/pay/in-flight'); // the upstream applies the charge, then keeps its answer back
    const res = await api.http
      .post('/v1/agents/crashy/runs')
      .set('Authorization', auth)
      .send({
        steps: [
          {
            name: 'charge',
            skill: 'http.request',
            params: { url: `${server.url}/pay/in-flight`, method: 'POST', body: { amount: 5 } },
            idempotency_key: 'in-flight-charge',
          },
          { name: 'after', skill: 'transform', params: { expression: 'steps[0].output.body.charge' } },
        ],
      })
      .expect(202);
    await server.waitForHit('/pay/in-flight', 1);
    const queue = runsQueue(env.redisPrefix);
    try {
      expect(await jobHolder(queue, res.body.id)).toBe(victim.name); // the victim holds the run's job
    } finally {
      await queue.close();
    }
    await victim.kill('SIGKILL');
    expect(victim.child.signalCode).toBe('SIGKILL');
    await waitFor(async () => (server.abandoned('/pay/in-flight') === 1 ? true : undefined)); // it died with the request unanswered
    expect(server.applied('/pay/in-flight')).toBe(1);
    server.release('/pay/in-flight');

    const rescuer = await spawnWorker(env.env);
    workers.push(rescuer);
    const done = await finished(res.body.id);
    await rescuer.kill('SIGTERM'); // the next test starts with no worker
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, output: 1 });
    const sent = server.log.filter((l) => l.path === '/pay/in-flight');
    expect(sent).toHaveLength(2); // the step was re-sent: the worker could not know whether the first arrived
    expect(sent.map((l) => l.headers['idempotency-key'])).toEqual(['in-flight-charge', 'in-flight-charge']);
    expect(server.applied('/pay/in-flight')).toBe(1); // the upstream deduplicated the re-send on the key
    const trace = (await api.http.get(`/v1/runs/${res.body.id}/trace`).set('Authorization', auth).expect(200)).body;
    expect(trace.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded']);
    expect(trace.steps[0].output.body).toEqual({ paid: 'in-flight', charge: 1 });
    // The running row is written before the skill runs, so the victim's start counts: two attempts of the charge.
    expect(trace.steps.map((s: { attempts: number }) => s.attempts)).toEqual([2, 1]);
  }, 90_000);

  it('a worker killed with SIGKILL during an unkeyed step: another worker finishes the run once, keyed side effects are not repeated', async () => {
    const first = await spawnWorker(env.env);
    workers.push(first);
    const res = await api.http
      .post('/v1/agents/crashy/runs')
      .set('Authorization', auth)
      .send({
        steps: [
          {
            name: 'charge',
            skill: 'http.request',
            params: { url: `${server.url}/effect/crash-a`, method: 'POST' },
            idempotency_key: 'crash-a',
          },
          { name: 'long', skill: 'http.request', params: { url: `${server.url}/slow?ms=4000`, timeout_ms: 10000 } },
          {
            name: 'notify',
            skill: 'http.request',
            params: { url: `${server.url}/effect/crash-b`, method: 'POST' },
            idempotency_key: 'crash-b',
          },
        ],
      })
      .expect(202);
    await server.waitForHit('/slow', 1);
    // Kill once the trace shows the step running (its running row is written before the skill runs).
    await waitFor(async () => {
      const trace = (await api.http.get(`/v1/runs/${res.body.id}/trace`).set('Authorization', auth).expect(200)).body;
      return trace.steps[1].status === 'running' ? true : undefined;
    });
    const queue = runsQueue(env.redisPrefix);
    try {
      expect(await jobHolder(queue, res.body.id)).toBe(first.name); // the victim holds the run's job
    } finally {
      await queue.close();
    }
    await first.kill('SIGKILL');
    expect(first.child.signalCode).toBe('SIGKILL');

    workers.push(await spawnWorker(env.env));
    const done = await finished(res.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.attempts).toBe(2);
    expect(server.hits('/effect/crash-a')).toBe(1);
    expect(server.hits('/effect/crash-b')).toBe(1);
    expect(server.hits('/slow')).toBe(2); // the unkeyed step in flight is run again: at least once
    const trace = (await api.http.get(`/v1/runs/${res.body.id}/trace`).set('Authorization', auth).expect(200)).body;
    expect(trace.steps.map((s: { attempts: number }) => s.attempts)).toEqual([1, 2, 1]);
  }, 90_000);

  it('a worker killed with SIGKILL during a batch of pure steps: only pure steps run again, the side effect before them never', async () => {
    // Pure (transform) steps are recorded with the attempt's next durable write; a side-effect step is
    // recorded before the run moves on. Killed while pure rows wait, the run loses only those rows.
    while (workers.length > 0) await workers.pop()!.kill('SIGTERM'); // no other worker (default limits) may take the run
    const slow = { TRANSFORM_TIMEOUT_MS: '60000', TRANSFORM_MAX_MEMORY_MB: '512' }; // the slow transform below: seconds, and memory
    const victim = await spawnWorker({ ...env.env, ...slow });
    workers.push(victim);
    const res = await api.http
      .post('/v1/agents/crashy/runs')
      .set('Authorization', auth)
      .send({
        input: { n: 3 },
        steps: [
          { name: 'first', skill: 'transform', params: { expression: 'input.n + 1' } },
          { name: 'effect', skill: 'http.request', params: { url: `${server.url}/effect/pure-batch`, method: 'POST' } },
          { name: 'after', skill: 'transform', params: { expression: 'steps[0].output * 10' } },
          { name: 'slow', skill: 'transform', params: { expression: '$count([1..3000000].($ * 2))' } },
          { name: 'last', skill: 'transform', params: { expression: 'steps[2].output + 1' } },
        ],
      })
      .expect(202);
    const traceOf = async () =>
      (await api.http.get(`/v1/runs/${res.body.id}/trace`).set('Authorization', auth).expect(200)).body as {
        steps: Array<{ status: string; attempts: number; output: unknown; started_at: string | null }>;
      };
    // The side effect's row is written before the run moves on (with the pure row before it, in one statement).
    await waitFor(async () => ((await traceOf()).steps[1].status === 'succeeded' ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 500)); // `after` has run; `slow` is evaluating
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    expect(victim.child.signalCode).toBe('SIGKILL');
    // What the victim left: the steps up to the side effect; the pure step after it was never written.
    expect((await traceOf()).steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'pending', 'pending', 'pending']);

    workers.push(await spawnWorker({ ...env.env, ...slow }));
    const done = await finished(res.body.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, output: 41, error: null });
    expect(server.hits('/effect/pure-batch')).toBe(1); // the side-effect step never ran twice
    const tr = await traceOf();
    expect(tr.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(tr.steps.map((s) => s.output)).toEqual([4, expect.objectContaining({ status: 200 }), 40, 3000000, 41]);
    expect(tr.steps.map((s) => s.attempts)).toEqual([1, 1, 1, 1, 1]); // a re-run pure step had no row: it counts once
    // The pure steps after the side effect ran again in the second attempt; those before it did not.
    expect(tr.steps.slice(2).every((s) => new Date(s.started_at!).getTime() >= killedAt - 50)).toBe(true);
    expect(tr.steps.slice(0, 2).every((s) => new Date(s.started_at!).getTime() < killedAt)).toBe(true);
  }, 90_000);

  it('a run stranded in queued (its job lost) is enqueued again by the sweep', async () => {
    while (workers.length > 0) await workers.pop()!.kill('SIGTERM'); // no consumer may take the job first
    const res = await api.http
      .post('/v1/agents/stranded/runs')
      .set('Authorization', auth)
      .send({ steps: [{ name: 'effect', skill: 'http.request', params: { url: `${server.url}/effect/stranded`, method: 'POST' } }] })
      .expect(202);
    const queue = runsQueue(env.redisPrefix);
    try {
      // Lose the job, as a crash between commit and enqueue (or a Redis restart) would.
      await waitFor(async () => ((await queue.getJob(res.body.id)) ? true : undefined));
      await queue.remove(res.body.id);
      expect(await queue.getJob(res.body.id)).toBeUndefined();
    } finally {
      await queue.close();
    }
    const worker = await startTestWorker({ ...env.env, SWEEP_INTERVAL_MS: '200', SWEEP_STALE_AFTER_MS: '300' });
    try {
      const done = await waitFor(async () => {
        const run = await getRun(res.body.id);
        return run.status === 'succeeded' ? run : undefined;
      }, 20_000);
      expect(done.attempts).toBe(1);
      expect(server.hits('/effect/stranded')).toBe(1);
    } finally {
      await worker.close();
    }
  }, 60_000);

  it('a what-if replay whose worker is killed mid-step: the resumed attempt runs the same overrides and input', async () => {
    const first = await spawnWorker(env.env);
    workers.push(first);
    const created = await api.http
      .post('/v1/agents/crashy/runs')
      .set('Authorization', auth)
      .send({
        input: { amount: 5 },
        steps: [
          {
            name: 'charge',
            skill: 'http.request',
            params: { url: `${server.url}/pay/what-if-original`, method: 'POST', body: { amount: { $ref: '/input/amount' } } },
            idempotency_key: 'what-if-original',
          },
          { name: 'total', skill: 'transform', params: { expression: 'input.amount * 10' } },
        ],
      })
      .expect(202);
    expect(await finished(created.body.id)).toMatchObject({ status: 'succeeded', output: 50 });

    server.hold('/pay/what-if-crash'); // the overridden charge is applied, its answer kept back
    const replay = await api.http
      .post(`/v1/runs/${created.body.id}/replay`)
      .set('Authorization', auth)
      .send({
        input: { amount: 7 },
        default_behavior: 'execute',
        overrides: {
          '0': { params: { url: `${server.url}/pay/what-if-crash`, body: { note: 'what-if' } }, idempotency_key: 'what-if-crash' },
        },
      })
      .expect(202);
    await server.waitForHit('/pay/what-if-crash', 1);
    const queue = runsQueue(env.redisPrefix);
    try {
      expect(await jobHolder(queue, replay.body.id)).toBe(first.name);
    } finally {
      await queue.close();
    }
    await first.kill('SIGKILL');
    await waitFor(async () => (server.abandoned('/pay/what-if-crash') === 1 ? true : undefined));
    server.release('/pay/what-if-crash');

    const rescuer = await spawnWorker(env.env);
    workers.push(rescuer);
    const done = await finished(replay.body.id);
    await rescuer.kill('SIGTERM');
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, input: { amount: 7 }, output: 70 });
    // both attempts sent the overridden request: patched url and body, the replacement input, the new key
    const sent = server.log.filter((l) => l.path === '/pay/what-if-crash');
    expect(sent.map((l) => [JSON.parse(l.body), l.headers['idempotency-key']])).toEqual([
      [{ amount: 7, note: 'what-if' }, 'what-if-crash'],
      [{ amount: 7, note: 'what-if' }, 'what-if-crash'],
    ]);
    expect(server.applied('/pay/what-if-crash')).toBe(1);
    expect(server.hits('/pay/what-if-original')).toBe(1);
    const trace = (await api.http.get(`/v1/runs/${replay.body.id}/trace`).set('Authorization', auth).expect(200)).body;
    expect(trace.steps[0]).toMatchObject({
      attempts: 2,
      idempotency_key: 'what-if-crash',
      params: { url: `${server.url}/pay/what-if-crash`, body: { amount: 7, note: 'what-if' } },
    });
  }, 90_000);
});
