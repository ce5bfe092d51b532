import { ADMIN_TOKEN, createTenant, createTestEnvironment, startTestApp, type TestApp, type TestEnvironment } from './support/test-app.js';

const PROBLEM = /^application\/problem\+json/;

describe('foundation: auth, tenants, problem+json (real PostgreSQL + Redis)', () => {
  let env: TestEnvironment;
  let t: TestApp;

  beforeAll(async () => {
    env = await createTestEnvironment({ MAX_BODY_BYTES: '2048', WORKER_ENABLED: 'false' });
    t = await startTestApp(env.env);
  });

  afterAll(async () => {
    await t?.close();
    await env?.dispose();
  });

  it('answers 401 problem+json to /v1 without a key, and lets a key made by the admin endpoint through', async () => {
    const anonymous = await t.http.get('/v1/runs').expect(401);
    expect(anonymous.headers['content-type']).toMatch(PROBLEM);
    expect(anonymous.body).toMatchObject({ type: 'unauthorized', status: 401, title: 'Unauthorized' });
    expect(anonymous.headers['www-authenticate']).toBe('Bearer');

    const tenant = await createTenant(t, 'acme');
    expect(tenant.apiKey).toMatch(/^ak_[A-Za-z0-9_-]{43}$/); // 256 random bits
    const ok = await t.http.get('/v1/runs').set('Authorization', tenant.auth).expect(200);
    expect(ok.body).toEqual({ data: [], next_cursor: null });
  });

  it('refuses unknown and malformed keys with 401', async () => {
    await t.http.get('/v1/runs').set('Authorization', 'Bearer ak_nope').expect(401);
    await t.http.get('/v1/runs').set('Authorization', 'Basic Zm9vOmJhcg==').expect(401);
    await t.http.get('/v1/runs').set('Authorization', 'Bearer').expect(401);
  });

  it('creates more keys for a tenant and revokes one at once', async () => {
    const tenant = await createTenant(t, 'revoker');
    const second = await t.http.post(`/admin/tenants/${tenant.id}/api-keys`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(201);
    expect(second.body).toEqual({ id: expect.any(String), api_key: expect.stringMatching(/^ak_/), created_at: expect.any(String) });
    await t.http.get('/v1/runs').set('Authorization', `Bearer ${second.body.api_key}`).expect(200);

    await t.http.delete(`/admin/api-keys/${second.body.id}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(204);
    await t.http.get('/v1/runs').set('Authorization', `Bearer ${second.body.api_key}`).expect(401);
    await t.http.get('/v1/runs').set('Authorization', tenant.auth).expect(200); // the other key still works
  });

  it('guards the admin endpoints with ADMIN_TOKEN and answers 404 for unknown tenants and keys', async () => {
    await t.http.post('/admin/tenants').send({ name: 'x' }).expect(401);
    await t.http.post('/admin/tenants').set('Authorization', 'Bearer wrong-token-wrong-token').send({ name: 'x' }).expect(401);
    const missing = await t.http
      .post('/admin/tenants/6b3c8f5e-8d4c-4f3e-9a7e-1d2c3b4a5f60/api-keys')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .expect(404);
    expect(missing.headers['content-type']).toMatch(PROBLEM);
    await t.http.delete('/admin/api-keys/6b3c8f5e-8d4c-4f3e-9a7e-1d2c3b4a5f60').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(404);
    await t.http.delete('/admin/api-keys/not-a-uuid').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(404);
    const invalid = await t.http
      .post('/admin/tenants')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ name: '', extra: 1 })
      .expect(400);
    expect(invalid.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'name' }), expect.objectContaining({ field: 'extra' })]),
    );
  });

  it('echoes a sane X-Request-Id and makes one otherwise, on success and on errors', async () => {
    const echoed = await t.http.get('/v1/runs').set('X-Request-Id', 'req-123').expect(401);
    expect(echoed.headers['x-request-id']).toBe('req-123');
    expect(echoed.body.request_id).toBe('req-123');
    const made = await t.http.get('/no-such-route').expect(404);
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(made.headers['content-type']).toMatch(PROBLEM);
    const insane = await t.http.get('/v1/runs').set('X-Request-Id', 'x'.repeat(300)).expect(401);
    expect(insane.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers malformed JSON with 400 and oversized bodies with 413, both problem+json without internals', async () => {
    const tenant = await createTenant(t, 'bodies');
    const malformed = await t.http
      .post('/v1/agents/a/runs')
      .set('Authorization', tenant.auth)
      .set('Content-Type', 'application/json')
      .send('{"steps": [')
      .expect(400);
    expect(malformed.headers['content-type']).toMatch(PROBLEM);
    expect(malformed.body).toMatchObject({ type: 'malformed-json', status: 400 });
    const huge = await t.http
      .post('/v1/agents/a/runs')
      .set('Authorization', tenant.auth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ steps: [], input: { blob: 'x'.repeat(5000) } }))
      .expect(413);
    expect(huge.headers['content-type']).toMatch(PROBLEM);
    expect(huge.body).toMatchObject({ type: 'payload-too-large', status: 413 });
    expect(JSON.stringify(huge.body)).not.toMatch(/stack|node_modules|at \w+ \(/);
  });
});

describe('admin endpoints without ADMIN_TOKEN', () => {
  let env: TestEnvironment;
  let t: TestApp;

  beforeAll(async () => {
    env = await createTestEnvironment({ WORKER_ENABLED: 'false' });
    const { ADMIN_TOKEN: _unset, ...rest } = env.env;
    t = await startTestApp(rest);
  });

  afterAll(async () => {
    await t?.close();
    await env?.dispose();
  });

  it('answers 404, as if they did not exist', async () => {
    const res = await t.http.post('/admin/tenants').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name: 'x' }).expect(404);
    expect(res.headers['content-type']).toMatch(PROBLEM);
  });
});
