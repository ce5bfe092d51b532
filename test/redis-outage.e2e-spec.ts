import type { INestApplicationContext } from '@nestjs/common';
import { bullmqPrefix } from '../src/infra/queue/run-queue.port.js';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis.js';
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
 * Creating a run never waits for Redis: the create commits in PostgreSQL and answers 202; the
 * enqueue is bounded (no offline queue, 1 s) and the stranded-run sweep enqueues the run later.
 * Redis here is a private redis-server that the test stops, freezes and starts again.
 */
describe('run creation while Redis is down or frozen (private redis-server)', () => {
  let redis: PrivateRedis;
  let env: TestEnvironment;
  let api: TestApp;
  let worker: INestApplicationContext;
  let auth: string;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    env = await createTestEnvironment({
      REDIS_URL: redis.url,
      WORKER_ENABLED: 'false',
      RATE_LIMIT_PER_SECOND: '100', // the rate limiter is on the create path too: it must not wait for Redis
      SWEEP_INTERVAL_MS: '500',
      SWEEP_STALE_AFTER_MS: '1000',
    });
    api = await startTestApp(env.env);
    worker = await startTestWorker(env.env);
    auth = (await createTenant(api, 'outage')).auth;
  }, 60_000);

  afterAll(async () => {
    redis?.thaw();
    await worker?.close();
    await api?.close();
    await redis?.dispose();
    await env?.dispose();
  });

  const body = (n: number) => ({ input: { n }, steps: [{ name: 'double', skill: 'transform', params: { expression: 'input.n * 2' } }] });
  /** POST with a key; returns the response and how long it took. */
  const create = async (key: string, n: number) => {
    const started = Date.now();
    const res = await api.http.post('/v1/agents/outage/runs').set('Authorization', auth).set('Idempotency-Key', key).send(body(n));
    return { res, ms: Date.now() - started };
  };
  const succeeded = (id: string, timeoutMs = 20_000) =>
    waitFor(
      async () => {
        const run = (await api.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
        return run.status === 'succeeded' ? run : undefined;
      },
      timeoutMs,
      100,
    );

  it('runs a run while Redis is up; its BullMQ keys carry a Cluster hash tag under REDIS_PREFIX', async () => {
    const { res } = await create('up-1', 1);
    expect(res.status).toBe(202);
    expect((await succeeded(res.body.id)).output).toBe(2);
    const bull = (await redis.keys()).filter((k) => k.includes(':bull'));
    expect(bull.length).toBeGreaterThan(0);
    const prefix = bullmqPrefix(env.redisPrefix);
    expect(prefix).toMatch(/^[^{]+:\{[^}]+\}$/);
    // Every key of the queue: REDIS_PREFIX first, then the same {tag}, so one Cluster slot holds them all.
    for (const key of bull) expect(key.startsWith(`${prefix}:runs`)).toBe(true);
  }, 30_000);

  it('answers 202 within 2 s while Redis is stopped, and the run is executed once Redis is back', async () => {
    await redis.stop();
    const first = await create('down-1', 21);
    expect(first.res.status).toBe(202);
    expect(first.ms).toBeLessThan(2_000);
    expect(first.res.body.status).toBe('queued');
    // The same key again: the same run, still without Redis.
    const again = await create('down-1', 21);
    expect(again.res.status).toBe(202);
    expect(again.ms).toBeLessThan(2_000);
    expect(again.res.headers['idempotent-replayed']).toBe('true');
    expect(again.res.body.id).toBe(first.res.body.id);

    await redis.start(); // a fresh, empty Redis: the job was never written; the sweep enqueues the run
    const done = await succeeded(first.res.body.id, 30_000);
    expect(done.output).toBe(42);
    expect(done.attempts).toBe(1);
  }, 60_000);

  it('answers 202 within 2 s while Redis holds the connection but does not answer (frozen)', async () => {
    redis.freeze();
    let created: Awaited<ReturnType<typeof create>>;
    try {
      created = await create('frozen-1', 50);
    } finally {
      redis.thaw();
    }
    expect(created.res.status).toBe(202);
    expect(created.ms).toBeLessThan(2_000);
    expect((await succeeded(created.res.body.id, 30_000)).output).toBe(100);
  }, 60_000);
});
