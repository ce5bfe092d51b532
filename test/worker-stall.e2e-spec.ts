import { Redis } from 'ioredis';
import pg from 'pg';
import { TEST_REDIS_URL } from './support/env.js';
import { createTenant, type RunsHarness, startRunsHarness, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stalled workers (SIGSTOP past their lock and lease, then SIGCONT): the guarantee is what holds when a
 * worker freezes at the worst moment. Real worker processes, real PostgreSQL and Redis, and an upstream
 * that counts what it received (not only what it applied).
 */
describe('stalled workers (SIGSTOP / SIGCONT of real worker processes)', () => {
  let h: RunsHarness;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    h = await startRunsHarness('stall', (s) => ({
      WORKER_ENABLED: 'false', // the API process only creates runs; the workers are separate processes
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`,
      WORKER_LOCK_DURATION_MS: '2000',
      STEP_CLAIM_LEASE_MS: '1500',
      SWEEP_INTERVAL_MS: '3600000',
    }));
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.child.kill('SIGCONT');
      await w.kill('SIGKILL');
    }
  });

  afterAll(async () => {
    await h?.dispose();
  });

  /** Requests the upstream received with this Idempotency-Key (received, not merely applied). */
  const receivedWithKey = (key: string) => h.server.log.filter((l) => l.headers['idempotency-key'] === key).length;
  const submit = async (steps: unknown[]) =>
    (await h.app.http.post('/v1/agents/stally/runs').set('Authorization', h.auth).send({ steps }).expect(202)).body as { id: string };
  const trace = async (id: string) =>
    (await h.app.http.get(`/v1/runs/${id}/trace`).set('Authorization', h.auth).expect(200)).body as {
      steps: Array<{ status: string; output: unknown; attempts: number }>;
    };
  const finished = (id: string, timeoutMs = 30_000) =>
    waitFor(async () => {
      const run = (await h.app.http.get(`/v1/runs/${id}`).set('Authorization', h.auth).expect(200)).body;
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    }, timeoutMs);

  /** Everything a stale worker could write for a run: its row, its trace rows, and its step keys' results in Redis. */
  async function snapshot(runId: string, stepKey: string): Promise<string> {
    const db = new pg.Client({ connectionString: h.env.db.url });
    await db.connect();
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const run = (await db.query('SELECT * FROM runs WHERE id = $1', [runId])).rows;
      const steps = (await db.query('SELECT * FROM run_steps WHERE run_id = $1 ORDER BY index', [runId])).rows;
      const [, keys] = await redis.scan('0', 'MATCH', `${h.env.redisPrefix}:step-*:${stepKey}`, 'COUNT', 100_000);
      const values = await Promise.all(keys.sort().map(async (k) => [k, await redis.get(k)]));
      return JSON.stringify({ run, steps, values });
    } finally {
      await db.end();
      redis.disconnect();
    }
  }

  it('stalled in a delay step before a keyed POST: the upstream receives the POST once; the stale worker writes nothing', async () => {
    const stale = await spawnWorker(h.env.env);
    workers.push(stale);
    const key = 'stall-before-send';
    const run = await submit([
      { name: 'think', skill: 'delay', params: { ms: 2500 } },
      { name: 'charge', skill: 'http.request', params: { url: `${h.server.url}/pay/before`, method: 'POST' }, idempotency_key: key },
    ]);
    await waitFor(async () => ((await trace(run.id)).steps[0].status === 'running' ? true : undefined));
    stale.child.kill('SIGSTOP'); // frozen inside the delay: its lock, lease and timers all stop

    const fresh = await spawnWorker(h.env.env);
    workers.push(fresh);
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 }); // the fresh worker took it as a new attempt
    expect(receivedWithKey(key)).toBe(1);
    const before = await snapshot(run.id, key);

    stale.child.kill('SIGCONT'); // its delay ends at once; it then tries to record the step and start the POST
    await sleep(4_000);
    expect(receivedWithKey(key)).toBe(1); // received once, not merely applied once
    expect(h.server.applied('/pay/before')).toBe(1);
    expect(await snapshot(run.id, key)).toBe(before); // the stale worker wrote nothing
    expect(stale.output()).toMatch(/lost the run/);
  }, 60_000);

  it('stalled while its keyed POST is in flight: applied once, the late answer overwrites nothing, the run ends consistent', async () => {
    const stale = await spawnWorker(h.env.env);
    workers.push(stale);
    const key = 'stall-in-flight';
    h.server.hold('/pay/in-flight'); // the upstream applies the charge on receipt, then keeps its answer back
    const run = await submit([
      { name: 'charge', skill: 'http.request', params: { url: `${h.server.url}/pay/in-flight`, method: 'POST' }, idempotency_key: key },
      { name: 'receipt', skill: 'transform', params: { expression: 'steps[0].output.body.charge' } },
    ]);
    await h.server.waitForHit('/pay/in-flight', 1);
    stale.child.kill('SIGSTOP'); // the request is out; its answer will come to a frozen process

    const fresh = await spawnWorker(h.env.env);
    workers.push(fresh);
    await h.server.waitForHit('/pay/in-flight', 2, 30_000); // the fresh worker re-sent once the stale claim lapsed
    h.server.release('/pay/in-flight'); // both answers go out: the stale one to a frozen process
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
    // The re-send after the stall carries the same key, so the upstream applies the charge once.
    expect(receivedWithKey(key)).toBe(2);
    expect(h.server.applied('/pay/in-flight')).toBe(1);
    const steps = (await trace(run.id)).steps;
    expect(steps[0].output).toMatchObject({ status: 200, body: { paid: 'in-flight', charge: 1 } });
    expect(done.output).toBe(1);
    const before = await snapshot(run.id, key);

    stale.child.kill('SIGCONT'); // its answer arrives now; its claim and its run are gone
    await sleep(4_000);
    expect(await snapshot(run.id, key)).toBe(before);
    expect(receivedWithKey(key)).toBe(2);
    expect(h.server.applied('/pay/in-flight')).toBe(1);
  }, 60_000);

  it('cancelled while its keyed POST is in flight: the step finishes and is recorded, its key stays completed', async () => {
    const worker = await spawnWorker(h.env.env);
    workers.push(worker);
    const key = 'cancel-in-flight';
    h.server.hold('/pay/cancel-in-flight');
    const run = await submit([
      {
        name: 'charge',
        skill: 'http.request',
        params: { url: `${h.server.url}/pay/cancel-in-flight`, method: 'POST' },
        idempotency_key: key,
      },
      { name: 'after', skill: 'http.request', params: { url: `${h.server.url}/effect/after-cancel-in-flight`, method: 'POST' } },
    ]);
    await h.server.waitForHit('/pay/cancel-in-flight', 1);
    await h.app.http.post(`/v1/runs/${run.id}/cancel`).set('Authorization', h.auth).expect(202);
    await sleep(2_500); // more than a lease period: the worker's lease renewals see the cancel
    h.server.release('/pay/cancel-in-flight');
    // The running step finished and its result is recorded; the next step never started.
    await waitFor(async () => ((await trace(run.id)).steps[0].status === 'succeeded' ? true : undefined));
    const steps = (await trace(run.id)).steps;
    expect(steps.map((s) => s.status)).toEqual(['succeeded', 'cancelled']);
    expect(steps[0].output).toMatchObject({ status: 200, body: { paid: 'cancel-in-flight' } });
    expect(h.server.hits('/effect/after-cancel-in-flight')).toBe(0);
    // The key stays completed: another run with it takes the recorded result and sends nothing.
    const again = await submit([
      {
        name: 'charge',
        skill: 'http.request',
        params: { url: `${h.server.url}/pay/cancel-in-flight`, method: 'POST' },
        idempotency_key: key,
      },
    ]);
    expect(await finished(again.id)).toMatchObject({ status: 'succeeded' });
    expect(receivedWithKey(key)).toBe(1);
    expect(h.server.applied('/pay/cancel-in-flight')).toBe(1);
  }, 60_000);

  it("the review's reproduction: another tenant's heavy transform on the same worker does not make a keyed POST go out twice", async () => {
    const shared = await spawnWorker({ ...h.env.env, WORKER_CONCURRENCY: '2' });
    workers.push(shared);
    const key = 'repro-keyed-post';
    h.server.hold('/pay/repro'); // the POST stays in flight while the transform runs
    const run = await submit([
      { name: 'charge', skill: 'http.request', params: { url: `${h.server.url}/pay/repro`, method: 'POST' }, idempotency_key: key },
    ]);
    await h.server.waitForHit('/pay/repro', 1);
    // A second worker stands by: had the shared worker's event loop blocked past its lease, it would take the run.
    workers.push(await spawnWorker(h.env.env));
    const other = (await createTenant(h.app, 'heavy-tenant')).auth;
    const heavy = await h.app.http
      .post('/v1/agents/heavy/runs')
      .set('Authorization', other)
      .send({
        steps: [1, 2, 3].map((n) => ({ name: `bomb-${n}`, skill: 'transform', params: { expression: '$count([1..3000000].($ * 2))' } })),
      })
      .expect(202);
    await waitFor(async () => {
      const r = (await h.app.http.get(`/v1/runs/${heavy.body.id}`).set('Authorization', other).expect(200)).body;
      return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    }, 40_000);
    h.server.release('/pay/repro');
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1 }); // never taken over
    expect(receivedWithKey(key)).toBe(1);
    expect(h.server.applied('/pay/repro')).toBe(1);
  }, 90_000);
});
