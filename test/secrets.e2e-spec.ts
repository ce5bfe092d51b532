import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { spawnApi, type ApiProcess } from './support/api-process.js';
import { sha256, simpleCanonical } from './support/canonical.js';
import { startEchoServer, type EchoServer } from './support/echo-server.js';
import { TEST_REDIS_URL } from './support/env.js';
import { ADMIN_TOKEN, createTestEnvironment, startTestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

const unique = () => randomBytes(6).toString('hex');

/** Values that must never come back: secrets, old and new, and the literal credentials a plan holds. */
const STRIPE_V1 = `sk_live_v1_${unique()}`;
const STRIPE_V2 = `sk_live_v2_${unique()}`;
const SIGNING = `sig_${unique()}`;
const DOOMED = `doomed_${unique()}`;
const OTHER_TENANT = `other_tenant_${unique()}`;
const LIT_COOKIE = `cookie_${unique()}`;
const LIT_API_KEY = `apikey_${unique()}`;
const LIT_QUERY = `query_${unique()}`;
const NEVER_SHOWN = [STRIPE_V1, STRIPE_V2, SIGNING, DOOMED, OTHER_TENANT, LIT_COOKIE, LIT_API_KEY, LIT_QUERY];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/**
 * Secrets end to end, on real processes: an API process and a worker process (stdout and stderr
 * captured), PostgreSQL, Redis, and loopback upstreams that echo what they receive. The upstream gets
 * the real values; no API response, trace, replay report, stored row or log line holds them.
 */
describe('secrets: by reference, encrypted at rest, never echoed', () => {
  let env: TestEnvironment;
  let api: ApiProcess;
  let worker: WorkerProcess;
  let up: EchoServer;
  let away: EchoServer;
  let db: pg.Client;
  const answers: string[] = [];
  let authA: string;
  let authB: string;
  let tenantA: string;

  const call = async (method: string, path: string, options: { auth?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        ...(options.auth ? { authorization: options.auth } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
    const answer: Answer = {
      status: res.status,
      headers: res.headers,
      text,
      body: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : null,
    };
    return answer;
  };
  const expectStatus = (answer: Answer, status: number) => {
    if (answer.status !== status) throw new Error(`expected ${status}, got ${answer.status}: ${answer.text}`);
    return answer;
  };
  const submit = async (auth: string, steps: unknown[], headers: Record<string, string> = {}) =>
    call('POST', '/v1/agents/secretive/runs', { auth, body: { steps }, headers });
  const settled = (auth: string, id: string) =>
    waitFor(
      async () => {
        const run = expectStatus(await call('GET', `/v1/runs/${id}`, { auth }), 200).body;
        return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
      },
      40_000,
      100,
    );
  const trace = async (auth: string, id: string) => expectStatus(await call('GET', `/v1/runs/${id}/trace`, { auth }), 200).body;

  beforeAll(async () => {
    up = await startEchoServer();
    away = await startEchoServer();
    env = await createTestEnvironment({
      SECRETS_KEY: randomBytes(32).toString('base64'),
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${up.port},127.0.0.1:${away.port}`,
      RUN_RETRY_BACKOFF_MS: '100',
      LOG_LEVEL: 'debug',
      LOG_REQUESTS: 'true',
    });
    api = await spawnApi({ ...env.env, WORKER_ENABLED: 'false' });
    worker = await spawnWorker(env.env);
    const tenant = async (name: string) => {
      const res = expectStatus(await call('POST', '/admin/tenants', { auth: `Bearer ${ADMIN_TOKEN}`, body: { name } }), 201);
      return { id: res.body.id as string, auth: `Bearer ${res.body.api_key as string}` };
    };
    ({ id: tenantA, auth: authA } = await tenant('alpha'));
    ({ auth: authB } = await tenant('beta'));
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await worker?.kill('SIGTERM');
    await api?.stop();
    await up?.close();
    await away?.close();
    await env?.dispose();
  });

  it('PUT stores a secret (204), GET lists names and dates only, per tenant', async () => {
    expectStatus(await call('PUT', '/v1/secrets/stripe', { auth: authA, body: { value: STRIPE_V1 } }), 204);
    expectStatus(await call('PUT', '/v1/secrets/signing.key', { auth: authA, body: { value: SIGNING } }), 204);
    expectStatus(await call('PUT', '/v1/secrets/stripe', { auth: authB, body: { value: OTHER_TENANT } }), 204);
    const listA = expectStatus(await call('GET', '/v1/secrets', { auth: authA }), 200).body;
    expect(listA.data.map((s: { name: string }) => s.name)).toEqual(['signing.key', 'stripe']);
    for (const s of listA.data) {
      expect(Object.keys(s).sort()).toEqual(['created_at', 'name', 'updated_at']);
      expect(new Date(s.created_at).toISOString()).toBe(s.created_at);
    }
    expect(expectStatus(await call('GET', '/v1/secrets', { auth: authB }), 200).body.data.map((s: { name: string }) => s.name)).toEqual([
      'stripe',
    ]);
  });

  it('a replaced secret keeps created_at and moves updated_at', async () => {
    const before = (await call('GET', '/v1/secrets', { auth: authA })).body.data.find((s: { name: string }) => s.name === 'stripe');
    await new Promise((r) => setTimeout(r, 20));
    expectStatus(await call('PUT', '/v1/secrets/stripe', { auth: authA, body: { value: STRIPE_V1 } }), 204);
    const after = (await call('GET', '/v1/secrets', { auth: authA })).body.data.find((s: { name: string }) => s.name === 'stripe');
    expect(after.created_at).toBe(before.created_at);
    expect(new Date(after.updated_at).getTime()).toBeGreaterThan(new Date(before.updated_at).getTime());
  });

  it('values are encrypted at rest: AES-256-GCM with a 96-bit IV, the key id beside each value', async () => {
    const { rows } = await db.query('SELECT tenant_id, name, key_id, iv, ciphertext, auth_tag FROM tenant_secrets ORDER BY name');
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.key_id).toMatch(/^[0-9a-f]{16}$/);
      expect((row.iv as Buffer).length).toBe(12);
      expect((row.auth_tag as Buffer).length).toBe(16);
    }
    const dump = JSON.stringify(rows) + rows.map((r) => (r.ciphertext as Buffer).toString('latin1')).join('');
    for (const value of [STRIPE_V1, SIGNING, OTHER_TENANT]) expect(dump).not.toContain(value);
  });

  it('another tenant can neither use, delete nor list a secret: unknown names are 400 at submission', async () => {
    const refused = expectStatus(
      await submit(authB, [
        { skill: 'http.request', name: 'x', params: { url: `${up.url}/echo`, headers: { authorization: { $secret: 'signing.key' } } } },
      ]),
      400,
    );
    expect(refused.body.errors).toEqual([{ field: 'steps[0].params.headers.authorization', message: 'unknown secret "signing.key"' }]);
    expect(expectStatus(await call('DELETE', '/v1/secrets/signing.key', { auth: authB }), 404).headers.get('content-type')).toMatch(
      /^application\/problem\+json/,
    );
    expect(up.received).toHaveLength(0);
  });

  let mainRun: string;

  it('the upstream receives the real values; the trace shows [secret:<name>] and [redacted]; output_hash is over what is shown', async () => {
    const created = expectStatus(
      await submit(authA, [
        {
          name: 'call',
          skill: 'http.request',
          params: {
            method: 'POST',
            url: `${up.url}/echo/main?api_key=${LIT_QUERY}&keep=1`,
            headers: {
              Authorization: { $secret: 'stripe' },
              Cookie: `sid=${LIT_COOKIE}`,
              'X-Api-Key': LIT_API_KEY,
              'X-Signature': { $secret: 'signing.key' },
              'X-Plain': 'visible',
            },
            body: { token: { $secret: 'stripe' }, note: 'hello' },
          },
        },
        { name: 'downstream', skill: 'transform', params: { expression: 'steps[0].output.body.headers' } },
      ]),
      202,
    );
    mainRun = created.body.id;
    const run = await settled(authA, mainRun);
    expect(run.status).toBe('succeeded');

    const [got] = up.at('/echo/main');
    expect(got.headers.authorization).toBe(STRIPE_V1);
    expect(got.headers['x-signature']).toBe(SIGNING);
    expect(got.headers.cookie).toBe(`sid=${LIT_COOKIE}`);
    expect(got.headers['x-api-key']).toBe(LIT_API_KEY);
    expect(got.url).toBe(`/echo/main?api_key=${LIT_QUERY}&keep=1`);
    expect(JSON.parse(got.body)).toEqual({ token: STRIPE_V1, note: 'hello' });

    const steps = (await trace(authA, mainRun)).steps;
    expect(steps[0].params).toEqual({
      method: 'POST',
      url: `${up.url}/echo/main?api_key=[redacted]&keep=1`,
      headers: {
        Authorization: '[secret:stripe]',
        Cookie: '[redacted]',
        'X-Api-Key': '[redacted]',
        'X-Signature': '[secret:signing.key]',
        'X-Plain': 'visible',
      },
      body: { token: '[secret:stripe]', note: 'hello' },
    });
    const output = steps[0].output;
    expect(output.headers['set-cookie']).toBe('[redacted]');
    expect(output.body.url).toBe('/echo/main?api_key=[redacted]&keep=1');
    expect(output.body.headers).toMatchObject({
      authorization: '[secret:stripe]',
      'x-signature': '[secret:signing.key]',
      cookie: '[redacted]',
      'x-api-key': '[redacted]',
      'x-plain': 'visible',
    });
    expect(JSON.parse(output.body.body)).toEqual({ token: '[secret:stripe]', note: 'hello' });
    expect(steps[0].output_hash).toBe(sha256(simpleCanonical(output)));
    // Downstream $refs and transforms see the step as recorded.
    expect(steps[1].output).toEqual(output.body.headers);
    expect(run.output).toEqual(output.body.headers);
  });

  it('a $secret in the input (or an upstream answer) is data: $ref brings it in unresolved, and submission does not look there', async () => {
    const created = expectStatus(
      await call('POST', '/v1/agents/secretive/runs', {
        auth: authA,
        body: {
          input: { smuggled: { $secret: 'stripe' } },
          steps: [
            {
              name: 'forward',
              skill: 'http.request',
              params: {
                method: 'POST',
                url: `${up.url}/echo/forward`,
                headers: { authorization: { $secret: 'stripe' } },
                body: { $ref: '/input/smuggled' },
              },
            },
          ],
        },
      }),
      202,
    );
    expect((await settled(authA, created.body.id)).status).toBe('succeeded');
    expect(JSON.parse(up.at('/echo/forward')[0].body)).toEqual({ $secret: 'stripe' });
  });

  it('the step key fingerprint is over params as written: a rotated secret is the same request (also once Redis lost the key)', async () => {
    const charge = {
      name: 'charge',
      skill: 'http.request',
      idempotency_key: `charge-${unique()}`,
      params: { method: 'POST', url: `${up.url}/echo/charge`, headers: { authorization: { $secret: 'stripe' } }, body: { amount: 5 } },
    };
    const first = await settled(authA, expectStatus(await submit(authA, [charge]), 202).body.id);
    expect(first.status).toBe('succeeded');
    expect(up.at('/echo/charge').map((r) => r.headers.authorization)).toEqual([STRIPE_V1]);

    expectStatus(await call('PUT', '/v1/secrets/stripe', { auth: authA, body: { value: STRIPE_V2 } }), 204);
    const second = await settled(authA, expectStatus(await submit(authA, [charge]), 202).body.id);
    expect(second.status).toBe('succeeded');
    expect((await trace(authA, second.id)).steps[0]).toMatchObject({ executed: false, from_cache: true });

    // Redis loses the stored result: the trace's record (with its stored fingerprint) still answers.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = await redis.keys(`${env.redisPrefix}:step-result:{${tenantA}}:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(await redis.get(key)).not.toContain(STRIPE_V1);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    const third = await settled(authA, expectStatus(await submit(authA, [charge]), 202).body.id);
    expect(third.error).toBeNull();
    expect((await trace(authA, third.id)).steps[0]).toMatchObject({ executed: false, from_cache: true });
    expect(up.at('/echo/charge')).toHaveLength(1);
  });

  it('replay: check compares the redacted records and matches; execute resolves the secret afresh; skip calls nothing', async () => {
    const before = up.at('/echo/main').length;
    const checked = expectStatus(
      await call('POST', `/v1/runs/${mainRun}/replay`, {
        auth: authA,
        body: { default_behavior: 'check', ignore_paths: ['/headers/date'] },
      }),
      202,
    );
    const report = await settled(authA, checked.body.id);
    expect(report.status).toBe('succeeded');
    expect(report.replay.verdict).toBe('match');
    const calls = up.at('/echo/main');
    expect(calls).toHaveLength(before + 1);
    expect(calls[calls.length - 1].headers.authorization).toBe(STRIPE_V2); // rotated since the original run

    const skipped = expectStatus(
      await call('POST', `/v1/runs/${mainRun}/replay`, { auth: authA, body: { default_behavior: 'skip' } }),
      202,
    );
    const skipReport = await settled(authA, skipped.body.id);
    expect(skipReport.replay.summary).toMatchObject({ skipped: 2, executed: 0 });
    expect(up.at('/echo/main')).toHaveLength(before + 1);
    const originalOutput = (await trace(authA, mainRun)).steps[0].output;
    expect((await trace(authA, skipped.body.id)).steps[0].output).toEqual(originalOutput);
  });

  it('a redirect to another origin carries no body, credentials, Idempotency-Key or secret-holding header; the same origin gets them', async () => {
    const step = (to: string, key: string) => ({
      name: 'redirected',
      skill: 'http.request',
      idempotency_key: key,
      params: {
        method: 'POST',
        url: `${up.url}/redirect?status=307&to=${encodeURIComponent(to)}`,
        headers: {
          authorization: { $secret: 'stripe' },
          cookie: `c=${LIT_COOKIE}`,
          'x-signature': { $secret: 'signing.key' },
          'x-plain': 'p',
        },
        body: { card: 'tok_1' },
      },
    });
    const crossKey = `cross-${unique()}`;
    const cross = await settled(authA, expectStatus(await submit(authA, [step(`${away.url}/echo/landing`, crossKey)]), 202).body.id);
    expect(cross.status).toBe('succeeded');
    const [landed] = away.at('/echo/landing');
    expect(landed.method).toBe('POST');
    expect(landed.body).toBe('');
    expect(landed.headers['x-plain']).toBe('p');
    for (const header of ['authorization', 'cookie', 'x-signature', 'idempotency-key', 'content-type'])
      expect(landed.headers[header]).toBeUndefined();
    expect(up.at('/redirect').at(-1)!.headers['idempotency-key']).toBe(crossKey);

    const same = await settled(authA, expectStatus(await submit(authA, [step('/echo/same', `same-${unique()}`)]), 202).body.id);
    expect(same.status).toBe('succeeded');
    const [kept] = up.at('/echo/same');
    expect(kept.headers.authorization).toBe(STRIPE_V2);
    expect(kept.headers['x-signature']).toBe(SIGNING);
    expect(JSON.parse(kept.body)).toEqual({ card: 'tok_1' });
  });

  it('a secret deleted before its step runs fails that step with secret_missing, not retried', async () => {
    expectStatus(await call('PUT', '/v1/secrets/doomed', { auth: authA, body: { value: DOOMED } }), 204);
    const created = expectStatus(
      await submit(authA, [
        { name: 'wait', skill: 'delay', params: { ms: 1500 } },
        { name: 'use', skill: 'http.request', params: { url: `${up.url}/echo/doomed`, headers: { 'x-doomed': { $secret: 'doomed' } } } },
      ]),
      202,
    );
    expectStatus(await call('DELETE', '/v1/secrets/doomed', { auth: authA }), 204);
    expectStatus(await call('DELETE', '/v1/secrets/doomed', { auth: authA }), 404);
    const run = await settled(authA, created.body.id);
    expect(run).toMatchObject({ status: 'failed', attempts: 1, error: { type: 'secret_missing', step_index: 1 } });
    expect(run.error.message).toMatch(/"doomed"/);
    expect((await trace(authA, created.body.id)).steps[1]).toMatchObject({ status: 'failed', error: { type: 'secret_missing' } });
    expect(up.at('/echo/doomed')).toHaveLength(0);
    // Now unknown at submission.
    expectStatus(
      await submit(authA, [
        { name: 'use', skill: 'http.request', params: { url: `${up.url}/echo`, headers: { x: { $secret: 'doomed' } } } },
      ]),
      400,
    );
  });

  it('an error that quotes a secret is recorded and returned masked (the step runner masks every error)', async () => {
    // The value is a URL whose answer is a 500: the skill's error message quotes it in full.
    expectStatus(await call('PUT', '/v1/secrets/failing.url', { auth: authA, body: { value: `${up.url}/fail` } }), 204);
    const created = expectStatus(
      await submit(authA, [{ name: 'fail', skill: 'http.request', params: { url: { $secret: 'failing.url' } } }]),
      202,
    );
    const run = await settled(authA, created.body.id);
    expect(run).toMatchObject({ status: 'failed', error: { type: 'step_failed', step_index: 0 } });
    expect(up.at('/fail').length).toBeGreaterThan(0); // the upstream got the real URL
    const [step] = (await trace(authA, created.body.id)).steps;
    expect(step.params).toEqual({ url: '[secret:failing.url]' });
    expect(step.error.message).toBe('GET [secret:failing.url] answered 500');
    expect(run.error.message).not.toContain('/fail');
  });

  it('a step not yet run shows its params as written, through the same redaction', async () => {
    const created = expectStatus(
      await submit(authA, [
        { name: 'wait', skill: 'delay', params: { ms: 1000 } },
        {
          name: 'later',
          skill: 'http.request',
          params: {
            url: `${up.url}/echo/later?token=${LIT_QUERY}`,
            headers: { authorization: `Bearer ${LIT_API_KEY}`, 'x-secret': { $secret: 'stripe' } },
          },
        },
      ]),
      202,
    );
    const pending = (await trace(authA, created.body.id)).steps[1];
    expect(pending.status).toBe('pending');
    expect(pending.params).toEqual({
      url: `${up.url}/echo/later?token=[redacted]`,
      headers: { authorization: '[redacted]', 'x-secret': { $secret: 'stripe' } },
    });
    expect((await settled(authA, created.body.id)).status).toBe('succeeded');
    expect(up.at('/echo/later')[0].headers.authorization).toBe(`Bearer ${LIT_API_KEY}`);
  });

  it('a failed query is logged through the application logger, without its parameters', async () => {
    const { createDataSource } = await import('../src/infra/database/data-source.js');
    const dataSource = await createDataSource({ url: env.db.url, poolSize: 1, migrationsRun: false }).initialize();
    const written: string[] = [];
    const capture = (stream: NodeJS.WriteStream) => {
      const original = stream.write.bind(stream);
      stream.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
        written.push(String(chunk));
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      };
      return () => (stream.write = original);
    };
    const restore = [capture(process.stdout), capture(process.stderr)];
    try {
      await expect(dataSource.query('SELECT $1::int AS n', [STRIPE_V1])).rejects.toThrow(/invalid input syntax/);
    } finally {
      restore.forEach((r) => r());
      await dataSource.destroy();
    }
    expect(written.join('')).toMatch(/query failed: invalid input syntax/);
    expect(written.join('')).not.toContain(STRIPE_V1);
  });

  it('no API response, stored trace, stored step result or captured log line of the run holds a secret or a literal credential', async () => {
    await call('GET', '/v1/runs?limit=100', { auth: authA });
    await call('GET', '/metrics');
    const { rows } = await db.query('SELECT params::text, output::text, error::text, mismatch::text FROM run_steps');
    const { rows: runRows } = await db.query('SELECT output::text, error::text, replay::text FROM runs');
    const stored = JSON.stringify([rows, runRows]);
    const logs = api.output() + worker.output();
    // The captures are not empty: requests, workers and the upstream calls were logged.
    expect(api.output()).toMatch(/"url":"\/v1\/secrets\/stripe"/);
    expect(worker.output()).toMatch(/worker started/);
    expect(answers.length).toBeGreaterThan(40);
    for (const value of NEVER_SHOWN) {
      expect({ value, in: 'responses', found: answers.some((a) => a.includes(value)) }).toEqual({ value, in: 'responses', found: false });
      expect({ value, in: 'trace rows', found: stored.includes(value) }).toEqual({ value, in: 'trace rows', found: false });
      expect({ value, in: 'logs', found: logs.includes(value) }).toEqual({ value, in: 'logs', found: false });
    }
  });

  it('without SECRETS_KEY in production mode: /v1/secrets answers 503 secrets-disabled, a run naming a secret 400, the rest works', async () => {
    const { SECRETS_KEY: _key, ...withoutKey } = env.env;
    const off = await startTestApp({ ...withoutKey, WORKER_ENABLED: 'false', LOG_LEVEL: 'warn', LOG_REQUESTS: 'false' });
    try {
      for (const [method, path] of [
        ['get', '/v1/secrets'],
        ['put', '/v1/secrets/stripe'],
        ['delete', '/v1/secrets/stripe'],
      ] as const) {
        const req = off.http[method](path).set('Authorization', authA);
        const res = method === 'put' ? await req.send({ value: 'x' }) : await req;
        expect(res.status).toBe(503);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.type).toBe('secrets-disabled');
      }
      const named = await off.http
        .post('/v1/agents/secretive/runs')
        .set('Authorization', authA)
        .send({ steps: [{ name: 'x', skill: 'http.request', params: { url: `${up.url}/echo`, headers: { a: { $secret: 'stripe' } } } }] });
      expect(named.status).toBe(400);
      expect(named.body.errors[0].message).toMatch(/SECRETS_KEY/);
      await off.http
        .post('/v1/agents/secretive/runs')
        .set('Authorization', authA)
        .send({ steps: [{ name: 'x', skill: 'transform', params: { expression: '1' } }] })
        .expect(202);
    } finally {
      await off.close();
    }
  });
});
