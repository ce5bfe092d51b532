import type { Queue } from 'bullmq';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './support/env.js';
import { sha256, simpleCanonical } from './support/canonical.js';
import { runsQueue } from './support/queue.js';
import type { SideEffectServer } from './support/side-effect-server.js';
import { createTenant, type RunsHarness, startRunsHarness, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { spawnWorker } from './support/worker-process.js';

interface Run {
  id: string;
  status: string;
  attempts: number;
  output: unknown;
  error: { type: string; message: string; step_index?: number } | null;
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];

describe('run execution through BullMQ workers (real PostgreSQL + Redis)', () => {
  let h: RunsHarness;
  let env: TestEnvironment;
  let t: TestApp;
  let server: SideEffectServer;
  let auth: string;
  let queue: Queue;

  beforeAll(async () => {
    h = await startRunsHarness('exec', (s) => ({
      SKILL_HTTP_ALLOWED_HOSTS: `*,127.0.0.1:${s.port}`,
      RUN_RETRY_BACKOFF_MS: '50',
      WORKER_CONCURRENCY: '4',
    }));
    ({ env, app: t, server, auth } = h);
    queue = runsQueue(env.redisPrefix);
  });

  afterAll(async () => {
    await queue?.close();
    await h?.dispose();
  });

  const submit = async (steps: unknown[], input: unknown = {}, agent = 'agent-x', authorization = auth): Promise<Run> => {
    const res = await t.http.post(`/v1/agents/${agent}/runs`).set('Authorization', authorization).send({ input, steps }).expect(202);
    return res.body as Run;
  };
  const finished = (id: string, authorization = auth) =>
    waitFor(async () => {
      const res = await t.http.get(`/v1/runs/${id}`).set('Authorization', authorization).expect(200);
      return FINISHED.includes(res.body.status) ? (res.body as Run) : undefined;
    });
  const trace = async (id: string) => (await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body;

  it('runs http.request then a $ref transform, and records a trace with full canonical hashes', async () => {
    const run = await submit(
      [
        { name: 'fetch', skill: 'http.request', params: { url: `${server.url}/fixed`, method: 'GET' } },
        { name: 'sum', skill: 'transform', params: { expression: '$sum(steps[0].output.body.items) + input.bonus' } },
        {
          name: 'echo',
          skill: 'http.request',
          params: {
            url: `${server.url}/effect/echo`,
            method: 'POST',
            body: { total: { $ref: '/steps/1/output' }, who: { $ref: '/input/who' } },
          },
        },
      ],
      { bonus: 4, who: 'ada' },
    );
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
    const tr = await trace(run.id);
    expect(tr.run_id).toBe(run.id);
    expect(tr.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(tr.steps[0].output).toMatchObject({ status: 200, body: { value: 42, items: [1, 2, 3] } });
    expect(tr.steps[1].output).toBe(10);
    // params are recorded as resolved for this execution
    expect(tr.steps[2].params.body).toEqual({ total: 10, who: 'ada' });
    expect(JSON.parse(server.log.filter((l) => l.path === '/effect/echo').at(-1)!.body)).toEqual({ total: 10, who: 'ada' });
    for (const step of tr.steps) {
      expect(step.output_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(step.output_hash).toBe(sha256(simpleCanonical(step.output)));
      expect(step).toMatchObject({ executed: true, skipped: false, checked: false, from_cache: false, attempts: 1 });
      expect(step.duration_ms).toEqual(expect.any(Number));
    }
    expect(done.output).toEqual(tr.steps[2].output);
  });

  it('a step idempotency key shared by two runs calls the side effect once', async () => {
    const step = {
      name: 'charge',
      skill: 'http.request',
      params: { url: `${server.url}/effect/charge-1`, method: 'POST', body: { amount: 5 } },
      idempotency_key: 'charge-order-1',
    };
    const first = await finished((await submit([step])).id);
    const second = await finished((await submit([step])).id);
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    expect(server.hits('/effect/charge-1')).toBe(1);
    const [a, b] = [(await trace(first.id)).steps[0], (await trace(second.id)).steps[0]];
    expect(a).toMatchObject({ executed: true, from_cache: false });
    expect(b).toMatchObject({ executed: false, from_cache: true, output: a.output, output_hash: a.output_hash });
  });

  it('a completed step key survives the loss of the Redis step store (the trace is the durable record)', async () => {
    const step = {
      name: 'charge',
      skill: 'http.request',
      params: { url: `${server.url}/effect/charge-durable`, method: 'POST' },
      idempotency_key: 'charge-durable-1',
    };
    const first = await finished((await submit([step])).id);
    expect(first.status).toBe('succeeded');
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = await redis.keys(`${env.redisPrefix}:step-result:*charge-durable-1`);
      expect(keys).toHaveLength(1);
      await redis.del(...keys); // Redis restarted without persistence, say
    } finally {
      redis.disconnect();
    }
    const second = await finished((await submit([step])).id);
    expect(second.status).toBe('succeeded');
    expect(server.hits('/effect/charge-durable')).toBe(1);
    expect((await trace(second.id)).steps[0]).toMatchObject({ executed: false, from_cache: true });
  });

  it('the same step key with other params fails the step with idempotency_violation', async () => {
    const base = { name: 'refund', skill: 'http.request', idempotency_key: 'refund-7' };
    await finished((await submit([{ ...base, params: { url: `${server.url}/effect/refund`, method: 'POST', body: { amount: 1 } } }])).id);
    const other = await finished(
      (await submit([{ ...base, params: { url: `${server.url}/effect/refund`, method: 'POST', body: { amount: 2 } } }])).id,
    );
    expect(other.status).toBe('failed');
    expect(other.error).toMatchObject({ type: 'idempotency_violation', step_index: 0 });
    expect(server.hits('/effect/refund')).toBe(1);
  });

  it('two workers racing on one key call the side effect once (their executions overlap)', async () => {
    // This process's worker (concurrency 4) and a worker process (concurrency 4): 6 runs cannot all be
    // active without both holding some. The upstream holds its answer until all 6 are active at once.
    const other = await spawnWorker({ ...env.env, WORKER_CONCURRENCY: '4' });
    server.hold('/pay/race');
    try {
      const step = {
        name: 'charge',
        skill: 'http.request',
        params: { url: `${server.url}/pay/race`, method: 'POST' },
        idempotency_key: 'race-key-1',
      };
      const runs = await Promise.all(Array.from({ length: 6 }, () => submit([step])));
      const ids = new Set(runs.map((r) => r.id));
      const holders = await waitFor(async () => {
        const active = (await queue.getActive()).filter((j) => ids.has(j.id!));
        return active.length === 6 ? new Set(active.map((j) => j.processedBy)) : undefined;
      }, 30_000);
      expect(holders).toEqual(new Set([`${hostname()}:${process.pid}`, other.name]));
      // one step is in flight (its running row is written after its claim, before the skill runs); the
      // other five wait on the claim (no running row yet) while their six jobs are active at once
      await waitFor(async () => {
        const statuses = await Promise.all(runs.map(async (r) => (await trace(r.id)).steps[0].status));
        return statuses.filter((s) => s === 'running').length === 1 && statuses.filter((s) => s === 'pending').length === 5
          ? true
          : undefined;
      }, 30_000);
      expect((await queue.getActive()).filter((j) => ids.has(j.id!))).toHaveLength(6);
      // the running row is written before the request leaves: wait for it to arrive (held by the upstream)
      await waitFor(async () => (server.hits('/pay/race') >= 1 ? true : undefined), 10_000);
      expect(server.hits('/pay/race')).toBe(1);
      const releasedAt = Date.now();
      server.release('/pay/race');
      const done = await Promise.all(runs.map((r) => finished(r.id)));
      expect(done.map((r) => r.status)).toEqual(Array(6).fill('succeeded'));
      expect(server.hits('/pay/race')).toBe(1);
      const steps = await Promise.all(runs.map(async (r) => (await trace(r.id)).steps[0]));
      const executed = steps.filter((s) => s.executed);
      expect(executed).toHaveLength(1);
      expect(steps.filter((s) => s.from_cache)).toHaveLength(5);
      expect(new Set(steps.map((s) => s.output_hash)).size).toBe(1);
      // every waiting step started before the executing one finished, and finished only after the upstream answered
      for (const s of steps.filter((x) => x.from_cache)) {
        expect(Date.parse(s.started_at)).toBeLessThan(Date.parse(executed[0].finished_at));
        expect(Date.parse(s.finished_at)).toBeGreaterThanOrEqual(releasedAt - 5);
      }
    } finally {
      server.release('/pay/race');
      await other.kill('SIGTERM');
    }
  }, 60_000);

  it('retries a retryable failure with backoff (status retry) and finishes once it passes', async () => {
    const run = await submit([
      { name: 'once', skill: 'http.request', params: { url: `${server.url}/effect/before-flaky`, method: 'POST' } },
      { name: 'flaky', skill: 'http.request', params: { url: `${server.url}/flaky/a?fail=2` } },
    ]);
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3, error: null });
    expect(server.hits('/flaky/a')).toBe(3);
    expect(server.hits('/effect/before-flaky')).toBe(1); // finished steps never run twice
    const tr = await trace(run.id);
    expect(tr.steps[0].attempts).toBe(1);
    expect(tr.steps[1].attempts).toBe(3);
  });

  it('fails the run after RUN_MAX_ATTEMPTS retryable failures, with the step in error', async () => {
    const done = await finished(
      (
        await submit([
          { name: 'down', skill: 'http.request', params: { url: `${server.url}/flaky/b?fail=99` } },
          { name: 'never', skill: 'delay', params: { ms: 1 } },
        ])
      ).id,
    );
    expect(done).toMatchObject({ status: 'failed', attempts: 3, error: { type: 'step_failed', step_index: 0 } });
    expect(server.hits('/flaky/b')).toBe(3);
    const tr = await trace(done.id);
    expect(tr.steps.map((s: { status: string }) => s.status)).toEqual(['failed', 'cancelled']);
  });

  it('refuses loopback, metadata and private targets unless listed, also after DNS and redirects', async () => {
    const cases = [
      `http://localhost:${server.port}/effect/ssrf-dns`, // DNS name resolving to loopback, not listed
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:9/',
      // other spellings of loopback (on a port that is not listed; the listed 127.0.0.1:<port> is allowed in any spelling)
      'http://[::ffff:127.0.0.1]:9/', // IPv4-mapped IPv6
      'http://[::ffff:7f00:1]:9/',
      'http://2130706433:9/', // 127.0.0.1 as one decimal number
      'http://0x7f.1:9/', // hex shorthand
      'http://0.0.0.0:9/',
      'http://[fd00:ec2::254]/latest/meta-data/', // IPv6 metadata address
      'http://100.100.100.200/', // CGNAT range (a cloud's metadata address)
      'http://10.0.0.1/',
      `${server.url}/redirect?to=${encodeURIComponent(`http://127.0.0.2:${server.port}/effect/ssrf-redirect`)}`,
    ];
    for (const url of cases) {
      const done = await finished((await submit([{ name: 'ssrf', skill: 'http.request', params: { url } }])).id);
      expect(done.status).toBe('failed');
      expect(done.attempts).toBe(1); // refusals are not retried
      expect(done.error?.message).toMatch(/refused/);
    }
    expect(server.hits('/effect/ssrf-dns')).toBe(0);
    expect(server.hits('/effect/ssrf-redirect')).toBe(0);
  });

  it('fails a step whose output JSON cannot represent exactly (lone surrogate) with a clear error', async () => {
    const done = await finished(
      (await submit([{ name: 'bad', skill: 'http.request', params: { url: `${server.url}/lone-surrogate` } }])).id,
    );
    expect(done).toMatchObject({ status: 'failed', attempts: 1 });
    expect(done.error?.message).toMatch(/cannot be represented exactly as JSON.*surrogate/i);
  });

  it('cancels a running run: the running step may finish, no further step starts; finished runs answer 409', async () => {
    server.hold('/pay/cancel-running'); // the first step runs until the test lets the upstream answer
    const run = await submit([
      { name: 'wait', skill: 'http.request', params: { url: `${server.url}/pay/cancel-running`, method: 'POST' } },
      { name: 'after', skill: 'http.request', params: { url: `${server.url}/effect/after-cancel`, method: 'POST' } },
    ]);
    await server.waitForHit('/pay/cancel-running');
    const cancelled = await t.http.post(`/v1/runs/${run.id}/cancel`).set('Authorization', auth).expect(202);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', error: { type: 'cancelled' } });
    server.release('/pay/cancel-running');
    // the worker is done with the run once its job is gone (it finished the running step, saw the cancel, returned)
    await waitFor(async () => ((await queue.getJob(run.id)) ? undefined : true));
    expect(server.hits('/effect/after-cancel')).toBe(0);
    const tr = await trace(run.id);
    expect(tr.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'cancelled']);
    expect((await t.http.get(`/v1/runs/${run.id}`).set('Authorization', auth)).body.status).toBe('cancelled');
    const again = await t.http.post(`/v1/runs/${run.id}/cancel`).set('Authorization', auth).expect(409);
    expect(again.headers['content-type']).toMatch(/problem\+json/);
  });

  it('lists runs newest first with an opaque cursor and filters, per tenant', async () => {
    const mine = (await createTenant(t, 'lister')).auth;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await submit([{ name: 'n', skill: 'delay', params: { ms: 0 } }], {}, i % 2 ? 'odd' : 'even', mine)).id);
    await Promise.all(ids.map((id) => finished(id, mine)));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: Array<{ id: string }>; next_cursor: string | null } } = await t.http
        .get(`/v1/runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set('Authorization', mine)
        .expect(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((r) => r.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const odd = await t.http.get('/v1/runs?agent_id=odd&status=succeeded').set('Authorization', mine).expect(200);
    expect(odd.body.data.map((r: { id: string }) => r.id)).toEqual([ids[3], ids[1]]);
    const empty = await t.http.get('/v1/runs?agent_id=&status=&limit=&cursor=').set('Authorization', mine).expect(200); // empty = no filter
    expect(empty.body.data).toHaveLength(5);
    await t.http.get('/v1/runs?limit=0').set('Authorization', mine).expect(400);
    await t.http.get('/v1/runs?limit=101').set('Authorization', mine).expect(400);
    await t.http.get('/v1/runs?status=done').set('Authorization', mine).expect(400);
    await t.http.get('/v1/runs?cursor=not-a-cursor').set('Authorization', mine).expect(400);
    await t.http.get(`/v1/runs/${ids[0]}/trace`).set('Authorization', auth).expect(404); // another tenant
    await t.http.get('/v1/runs/not-a-uuid').set('Authorization', mine).expect(404);
  });
});
