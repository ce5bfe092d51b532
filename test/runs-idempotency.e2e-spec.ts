import { Queue } from 'bullmq';
import { bullmqPrefix } from '../src/infra/queue/run-queue.port.js';
import { TEST_REDIS_URL } from './support/env.js';
import { createTenant, createTestEnvironment, ManualClock, startTestApp, type TestApp, type TestEnvironment } from './support/test-app.js';

const body = (n = 1) => ({
  input: { order: n, tags: ['a', 'b'] },
  steps: [{ name: 'compute', skill: 'transform', params: { expression: 'input.order * 2' } }],
  metadata: { source: 'checkout' },
});

/**
 * Run creation and its idempotency, against real PostgreSQL and Redis. The worker is off here, so
 * the BullMQ queue shows exactly which jobs were enqueued.
 */
describe('POST /v1/agents/{agent_id}/runs: idempotency', () => {
  let env: TestEnvironment;
  let t: TestApp;
  let queue: Queue;
  const clock = new ManualClock();
  let auth: string;

  beforeAll(async () => {
    env = await createTestEnvironment({ WORKER_ENABLED: 'false', IDEMPOTENCY_TTL_SECONDS: '3600' });
    t = await startTestApp(env.env, { clock });
    auth = (await createTenant(t, 'idem')).auth;
    queue = new Queue('runs', { connection: { url: TEST_REDIS_URL }, prefix: bullmqPrefix(env.redisPrefix) });
  });

  afterAll(async () => {
    await queue?.close();
    await t?.close();
    await env?.dispose();
  });

  const create = (agent: string, key: string | null, payload: unknown, authorization = auth) => {
    const req = t.http.post(`/v1/agents/${agent}/runs`).set('Authorization', authorization);
    if (key !== null) req.set('Idempotency-Key', key);
    return req.send(payload as object);
  };

  const jobIds = async () => (await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized'])).map((j) => j.id);

  it('creates a queued run: 202, Location, the Run object, one job with the run id', async () => {
    const res = await create('agent-1', 'create-1', body()).expect(202);
    expect(res.headers.location).toBe(`/v1/runs/${res.body.id}`);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      agent_id: 'agent-1',
      status: 'queued',
      idempotency_key: 'create-1',
      input: { order: 1, tags: ['a', 'b'] },
      metadata: { source: 'checkout' },
      output: null,
      error: null,
      attempts: 0,
      replay_of: null,
      replay: null,
      created_at: expect.any(String),
      started_at: null,
      finished_at: null,
    });
    expect(await jobIds()).toContain(res.body.id);
  });

  it('replays the same key and body: same run, Idempotent-Replayed, no new job', async () => {
    const first = await create('agent-1', 'replay-1', body(7)).expect(202);
    const jobsBefore = (await jobIds()).length;
    const second = await create('agent-1', 'replay-1', body(7)).expect(202);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.location).toBe(`/v1/runs/${first.body.id}`);
    expect((await jobIds()).length).toBe(jobsBefore);
  });

  it('treats reordered keys and other whitespace as the same body (RFC 8785)', async () => {
    const first = await create('agent-1', 'reorder-1', body(3)).expect(202);
    const reordered =
      '{ "metadata": {"source":"checkout"},\n "steps":[{"params":{"expression":"input.order * 2"},"skill":"transform","name":"compute"}],  "input":{"tags":["a","b"],"order":3} }';
    const second = await t.http
      .post('/v1/agents/agent-1/runs')
      .set('Authorization', auth)
      .set('Idempotency-Key', 'reorder-1')
      .set('Content-Type', 'application/json')
      .send(reordered)
      .expect(202);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers['idempotent-replayed']).toBe('true');
  });

  it('refuses the same key with another body: 422 idempotency-key-reused, no new run', async () => {
    const first = await create('agent-1', 'reuse-1', body(1)).expect(202);
    const res = await create('agent-1', 'reuse-1', body(2)).expect(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'idempotency-key-reused', status: 422 });
    const list = await t.http.get('/v1/runs?agent_id=agent-1&limit=100').set('Authorization', auth).expect(200);
    expect(
      list.body.data.filter((r: { idempotency_key: string }) => r.idempotency_key === 'reuse-1').map((r: { id: string }) => r.id),
    ).toEqual([first.body.id]);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['non-ASCII', 'clé'],
    ['control character', 'a\tb'],
  ])('refuses a bad Idempotency-Key (%s) with 400', async (_label, key) => {
    const req = t.http.post('/v1/agents/agent-1/runs').set('Authorization', auth);
    // superagent refuses some header values itself; send raw bytes where needed
    const res = await req
      .set('Idempotency-Key', Buffer.from(key, 'latin1').toString('latin1'))
      .send(body())
      .catch((e: { response: unknown }) => e.response);
    expect((res as { status: number }).status).toBe(400);
    expect((res as { body: { type: string } }).body.type).toBe('invalid-idempotency-key');
  });

  it('accepts a 255-character key', async () => {
    await create('agent-1', 'k'.repeat(255), body()).expect(202);
  });

  it('keeps keys apart across tenants and agents', async () => {
    const other = (await createTenant(t, 'other')).auth;
    const a = await create('agent-1', 'shared-key', body()).expect(202);
    const b = await create('agent-2', 'shared-key', body()).expect(202);
    const c = await create('agent-1', 'shared-key', body(), other).expect(202);
    expect(new Set([a.body.id, b.body.id, c.body.id]).size).toBe(3);
    for (const res of [a, b, c]) expect(res.headers['idempotent-replayed']).toBeUndefined();
    // the other tenant cannot see the first tenant's run
    await t.http.get(`/v1/runs/${a.body.id}`).set('Authorization', other).expect(404);
  });

  it('frees a key once IDEMPOTENCY_TTL_SECONDS has passed (injected clock)', async () => {
    const first = await create('agent-1', 'ttl-1', body()).expect(202);
    clock.advance(3_599_000);
    const stillLive = await create('agent-1', 'ttl-1', body()).expect(202);
    expect(stillLive.body.id).toBe(first.body.id);
    clock.advance(2_000);
    const fresh = await create('agent-1', 'ttl-1', body(99)).expect(202); // even another body: the key is free
    expect(fresh.body.id).not.toBe(first.body.id);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    const replay = await create('agent-1', 'ttl-1', body(99)).expect(202);
    expect(replay.body.id).toBe(fresh.body.id);
  });

  it('the sweep deletes expired keys, and never a live one', async () => {
    const { RUN_EXECUTION_ORCHESTRATOR } = await import('../src/spine/orchestrator/orchestrator.tokens.js');
    const orchestrator = t.app.get<{ purgeExpiredKeys(): Promise<number> }>(RUN_EXECUTION_ORCHESTRATOR);
    await create('agent-purge', 'purge-old', body()).expect(202);
    clock.advance(3_601_000);
    const live = await create('agent-purge', 'purge-live', body()).expect(202);
    expect(await orchestrator.purgeExpiredKeys()).toBeGreaterThanOrEqual(1);
    const again = await create('agent-purge', 'purge-live', body()).expect(202);
    expect(again.body.id).toBe(live.body.id); // the live key still replays
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('stores nothing under a key when validation refuses the request', async () => {
    await create('agent-1', 'invalid-first', { steps: [{ name: 'x', skill: 'no.such.skill' }] }).expect(400);
    await create('agent-1', 'invalid-first', { steps: [] }).expect(400);
    const ok = await create('agent-1', 'invalid-first', body()).expect(202);
    expect(ok.headers['idempotent-replayed']).toBeUndefined();
  });

  it("lets a cancelled run's key run the same request again (and still refuses another body)", async () => {
    const first = await create('agent-1', 'cancel-1', body()).expect(202);
    await t.http.post(`/v1/runs/${first.body.id}/cancel`).set('Authorization', auth).expect(202);
    await create('agent-1', 'cancel-1', body(2)).expect(422);
    const again = await create('agent-1', 'cancel-1', body()).expect(202);
    expect(again.body.id).not.toBe(first.body.id);
    expect(again.body.status).toBe('queued');
  });

  it('200 concurrent creates with one key make exactly one run and one job, and no 5xx', async () => {
    const jobsBefore = new Set(await jobIds());
    const responses = await Promise.all(Array.from({ length: 200 }, () => create('storm', 'storm-key', body(5))));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    // The contract allows 409 here; this design never needs it: a racing request waits on the key
    // row and then replays the committed run.
    expect(statuses.every((s) => s === 202)).toBe(true);
    const accepted = responses.filter((r) => r.status === 202);
    const runIds = new Set(accepted.map((r) => r.body.id));
    expect(runIds.size).toBe(1);
    expect(accepted.filter((r) => r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    for (const r of responses.filter((x) => x.status === 409)) expect(r.headers['retry-after']).toBeDefined();
    const list = await t.http.get('/v1/runs?agent_id=storm&limit=100').set('Authorization', auth).expect(200);
    expect(list.body.data).toHaveLength(1);
    const newJobs = (await jobIds()).filter((id) => !jobsBefore.has(id));
    expect(newJobs).toEqual([...runIds]);
  });

  it('validates the body and the agent id with 400 problem+json naming the fields', async () => {
    const bad = await create('agent-1', null, {
      steps: [{ name: 'x', skill: 'transform', params: { expression: '(' }, replay_behavior: 'sometimes', extra: 1 }],
      unknown: true,
    }).expect(400);
    const fields = bad.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['unknown', 'steps[0].replay_behavior', 'steps[0].extra']));
    const agent = await create('bad agent!', null, body()).expect(400);
    expect(agent.body.errors[0].field).toBe('agent_id');
    const ref = await create('agent-1', null, {
      steps: [{ name: 'a', skill: 'delay', params: { ms: { $ref: '/steps/0/output' } } }],
    }).expect(400);
    expect(ref.body.errors[0]).toMatchObject({ field: 'steps[0].params.ms' });
    const expr = await create('agent-1', null, { steps: [{ name: 'a', skill: 'transform', params: { expression: '(' } }] }).expect(400);
    expect(expr.body.errors[0]).toMatchObject({ field: 'steps[0].params.expression' });
  });

  it('requires the key when IDEMPOTENCY_KEY_REQUIRED=true', async () => {
    const strict = await startTestApp({ ...env.env, IDEMPOTENCY_KEY_REQUIRED: 'true' });
    try {
      const res = await strict.http.post('/v1/agents/agent-1/runs').set('Authorization', auth).send(body()).expect(400);
      expect(res.body.type).toBe('idempotency-key-required');
    } finally {
      await strict.close();
    }
  });
});
