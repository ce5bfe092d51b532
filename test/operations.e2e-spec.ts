import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { TEST_DATABASE_ADMIN_URL } from './support/env.js';
import { createTenant, createTestEnvironment, startTestApp, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';

const execFileAsync = promisify(execFile);

interface OpenApiOperation {
  operationId: string;
  security?: unknown[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}

async function adminSql(sql: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

const metricValue = (text: string, name: string, labels = ''): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

describe('operations: health, metrics, OpenAPI, rate limits, dependency outages', () => {
  let env: TestEnvironment;
  let t: TestApp;
  let auth: string;

  beforeAll(async () => {
    env = await createTestEnvironment({ WORKER_ENABLED: 'true' });
    t = await startTestApp(env.env);
    auth = (await createTenant(t, 'ops')).auth;
  });

  afterAll(async () => {
    await adminSql(`ALTER DATABASE ${env.db.name} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await t?.close();
    await env?.dispose();
  });

  it('answers /health/live and /health/ready with the database and Redis checked', async () => {
    const live = await t.http.get('/health/live').expect(200);
    expect(live.body.status).toBe('ok');
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', details: { database: { status: 'up' }, redis: { status: 'up' } } });
  });

  it('exposes Prometheus metrics that move with runs, replays, idempotent replays and 422s', async () => {
    const before = (await t.http.get('/metrics').expect(200)).text;
    const body = { steps: [{ name: 'n', skill: 'transform', params: { expression: '1 + 1' } }] };
    const run = await t.http
      .post('/v1/agents/metrics/runs')
      .set('Authorization', auth)
      .set('Idempotency-Key', 'm-1')
      .send(body)
      .expect(202);
    await t.http.post('/v1/agents/metrics/runs').set('Authorization', auth).set('Idempotency-Key', 'm-1').send(body).expect(202);
    await t.http
      .post('/v1/agents/metrics/runs')
      .set('Authorization', auth)
      .set('Idempotency-Key', 'm-1')
      .send({ steps: [{ name: 'other', skill: 'delay', params: { ms: 0 } }] })
      .expect(422);
    await waitFor(async () =>
      (await t.http.get(`/v1/runs/${run.body.id}`).set('Authorization', auth)).body.status === 'succeeded' ? true : undefined,
    );
    await t.http.post(`/v1/runs/${run.body.id}/replay`).set('Authorization', auth).send({ default_behavior: 'check' }).expect(202);
    const after = await waitFor(async () => {
      const text = (await t.http.get('/metrics').expect(200)).text;
      return metricValue(text, 'agentruns_replay_verdicts_total', '{verdict="match"}') >
        metricValue(before, 'agentruns_replay_verdicts_total', '{verdict="match"}')
        ? text
        : undefined;
    });
    expect(
      metricValue(after, 'agentruns_runs_created_total', '{kind="run"}') -
        metricValue(before, 'agentruns_runs_created_total', '{kind="run"}'),
    ).toBe(1);
    expect(
      metricValue(after, 'agentruns_runs_created_total', '{kind="replay"}') -
        metricValue(before, 'agentruns_runs_created_total', '{kind="replay"}'),
    ).toBe(1);
    expect(metricValue(after, 'agentruns_idempotent_replays_total') - metricValue(before, 'agentruns_idempotent_replays_total')).toBe(1);
    expect(
      metricValue(after, 'agentruns_idempotency_key_reused_total') - metricValue(before, 'agentruns_idempotency_key_reused_total'),
    ).toBe(1);
    expect(after).toMatch(/agentruns_run_duration_seconds_bucket\{le="[^"]+",status="succeeded"\}/);
    expect(after).toMatch(/agentruns_step_duration_seconds_count\{skill="transform",outcome="succeeded"\} \d+/);
    expect(after).toMatch(/agentruns_queue_depth\{state="waiting"\} \d+/);
    expect(after).toMatch(/^agentruns_event_loop_delay_seconds\{quantile="0\.99"\} \d/m); // the API's own event loop
  });

  it('serves the OpenAPI document at /openapi.json (every endpoint of the contract) and the UI at /docs', async () => {
    const doc = (await t.http.get('/openapi.json').expect(200)).body;
    expect(doc.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.paths);
    for (const path of [
      '/v1/agents/{agentId}/runs',
      '/v1/runs',
      '/v1/runs/{runId}',
      '/v1/runs/{runId}/cancel',
      '/v1/runs/{runId}/trace',
      '/v1/runs/{runId}/replay',
      '/admin/tenants',
      '/admin/tenants/{tenantId}/api-keys',
      '/admin/api-keys/{keyId}',
      '/health/live',
      '/health/ready',
    ]) {
      expect(paths).toContain(path);
    }
    const create = doc.paths['/v1/agents/{agentId}/runs'].post;
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '409', '413', '422', '429']));
    expect(create.parameters.map((p: { name: string }) => p.name)).toContain('Idempotency-Key');
    expect(doc.components.schemas.CreateRunDto.required).toContain('steps');
    const ui = await t.http.get('/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger');
  });

  it('documents every operation with an id, errors as problem+json, health as public; `cli openapi` (linted in CI) prints the same document', async () => {
    const doc = (await t.http.get('/openapi.json').expect(200)).body;
    const operations = Object.values(doc.paths as Record<string, Record<string, OpenApiOperation>>).flatMap((item) => Object.values(item));
    expect(new Set(operations.map((o) => o.operationId)).size).toBe(operations.length);
    for (const operation of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) >= 400 && status !== '503') expect(Object.keys(response.content ?? {})).toEqual(['application/problem+json']);
      }
    }
    expect(doc.paths['/health/live'].get.security).toEqual([]);
    expect(doc.paths['/v1/runs'].get.security).toEqual([{ bearer: [] }]);
    const { stdout } = await execFileAsync(process.execPath, ['dist/src/cli.js', 'openapi'], { env: { PATH: process.env.PATH ?? '' } });
    expect(JSON.parse(stdout)).toEqual(doc);
  });

  it('limits each tenant to RATE_LIMIT_PER_SECOND with 429 + Retry-After, without touching other tenants', async () => {
    const limited = await startTestApp({ ...env.env, RATE_LIMIT_PER_SECOND: '5', WORKER_ENABLED: 'false' });
    try {
      const noisy = (await createTenant(limited, 'noisy')).auth;
      const quiet = (await createTenant(limited, 'quiet')).auth;
      const responses = await Promise.all(Array.from({ length: 12 }, () => limited.http.get('/v1/runs').set('Authorization', noisy)));
      const codes = responses.map((r) => r.status);
      // 5 per one-second window; a burst that straddles a window boundary may get a second 5
      expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(5);
      expect(codes.filter((c) => c === 200).length).toBeLessThanOrEqual(10);
      expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(2);
      expect(codes.every((c) => c === 200 || c === 429)).toBe(true);
      const refused = responses.find((r) => r.status === 429)!;
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(refused.headers['content-type']).toMatch(/problem\+json/);
      expect(refused.body.type).toBe('rate-limited');
      await limited.http.get('/v1/runs').set('Authorization', quiet).expect(200);
    } finally {
      await limited.close();
    }
  });

  it('answers 503 with Retry-After (never 500) while PostgreSQL refuses connections, and recovers', async () => {
    await adminSql(`ALTER DATABASE ${env.db.name} ALLOW_CONNECTIONS false`);
    await adminSql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [env.db.name]);
    try {
      const res = await t.http.get('/v1/runs').set('Authorization', auth);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body.type).toBe('service-unavailable');
      expect(JSON.stringify(res.body)).not.toMatch(/accepting|pg_|SQL|stack/i);
      const ready = await t.http.get('/health/ready').expect(503);
      expect(ready.body.checks.database.status).toBe('down');
    } finally {
      await adminSql(`ALTER DATABASE ${env.db.name} ALLOW_CONNECTIONS true`);
    }
    await waitFor(async () => ((await t.http.get('/v1/runs').set('Authorization', auth)).status === 200 ? true : undefined), 15_000, 200);
  });
});
