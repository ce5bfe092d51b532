import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import pg from 'pg';
import { sha256, simpleCanonical } from './support/canonical.js';
import { runsQueue } from './support/queue.js';
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
  let tenantId: string;
  let db: pg.Client;

  beforeAll(async () => {
    env = await createTestEnvironment({ WORKER_ENABLED: 'false', IDEMPOTENCY_TTL_SECONDS: '3600' });
    t = await startTestApp(env.env, { clock });
    ({ auth, id: tenantId } = await createTenant(t, 'idem'));
    queue = runsQueue(env.redisPrefix);
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
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
      usage: null,
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

  it('the sweep deletes exactly the expired keys, and never a live one', async () => {
    const { MAINTENANCE_ORCHESTRATOR } = await import('../src/spine/orchestrator/orchestrator.tokens.js');
    const orchestrator = t.app.get<{ purgeExpiredKeys(): Promise<number> }>(MAINTENANCE_ORCHESTRATOR);
    const keyRows = async (agent: string) =>
      (await db.query<{ key: string }>('SELECT key FROM run_idempotency_keys WHERE agent_id = $1 ORDER BY key', [agent])).rows.map(
        (r) => r.key,
      );
    clock.advance(3_601_000); // every key made so far in this file has expired: purge them first
    while ((await orchestrator.purgeExpiredKeys()) > 0);
    for (const key of ['purge-old-1', 'purge-old-2', 'purge-old-3']) await create('agent-purge', key, body()).expect(202);
    clock.advance(3_601_000);
    const live = await create('agent-purge', 'purge-live', body()).expect(202);
    expect(await keyRows('agent-purge')).toEqual(['purge-live', 'purge-old-1', 'purge-old-2', 'purge-old-3']);
    expect(await orchestrator.purgeExpiredKeys()).toBe(3);
    expect(await keyRows('agent-purge')).toEqual(['purge-live']);
    expect(await orchestrator.purgeExpiredKeys()).toBe(0);
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

  it('replays a cancelled run under its key (no new run, no new job); another body is still refused', async () => {
    const first = await create('agent-1', 'cancel-1', body()).expect(202);
    const cancelled = await t.http.post(`/v1/runs/${first.body.id}/cancel`).set('Authorization', auth).expect(202);
    expect(cancelled.body).toMatchObject({ id: first.body.id, status: 'cancelled', error: { type: 'cancelled' } });
    const jobsBefore = await jobIds();
    const again = await create('agent-1', 'cancel-1', body()).expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(`/v1/runs/${first.body.id}`);
    expect(again.body).toEqual(cancelled.body);
    await create('agent-1', 'cancel-1', body(2)).expect(422);
    expect(await jobIds()).toEqual(jobsBefore);
    const list = await t.http.get('/v1/runs?agent_id=agent-1&limit=100').set('Authorization', auth).expect(200);
    expect(list.body.data.filter((r: { idempotency_key: string }) => r.idempotency_key === 'cancel-1')).toHaveLength(1);
  });

  it('shows every step of a run cancelled while queued as cancelled, and the default step name (the skill)', async () => {
    const run = await create('agent-1', null, {
      steps: [
        { skill: 'transform', params: { expression: '1' } },
        { name: 'named', skill: 'delay', params: { ms: 1 } },
      ],
    }).expect(202);
    const queued = (await t.http.get(`/v1/runs/${run.body.id}/trace`).set('Authorization', auth).expect(200)).body;
    expect(queued.steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['transform', 'pending'],
      ['named', 'pending'],
    ]);
    await t.http.post(`/v1/runs/${run.body.id}/cancel`).set('Authorization', auth).expect(202);
    const trace = (await t.http.get(`/v1/runs/${run.body.id}/trace`).set('Authorization', auth).expect(200)).body;
    expect(trace.steps.map((s: { name: string; status: string; executed: boolean }) => [s.name, s.status, s.executed])).toEqual([
      ['transform', 'cancelled', false],
      ['named', 'cancelled', false],
    ]);
  });

  it("answers 404 to a cancel of another tenant's run and leaves the run as it was", async () => {
    const run = await create('agent-1', null, body()).expect(202);
    const stranger = (await createTenant(t, 'stranger')).auth;
    const res = await t.http.post(`/v1/runs/${run.body.id}/cancel`).set('Authorization', stranger).expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await t.http.get(`/v1/runs/${run.body.id}`).set('Authorization', auth).expect(200)).body.status).toBe('queued');
    await t.http.post(`/v1/runs/${run.body.id}/cancel`).set('Authorization', auth).expect(202);
  });

  /** Sends a create; on 409 waits Retry-After (as a client must) and sends it again, until another answer. */
  const createRetrying = async (agent: string, key: string, payload: unknown) => {
    const conflicts: Array<{ retryAfter: string | undefined; type: string }> = [];
    for (;;) {
      const res = await create(agent, key, payload);
      if (res.status !== 409) return { res, conflicts };
      conflicts.push({ retryAfter: res.headers['retry-after'], type: res.body.type });
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      await new Promise((r) => setTimeout(r, Number(res.headers['retry-after']) * 1000));
    }
  };

  it('200 concurrent creates with one key make exactly one run and one job, and no 5xx', async () => {
    const jobsBefore = new Set(await jobIds());
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => createRetrying('storm', 'storm-key', body(5))));
    const responses = outcomes.map((o) => o.res);
    // the final answer of every client is 202 (a 409 is retried after its Retry-After)
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(202));
    for (const o of outcomes) for (const c of o.conflicts) expect(c.type).toBe('idempotency-request-in-progress');
    const runIds = new Set(responses.map((r) => r.body.id));
    expect(runIds.size).toBe(1);
    expect(responses.filter((r) => r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    const list = await t.http.get('/v1/runs?agent_id=storm&limit=100').set('Authorization', auth).expect(200);
    expect(list.body.data).toHaveLength(1);
    const newJobs = (await jobIds()).filter((id) => !jobsBefore.has(id));
    expect(newJobs).toEqual([...runIds]);
  });

  it('a create whose key is held by a create still in progress answers 409 with Retry-After; retried as told, it gets that run', async () => {
    // Another API process is inside its create of this key (its statement has not committed yet).
    const payload = body(11);
    const runId = randomUUID();
    const holder = new pg.Client({ connectionString: env.db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `INSERT INTO runs (id, tenant_id, agent_id, status, idempotency_key, input, steps, metadata, created_at, updated_at)
         VALUES ($1, $2, 'agent-held', 'queued', 'held-key', $3, $4, $5, now(), now())`,
        [runId, tenantId, JSON.stringify(payload.input), JSON.stringify(payload.steps), JSON.stringify(payload.metadata)],
      );
      await holder.query(
        `INSERT INTO run_idempotency_keys (tenant_id, agent_id, key, fingerprint, run_id, created_at, expires_at)
         VALUES ($1, 'agent-held', 'held-key', $2, $3, $4, $5)`,
        [tenantId, sha256(simpleCanonical(payload)), runId, clock.now(), new Date(clock.now().getTime() + 3_600_000)],
      );
      const clients = Array.from({ length: 5 }, () => createRetrying('agent-held', 'held-key', payload));
      // every client is answered 409 at least once while the holder has not committed; then it commits
      await new Promise((r) => setTimeout(r, 5_000));
      await holder.query('COMMIT');
      const outcomes = await Promise.all(clients);
      for (const { res, conflicts } of outcomes) {
        expect(conflicts.length).toBeGreaterThanOrEqual(1);
        expect(conflicts[0]).toEqual({ retryAfter: '1', type: 'idempotency-request-in-progress' });
        expect(res.status).toBe(202);
        expect(res.body.id).toBe(runId);
        expect(res.headers['idempotent-replayed']).toBe('true');
      }
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    const runs = await db.query('SELECT id FROM runs WHERE agent_id = $1', ['agent-held']);
    expect(runs.rows).toEqual([{ id: runId }]);
  }, 30_000);

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
