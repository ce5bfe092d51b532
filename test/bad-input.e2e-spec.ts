import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createTenant, createTestEnvironment, startTestApp, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: string;
  headers?: Record<string, string>;
  admin?: boolean;
  status?: number;
  /** A field the problem's `errors` must name. */
  field?: string;
}

const step = { name: 's', skill: 'transform', params: { expression: '1' } };
const json = (v: unknown) => JSON.stringify(v);

/** Sends raw bytes (paths and headers exactly as given), so nothing is cleaned up on the way. */
function raw(
  port: number,
  c: Case,
  auth: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: c.method,
        path: c.path,
        headers: { authorization: auth, ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers },
        insecureHTTPParser: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(c.body);
  });
}

describe('bad input: every endpoint answers 4xx problem+json and changes nothing', () => {
  let env: TestEnvironment;
  let t: TestApp;
  let port: number;
  let auth: string;
  let adminAuth: string;
  let runId: string;
  let db: pg.Client;

  const snapshot = async () => {
    const { rows } = await db.query(`SELECT
      (SELECT count(*) FROM tenants) AS tenants, (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL) AS keys,
      (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM run_idempotency_keys) AS idem,
      (SELECT count(*) FROM run_steps) AS steps, (SELECT count(*) FROM run_signals) AS signals,
      (SELECT count(*) FROM replay_batches) AS batches, (SELECT count(*) FROM replay_batch_items) AS batch_items,
      (SELECT count(*) FROM replay_batch_keys) AS batch_keys, (SELECT string_agg(id::text || status, ',' ORDER BY id) FROM runs) AS statuses,
      (SELECT string_agg(name || updated_at::text || encode(ciphertext, 'hex'), ',' ORDER BY name) FROM tenant_secrets) AS secrets`);
    return rows[0];
  };

  beforeAll(async () => {
    env = await createTestEnvironment({ MAX_BODY_BYTES: '65536', MAX_STEPS: '5', SECRETS_KEY: randomBytes(32).toString('base64') });
    t = await startTestApp(env.env);
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    auth = (await createTenant(t, 'hardened')).auth;
    adminAuth = `Bearer ${env.env.ADMIN_TOKEN}`;
    runId = (
      await t.http
        .post('/v1/agents/a/runs')
        .set('Authorization', auth)
        .set('Idempotency-Key', 'seed')
        .send({ steps: [step] })
        .expect(202)
    ).body.id;
    await waitFor(async () =>
      (await t.http.get(`/v1/runs/${runId}`).set('Authorization', auth)).body.status === 'succeeded' ? true : undefined,
    );
    await t.http.put('/v1/secrets/seed').set('Authorization', auth).send({ value: 'seed-value' }).expect(204);
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await t?.close();
    await env?.dispose();
  });

  const create = (body: string, extra: Partial<Case> = {}): Case => ({
    name: `create ${body.slice(0, 60)}`,
    method: 'POST',
    path: '/v1/agents/a/runs',
    body,
    ...extra,
  });
  const deep = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

  const cases: Case[] = [
    // malformed JSON
    create('{'),
    create('{"steps": [}'),
    create('nul'),
    create('{"steps":[{"name":"s","skill":"transform"}],}'),
    create('\u0000'),
    create("{'steps': []}"),
    // wrong JSON types at the top
    create('[]'),
    create('"steps"'),
    create('42'),
    create('null'),
    create('true'),
    // wrong types inside
    create(json({ steps: 'x' })),
    create(json({ steps: {} })),
    create(json({ steps: [1] })),
    create(json({ steps: [null] })),
    create(json({ steps: [{ ...step, name: 1 }] })),
    create(json({ steps: [{ ...step, skill: ['transform'] }] })),
    create(json({ steps: [step], input: [] })),
    create(json({ steps: [step], input: 'text' })),
    create(json({ steps: [step], metadata: 5 })),
    create(json({ steps: [{ ...step, params: [] }] })),
    create(json({ steps: [{ ...step, params: 'x' }] })),
    create(json({ steps: [{ ...step, replay_behavior: 5 }] })),
    create(json({ steps: [{ ...step, idempotency_key: 5 }] })),
    create(json({ steps: [{ ...step, idempotency_key: '' }] })),
    create(json({ steps: [{ ...step, idempotency_key: 'k'.repeat(256) }] })),
    create(json({ steps: [{ ...step, idempotency_key: 'clé' }] })),
    create(json({ steps: [{ ...step, name: 'tab\there' }] })),
    create(json({ steps: [{ ...step, name: '' }] })),
    create(json({ steps: [{ ...step, name: 'x'.repeat(201) }] })),
    // unknown fields
    create(json({ steps: [step], extra: 1 })),
    create(json({ steps: [{ ...step, extra: 1 }] })),
    // out of range and semantic errors
    create(json({ steps: [] })),
    create(json({ steps: Array(6).fill(step) })),
    create(json({ steps: [{ name: 'd', skill: 'delay', params: { ms: 60001 } }] })),
    create(json({ steps: [{ name: 'd', skill: 'delay', params: { ms: -1 } }] })),
    create(json({ steps: [{ name: 'd', skill: 'delay', params: { ms: 1.5 } }] })),
    create(json({ steps: [{ name: 'd', skill: 'delay', params: { ms: 1e308 } }] })),
    create(json({ steps: [{ name: 'h', skill: 'http.request', params: { url: 'file:///etc/passwd' } }] })),
    create(json({ steps: [{ name: 'h', skill: 'http.request', params: { url: 'http://x', timeout_ms: 0 } }] })),
    create(json({ steps: [{ name: 'h', skill: 'http.request', params: { url: 'http://x', headers: { 'bad header': 'v' } } }] })),
    create(json({ steps: [{ name: 'h', skill: 'http.request', params: { url: 'http://x', headers: { h: 'a\r\nb: c' } } }] })),
    create(json({ steps: [{ name: 'l', skill: 'llm.chat', params: { model: 'm', messages: [] } }] })),
    create(json({ steps: [{ name: 't', skill: 'transform', params: { expression: '$$$(' } }] })),
    create(json({ steps: [{ name: 'x', skill: 'no.such.skill' }] })),
    create(json({ steps: [{ name: 'r', skill: 'delay', params: { ms: { $ref: '/steps/0/output' } } }] })),
    create(json({ steps: [{ name: 'r', skill: 'delay', params: { ms: { $ref: 'input' } } }] })),
    create(json({ steps: [{ name: 'r', skill: 'delay', params: { ms: { $ref: 1 } } }] })),
    // wait params (signal name and timeout, checked at submission)
    ...[
      {},
      { signal: '' },
      { signal: 'a b' },
      { signal: 'x'.repeat(65) },
      { signal: 'caf\u00e9' },
      { signal: 5 },
      { signal: 'ok', timeout_ms: 999 },
      { signal: 'ok', timeout_ms: 604_800_001 },
      { signal: 'ok', timeout_ms: 1500.5 },
      { signal: 'ok', timeout_ms: '5000' },
      { signal: 'ok', timeout_ms: null },
    ].map((params) => create(json({ steps: [{ name: 'w', skill: 'wait', params }] }))),
    // size and nesting
    {
      ...create(json({ steps: [step], input: { blob: 'x'.repeat(70_000) } })),
      name: 'create with a body over MAX_BODY_BYTES',
      status: 413,
    },
    { ...create(json({ steps: [step], input: JSON.parse(deep(3000)) })), name: 'create with 3000 levels of nesting' },
    {
      ...create(`{"steps":[{"name":"s","skill":"transform","params":{"expression":"1"}}],"input":${deep(200_00)}}`),
      name: 'create with 20000 levels of nesting',
    },
    // agent ids and idempotency keys
    { ...create(json({ steps: [step] })), name: 'agent id with a space', path: '/v1/agents/a%20b/runs' },
    { ...create(json({ steps: [step] })), name: 'agent id with NUL', path: '/v1/agents/a%00/runs' },
    { ...create(json({ steps: [step] })), name: 'agent id non-ASCII', path: '/v1/agents/%C3%A4gent/runs' },
    { ...create(json({ steps: [step] })), name: 'agent id of 129 characters', path: `/v1/agents/${'a'.repeat(129)}/runs` },
    { ...create(json({ steps: [step] })), name: 'agent id with bad percent-encoding', path: '/v1/agents/%E0%A4%A/runs' },
    { ...create(json({ steps: [step] })), name: 'Idempotency-Key of 256 characters', headers: { 'idempotency-key': 'k'.repeat(256) } },
    { ...create(json({ steps: [step] })), name: 'Idempotency-Key empty', headers: { 'idempotency-key': '' } },
    {
      ...create(json({ steps: [step] })),
      name: 'Idempotency-Key with latin-1 bytes',
      headers: { 'idempotency-key': Buffer.from('clé', 'utf8').toString('latin1') },
    },
    {
      ...create(json({ steps: [step], input: { other: true } })),
      name: 'reused seed key with another body',
      headers: { 'idempotency-key': 'seed' },
      status: 422,
    },
    // content types
    { ...create('steps=1'), name: 'form body', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
    { ...create('{"steps":[]}'), name: 'text/plain body', headers: { 'content-type': 'text/plain' }, status: 415 },
    {
      ...create('x'.repeat(1_200_000)),
      name: 'text/plain body of 1.2 MB',
      headers: { 'content-type': 'text/plain' },
      status: 413,
    },
    {
      ...create('x'.repeat(1_200_000)),
      name: 'body of 1.2 MB without a JSON type',
      headers: { 'content-type': 'application/octet-stream' },
      status: 413,
    },
    // values that parse but that canonical JSON (the idempotency fingerprint) cannot represent
    {
      ...create(String.raw`{"steps":[{"name":"s","skill":"transform","params":{"expression":"1"}}],"input":{"t":"a\ud800b"}}`),
      name: 'keyed body with a lone surrogate',
      headers: { 'idempotency-key': 'lone-surrogate' },
      status: 400,
    },
    {
      ...create(String.raw`{"steps":[{"name":"s","skill":"transform","params":{"expression":"1"}}],"input":{"\udc00":1}}`),
      name: 'keyed body with a lone surrogate in a key',
      headers: { 'idempotency-key': 'lone-surrogate-key' },
      status: 400,
    },
    {
      ...create(String.raw`{"steps":[{"name":"s","skill":"transform","params":{"expression":"1"}}],"input":{"t":"\ud800"}}`),
      name: 'unkeyed body with a lone surrogate',
      status: 400,
    },
    {
      ...create('{"steps":[{"name":"s","skill":"transform","params":{"expression":"1"}}],"input":{"n":1e400}}'),
      name: 'keyed body with a number beyond the double range',
      headers: { 'idempotency-key': 'infinite' },
      status: 400,
    },
    // list
    ...[
      'limit=0',
      'limit=101',
      'limit=-1',
      'limit=abc',
      'limit=1.5',
      'limit=1e3',
      'limit=1&limit=2',
      'status=done',
      'status=WAITING',
      'agent_id=%C3%A4',
      'cursor=%00',
      'cursor=eyJzIjoiLTEifQ',
      `cursor=${'x'.repeat(600)}`,
      `cursor=${Buffer.from('{"s":"9999999999999999999"}').toString('base64url')}`, // 19 digits, beyond bigint
      `cursor=${Buffer.from('{"s":"9223372036854775808"}').toString('base64url')}`, // 2^63
    ].map((q): Case => ({ name: `list ?${q}`, method: 'GET', path: `/v1/runs?${q}` })),
    // run ids
    ...['not-a-uuid', '00000000-0000-0000-0000-000000000000', `${'%00'}`, 'a'.repeat(300)].flatMap((id): Case[] => [
      { name: `get run ${id.slice(0, 20)}`, method: 'GET', path: `/v1/runs/${id}`, status: 404 },
      { name: `cancel run ${id.slice(0, 20)}`, method: 'POST', path: `/v1/runs/${id}/cancel`, status: 404 },
      { name: `trace ${id.slice(0, 20)}`, method: 'GET', path: `/v1/runs/${id}/trace`, status: 404 },
    ]),
    // signals
    ...['a%20b', 'x'.repeat(65), '%00', 'caf%C3%A9', 'a%2Fb', '%E0%A4%A'].map((name): Case => ({
      name: `signal named ${name.slice(0, 20)}`,
      method: 'POST',
      path: `/RUN/signals/${name}`,
      body: json({}),
      status: 400,
    })),
    ...['not-a-uuid', '00000000-0000-0000-0000-000000000000'].map((id): Case => ({
      name: `signal to run ${id}`,
      method: 'POST',
      path: `/v1/runs/${id}/signals/ok`,
      body: json({}),
      status: 404,
    })),
    { name: 'signal to a finished run', method: 'POST', path: '/RUN/signals/late', body: json({ ok: true }), status: 409 },
    { name: 'signal with malformed JSON', method: 'POST', path: '/RUN/signals/ok', body: '{', status: 400 },
    {
      name: 'signal with a text/plain body',
      method: 'POST',
      path: '/RUN/signals/ok',
      body: 'yes',
      headers: { 'content-type': 'text/plain' },
    },
    { name: 'signal over MAX_BODY_BYTES', method: 'POST', path: '/RUN/signals/ok', body: json({ b: 'x'.repeat(70_000) }), status: 413 },
    { name: 'signal nested 3000 levels', method: 'POST', path: '/RUN/signals/ok', body: deep(3000), status: 400 },
    {
      name: 'signal with an Idempotency-Key of 256 characters',
      method: 'POST',
      path: '/RUN/signals/ok',
      body: json({}),
      headers: { 'idempotency-key': 'k'.repeat(256) },
      status: 400,
    },
    // cancel of a finished run
    { name: 'cancel a finished run', method: 'POST', path: '/RUN/cancel', status: 409 },
    // replay
    ...[
      json({ default_behavior: 'sometimes' }),
      json({ behaviors: [] }),
      json({ behaviors: { '0': 5 } }),
      json({ behaviors: { '99': 'skip' } }),
      json({ behaviors: { '-1': 'skip' } }),
      json({ from_step: 1e9 }),
      json({ from_step: 1.5 }),
      json({ from_step: '0' }),
      json({ on_mismatch: 'explode' }),
      json({ ignore_paths: '/a' }),
      json({ ignore_paths: [5] }),
      json({ ignore_paths: [''] }),
      json({ ignore_paths: ['/a/~2'] }),
      String.raw`{"ignore_paths":["/a\ud800"]}`,
      String.raw`{"ignore_paths":["/\udfff"],"default_behavior":"check"}`,
      json({ extra: true }),
      '{',
      '[]',
    ].map((body): Case => ({ name: `replay ${body}`, method: 'POST', path: '/RUN/replay', body })),
    // replay batches: the filter, the replay options (the single replay's body, validated the same way), paging
    ...[
      '{',
      '[]',
      'null',
      '5',
      '"filter"',
      json({ extra: 1 }),
      json({ filter: 5 }),
      json({ filter: [] }),
      json({ filter: null }),
      json({ filter: 'agent' }),
      json({ replay: 'check' }),
      json({ replay: null }),
      json({ replay: [] }),
      json({ filter: { extra: 1 } }),
      json({ filter: { agent_id: 'bad id' } }),
      json({ filter: { agent_id: 5 } }),
      json({ filter: { agent_id: 'x'.repeat(129) } }),
      json({ filter: { status: 'succeeded' } }),
      json({ filter: { status: [] } }),
      json({ filter: { status: ['cancelled'] } }),
      json({ filter: { status: ['running'] } }),
      json({ filter: { status: ['succeeded', 'succeeded'] } }),
      json({ filter: { status: [5] } }),
      json({ filter: { created_after: 'yesterday' } }),
      json({ filter: { created_after: '2026-11-01' } }),
      json({ filter: { created_after: '2026-11-01T00:00:00' } }),
      json({ filter: { created_after: '2026-02-30T00:00:00Z' } }),
      json({ filter: { created_after: '2026-11-01T25:00:00Z' } }),
      json({ filter: { created_before: 1764000000 } }),
      json({ filter: { created_after: '2026-11-02T00:00:00Z', created_before: '2026-11-01T00:00:00Z' } }),
      json({ filter: { created_after: '2026-11-01T00:00:00Z', created_before: '2026-11-01T01:00:00+01:00' } }),
      json({ filter: { run_ids: 'x' } }),
      json({ filter: { run_ids: [] } }),
      json({ filter: { run_ids: ['not-a-uuid'] } }),
      json({ filter: { run_ids: [5] } }),
      json({ filter: { run_ids: ['00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000001'] } }),
      json({ filter: { run_ids: Array.from({ length: 101 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`) } }),
      json({
        filter: { run_ids: Array.from({ length: 1001 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`), limit: 1000 },
      }),
      json({ filter: { limit: 0 } }),
      json({ filter: { limit: 1001 } }),
      json({ filter: { limit: 1.5 } }),
      json({ filter: { limit: '5' } }),
      json({ filter: { limit: null, extra: true } }),
      json({ replay: { default_behavior: 'sometimes' } }),
      json({ replay: { behaviors: [] } }),
      json({ replay: { behaviors: { '0': 5 } } }),
      json({ replay: { behaviors: { '-1': 'skip' } } }),
      json({ replay: { behaviors: { first: 'skip' } } }),
      json({ replay: { from_step: -1 } }),
      json({ replay: { from_step: 1.5 } }),
      json({ replay: { from_step: 1e9 } }),
      json({ replay: { on_mismatch: 'explode' } }),
      json({ replay: { ignore_paths: '/a' } }),
      json({ replay: { ignore_paths: [''] } }),
      json({ replay: { ignore_paths: ['/a/~2'] } }),
      json({ replay: { extra: true } }),
      String.raw`{"replay":{"ignore_paths":["/a\ud800"]}}`,
      String.raw`{"filter":{"agent_id":"\udfff"}}`,
      '{"filter":{"limit":1e400}}',
    ].map((body): Case => ({ name: `create batch ${body.slice(0, 80)}`, method: 'POST', path: '/v1/replays', body })),
    {
      name: 'create batch with an Idempotency-Key of 256 characters',
      method: 'POST',
      path: '/v1/replays',
      body: json({}),
      headers: { 'idempotency-key': 'k'.repeat(256) },
      status: 400,
    },
    {
      name: 'create batch as a form',
      method: 'POST',
      path: '/v1/replays',
      body: 'filter=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
    {
      name: 'create batch over MAX_BODY_BYTES',
      method: 'POST',
      path: '/v1/replays',
      body: json({ filter: { agent_id: 'x'.repeat(70_000) } }),
      status: 413,
    },
    { name: 'create batch without auth', method: 'POST', path: '/v1/replays', body: json({}), headers: { authorization: '' }, status: 401 },
    ...['limit=0', 'limit=101', 'limit=x', 'cursor=nope', 'cursor=eyJzIjoiOTk5OTk5OTk5OTk5OTk5OTk5OTk5In0', 'extra=1'].map((q): Case => ({
      name: `list batches ?${q}`,
      method: 'GET',
      path: `/v1/replays?${q}`,
    })),
    ...['verdict=nope', 'verdict=running', 'limit=0', 'limit=101', 'cursor=nope', 'cursor=eyJwIjotMX0', 'cursor=eyJzIjoiMSJ9'].map(
      (q): Case => ({ name: `batch items ?${q}`, method: 'GET', path: `/v1/replays/00000000-0000-0000-0000-000000000000/items?${q}` }),
    ),
    { name: 'an unknown batch', method: 'GET', path: '/v1/replays/00000000-0000-0000-0000-000000000000', status: 404 },
    { name: 'a batch id that is no uuid', method: 'GET', path: '/v1/replays/%00', status: 404 },
    { name: 'items of an unknown batch', method: 'GET', path: '/v1/replays/00000000-0000-0000-0000-000000000000/items', status: 404 },
    { name: 'cancel an unknown batch', method: 'POST', path: '/v1/replays/00000000-0000-0000-0000-000000000000/cancel', status: 404 },
    // what-if replays: input and overrides (the seed run has one transform step); with a key, so a stored key would show
    ...[
      json({ input: [] }),
      json({ input: 'x' }),
      json({ input: 5 }),
      json({ input: null }),
      json({ overrides: [] }),
      json({ overrides: 'x' }),
      json({ overrides: null }),
      json({ overrides: { '1': { params: {} } } }),
      json({ overrides: { '-1': { params: {} } } }),
      json({ overrides: { '00': { params: {} } } }),
      json({ overrides: { x: { params: {} } } }),
      json({ overrides: { '0': 'patch' } }),
      json({ overrides: { '0': null } }),
      json({ overrides: { '0': {} } }),
      json({ overrides: { '0': { params: [] } } }),
      json({ overrides: { '0': { params: 'x' } } }),
      json({ overrides: { '0': { params: null } } }),
      json({ overrides: { '0': { idempotency_key: '' } } }),
      json({ overrides: { '0': { idempotency_key: 5 } } }),
      json({ overrides: { '0': { idempotency_key: 'k'.repeat(256) } } }),
      json({ overrides: { '0': { idempotency_key: 'caf\u00e9' } } }),
      json({ overrides: { '0': { params: {}, behavior: 'skip' } } }),
      json({ overrides: { '0': { params: { expression: 5 } } } }),
      json({ overrides: { '0': { params: { expression: null } } } }),
      json({ overrides: { '0': { params: { expression: '$sum(' } } } }),
      json({ overrides: { '0': { params: { expression: 'x'.repeat(10_001) } } } }),
      json({ overrides: { '0': { params: { expression: { $ref: '/steps/0/output' } } } } }),
      json({ overrides: { '0': { params: { expression: { $secret: 'unknown' } } } } }),
      json({ overrides: { '0': { params: { expression: { $secret: 'bad name' } } } } }),
      json({ overrides: { '0': { params: { expression: '2' } } }, behaviors: { '0': 'skip' } }),
      String.raw`{"overrides":{"0":{"params":{"expression":"\ud800"}}}}`,
      String.raw`{"input":{"\udfff":1}}`,
    ].map((body): Case => ({
      name: `what-if replay ${body.slice(0, 80)}`,
      method: 'POST',
      path: '/RUN/replay',
      body,
      headers: { 'idempotency-key': 'what-if-refused' },
      status: 400,
    })),
    // replay comparators (compare, strict): 400 with the field named, nothing stored
    ...(
      [
        [{ strict: 'yes' }, 'strict'],
        [{ strict: 1 }, 'strict'],
        [{ strict: 'false' }, 'strict'],
        [{ compare: [] }, 'compare'],
        [{ compare: 'exact' }, 'compare'],
        [{ compare: { '0': 'exact' } }, 'compare.0'],
        [{ compare: { '0': {} } }, 'compare.0.mode'],
        [{ compare: { '0': { mode: 'fuzzy' } } }, 'compare.0.mode'],
        [{ compare: { '0': { mode: null } } }, 'compare.0.mode'],
        [{ compare: { '1': { mode: 'exact' } } }, 'compare.1'],
        [{ compare: { '-1': { mode: 'exact' } } }, 'compare.-1'],
        [{ compare: { '00': { mode: 'exact' } } }, 'compare.00'],
        [{ compare: { '1e0': { mode: 'exact' } } }, 'compare.1e0'],
        [{ compare: { all: { mode: 'exact' } } }, 'compare.all'],
        [{ compare: { '*': { mode: 'exact', extra: true } } }, 'compare.*.extra'],
        [{ compare: { '*': { mode: 'schema', paths: ['/a'] } } }, 'compare.*.paths'],
        [{ compare: { '0': { mode: 'numeric', abs: -0.1 } } }, 'compare.0.abs'],
        [{ compare: { '0': { mode: 'numeric', rel: '0.1' } } }, 'compare.0.rel'],
        [{ compare: { '0': { mode: 'numeric', tolerance: 1 } } }, 'compare.0.tolerance'],
        [{ compare: { '0': { mode: 'text' } } }, 'compare.0.min_similarity'],
        [{ compare: { '0': { mode: 'text', min_similarity: 1.5 } } }, 'compare.0.min_similarity'],
        [{ compare: { '0': { mode: 'text', min_similarity: -0.01 } } }, 'compare.0.min_similarity'],
        [{ compare: { '0': { mode: 'text', min_similarity: '0.8' } } }, 'compare.0.min_similarity'],
        [{ compare: { '0': { mode: 'text', min_similarity: 0.8, paths: '/content' } } }, 'compare.0.paths'],
        [{ compare: { '0': { mode: 'text', min_similarity: 0.8, paths: [] } } }, 'compare.0.paths'],
        [{ compare: { '0': { mode: 'text', min_similarity: 0.8, paths: ['content'] } } }, 'compare.0.paths[0]'],
        [{ compare: { '0': { mode: 'text', min_similarity: 0.8, paths: ['/a~2'] } } }, 'compare.0.paths[0]'],
        [{ compare: { '0': { mode: 'text', min_similarity: 0.8, paths: [5] } } }, 'compare.0.paths[0]'],
        [{ compare: { '0': { mode: 'judge', model: 'm' } } }, 'compare.0.rubric'],
        [{ compare: { '0': { mode: 'judge', rubric: 'r' } } }, 'compare.0.model'],
        [{ compare: { '0': { mode: 'judge', model: '', rubric: 'r' } } }, 'compare.0.model'],
        [{ compare: { '0': { mode: 'judge', model: 'm', rubric: 'r'.repeat(8001) } } }, 'compare.0.rubric'],
        [{ compare: { '0': { mode: 'judge', model: 'm', rubric: 'r', temperature: 0 } } }, 'compare.0.temperature'],
      ] as Array<[unknown, string]>
    ).map(([body, field]): Case => ({
      name: `replay ${json(body)}`,
      method: 'POST',
      path: '/RUN/replay',
      body: json(body),
      status: 400,
      field,
    })),
    {
      name: 'replay compare with a lone surrogate in a text path',
      method: 'POST',
      path: '/RUN/replay',
      body: String.raw`{"compare":{"0":{"mode":"text","min_similarity":0.5,"paths":["/a\ud800"]}}}`,
      status: 400,
    },
    {
      name: 'replay compare with an infinite abs',
      method: 'POST',
      path: '/RUN/replay',
      body: '{"compare":{"0":{"mode":"numeric","abs":1e400}}}',
      status: 400,
    },
    // secrets: names, values, sizes; a refused PUT changes nothing (not even the seed's updated_at)
    ...['a%20b', 'x'.repeat(129), '%C3%A4', '%00', 'a%2Fb', 'a:b', '%E0%A4%A'].map((name): Case => ({
      name: `put secret named ${name.slice(0, 20)}`,
      method: 'PUT',
      path: `/v1/secrets/${name}`,
      body: json({ value: 'v' }),
    })),
    ...[
      '{',
      '[]',
      '"v"',
      'null',
      json({}),
      json({ value: '' }),
      json({ value: 5 }),
      json({ value: null }),
      json({ value: ['v'] }),
      json({ value: 'x'.repeat(8193) }),
      json({ value: 'v', extra: 1 }),
      '{"value":"\\ud800"}',
      '{"value":"v","__proto__":{"x":1}}',
      '{"value":"v","constructor":{}}',
    ].map((body): Case => ({ name: `put secret ${body.slice(0, 40)}`, method: 'PUT', path: '/v1/secrets/seed', body })),
    {
      name: 'put secret as a form',
      method: 'PUT',
      path: '/v1/secrets/seed',
      body: 'value=v',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
    { name: 'put secret without a body', method: 'PUT', path: '/v1/secrets/seed' },
    {
      name: 'put secret over MAX_BODY_BYTES',
      method: 'PUT',
      path: '/v1/secrets/seed',
      body: json({ value: 'x'.repeat(70_000) }),
      status: 413,
    },
    { name: 'delete an unknown secret', method: 'DELETE', path: '/v1/secrets/nope', status: 404 },
    { name: 'delete a secret with a bad name', method: 'DELETE', path: '/v1/secrets/a%20b', status: 404 },
    { name: 'delete a secret named NUL', method: 'DELETE', path: '/v1/secrets/%00', status: 404 },
    {
      name: 'put secret without auth',
      method: 'PUT',
      path: '/v1/secrets/seed',
      body: json({ value: 'v' }),
      headers: { authorization: '' },
      status: 401,
    },
    // $secret references in runs
    ...[
      { $secret: 5 },
      { $secret: 'seed', extra: 1 },
      { $secret: 'bad name' },
      { $secret: 'x'.repeat(129) },
      { $secret: 'unknown' },
      { $secret: null },
    ].map((ref): Case =>
      create(json({ steps: [{ name: 'h', skill: 'http.request', params: { url: 'http://x', headers: { authorization: ref } } }] })),
    ),
    create(json({ steps: [{ name: 'h', skill: 'http.request', params: { url: 'http://x', body: [{ deep: { $secret: 'unknown' } }] } }] })),
    // admin
    ...[
      json({}),
      json({ name: '' }),
      json({ name: 5 }),
      json({ name: 'x'.repeat(201) }),
      json({ name: 'a\u0000b' }),
      json({ name: 'ok', extra: 1 }),
      '{',
      '[]',
    ].map((body): Case => ({ name: `admin create tenant ${body}`, method: 'POST', path: '/admin/tenants', body, admin: true })),
    {
      name: 'admin key for an unknown tenant',
      method: 'POST',
      path: '/admin/tenants/00000000-0000-0000-0000-000000000000/api-keys',
      admin: true,
      status: 404,
    },
    { name: 'admin revoke of a bad id', method: 'DELETE', path: '/admin/api-keys/%00', admin: true, status: 404 },
    { name: 'admin with a tenant key', method: 'POST', path: '/admin/tenants', body: json({ name: 'x' }), status: 401 },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await snapshot();
    const path = c.path.startsWith('/RUN/') ? `/v1/runs/${runId}/${c.path.slice(5)}` : c.path;
    const res = await raw(port, { ...c, path }, c.admin ? adminAuth : auth);
    if (c.status) expect(res.status).toBe(c.status);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(res.body);
    expect(problem).toMatchObject({ type: expect.any(String), title: expect.any(String), status: res.status, detail: expect.any(String) });
    if (c.field) expect((problem.errors as Array<{ field: string }>).map((e) => e.field)).toContain(c.field);
    expect(res.body).not.toMatch(/node_modules|at .+\.js:\d+|QueryFailedError|SELECT |INSERT /);
    expect(await snapshot()).toEqual(before);
  });

  it('answers headers larger than Node accepts with 431 problem+json', async () => {
    const res = await raw(port, { name: 'huge header', method: 'GET', path: '/v1/runs', headers: { 'x-huge': 'h'.repeat(20_000) } }, auth);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers bytes Node's HTTP parser refuses (a DEL in a header value) with 400 problem+json", async () => {
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('GET /v1/runs HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u007fb\r\n\r\n'),
      );
      let data = '';
      socket
        .on('data', (d) => (data += d.toString('latin1')))
        .on('end', () => resolve(data))
        .on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).toMatch(/Content-Type: application\/problem\+json/i);
  });

  const finished = (id: string) =>
    waitFor(async () => {
      const run = (await t.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    });

  it('accepts constructor and prototype as ordinary keys inside free-form input, stores them as sent and runs', async () => {
    const input = { constructor: 'Ferrari', prototype: 1, nested: { constructor: { prototype: 'p' } } };
    const res = await t.http
      .post('/v1/agents/a/runs')
      .set('Authorization', auth)
      .send({
        steps: [{ name: 's', skill: 'transform', params: { expression: 'input.constructor & "/" & input.nested.constructor.prototype' } }],
        input,
      })
      .expect(202);
    expect(res.body.input).toEqual(input);
    const done = await finished(res.body.id);
    expect(done).toMatchObject({ status: 'succeeded', input, output: 'Ferrari/p' });
  });

  it('a what-if replay takes constructor and prototype as ordinary keys in its input and patch: stored as sent, applied, nothing polluted', async () => {
    const input = { constructor: 'Ferrari', nested: { prototype: 'p' } };
    const patch = { expression: 'input.constructor & "/" & input.nested.prototype', constructor: { prototype: { pollutedByPatch: true } } };
    const res = await t.http
      .post(`/v1/runs/${runId}/replay`)
      .set('Authorization', auth)
      .send({ input, overrides: { '0': { params: patch } } })
      .expect(202);
    expect(res.body.input).toEqual(input);
    expect(await finished(res.body.id)).toMatchObject({ status: 'succeeded', input, output: 'Ferrari/p' });
    const stored = await db.query<{ steps: Array<{ params: unknown }> }>('SELECT steps FROM runs WHERE id = $1', [res.body.id]);
    expect(stored.rows[0].steps[0].params).toEqual(patch);
    expect(({} as Record<string, unknown>).pollutedByPatch).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).prototype).toBeUndefined();
  });

  it('accepts a secret at the boundaries: a 128-character name, an 8192-character value (astral characters count once)', async () => {
    await t.http
      .put(`/v1/secrets/${'n'.repeat(128)}`)
      .set('Authorization', auth)
      .send({ value: 'v'.repeat(8192) })
      .expect(204);
    await t.http
      .put('/v1/secrets/astral')
      .set('Authorization', auth)
      .send({ value: '🔑'.repeat(8192) })
      .expect(204);
    await t.http.put('/v1/secrets/nul-inside').set('Authorization', auth).send({ value: 'a\u0000b' }).expect(204);
  });

  /**
   * Prototype-pollution payloads, each with the property it would plant on Object.prototype. Each is
   * refused (4xx problem+json, nothing stored) or accepted, stored exactly as sent and run; none may
   * pollute this process (the API and its in-process worker run here).
   */
  const S = '{"name":"s","skill":"transform","params":{"expression":"$string(input)"}}';
  const pollution: Array<{ name: string; path: string; body: string; prop: string }> = [
    { name: '__proto__ at the top', path: 'create', body: `{"steps":[${S}],"__proto__":{"pollutedTop":true}}`, prop: 'pollutedTop' },
    {
      name: 'constructor.prototype at the top',
      path: 'create',
      body: `{"steps":[${S}],"constructor":{"prototype":{"pollutedCtor":1}}}`,
      prop: 'pollutedCtor',
    },
    {
      name: '__proto__ in input',
      path: 'create',
      body: `{"steps":[${S}],"input":{"__proto__":{"pollutedInput":true}}}`,
      prop: 'pollutedInput',
    },
    {
      name: '__proto__ deep in input',
      path: 'create',
      body: `{"steps":[${S}],"input":{"deep":{"__proto__":{"pollutedDeep":true}}}}`,
      prop: 'pollutedDeep',
    },
    {
      name: 'constructor.prototype in input',
      path: 'create',
      body: `{"steps":[${S}],"input":{"constructor":{"prototype":{"pollutedInputCtor":true}}}}`,
      prop: 'pollutedInputCtor',
    },
    {
      name: '__proto__ in metadata',
      path: 'create',
      body: `{"steps":[${S}],"metadata":{"__proto__":{"pollutedMeta":true}}}`,
      prop: 'pollutedMeta',
    },
    {
      name: '__proto__ in a step',
      path: 'create',
      body: '{"steps":[{"name":"s","skill":"transform","params":{"expression":"1"},"__proto__":{"pollutedStep":true}}]}',
      prop: 'pollutedStep',
    },
    {
      name: 'constructor key in a step',
      path: 'create',
      body: '{"steps":[{"name":"s","skill":"transform","params":{"expression":"1"},"constructor":{"prototype":{"pollutedStepCtor":true}}}]}',
      prop: 'pollutedStepCtor',
    },
    {
      name: '__proto__ in params',
      path: 'create',
      body: '{"steps":[{"name":"s","skill":"delay","params":{"ms":1,"__proto__":{"pollutedParams":true}}}]}',
      prop: 'pollutedParams',
    },
    { name: '__proto__ in a replay body', path: 'replay', body: '{"__proto__":{"pollutedReplay":true}}', prop: 'pollutedReplay' },
    {
      name: '__proto__ in replay behaviors',
      path: 'replay',
      body: '{"behaviors":{"__proto__":{"pollutedBehaviors":"skip"}}}',
      prop: 'pollutedBehaviors',
    },
    {
      name: '__proto__ in a batch filter',
      path: 'batch',
      body: '{"filter":{"__proto__":{"pollutedFilter":true}}}',
      prop: 'pollutedFilter',
    },
    {
      name: '__proto__ in batch replay behaviors',
      path: 'batch',
      body: '{"replay":{"behaviors":{"__proto__":{"pollutedBatchBehaviors":"skip"}}}}',
      prop: 'pollutedBatchBehaviors',
    },
    {
      name: 'constructor.prototype in a batch body',
      path: 'batch',
      body: '{"filter":{"limit":1},"constructor":{"prototype":{"pollutedBatchCtor":true}}}',
      prop: 'pollutedBatchCtor',
    },
    {
      name: '__proto__ in a replay override patch',
      path: 'replay',
      body: '{"overrides":{"0":{"params":{"__proto__":{"pollutedPatch":true}}}}}',
      prop: 'pollutedPatch',
    },
    {
      name: '__proto__ in a replay input',
      path: 'replay',
      body: '{"input":{"__proto__":{"pollutedReplayInput":true}}}',
      prop: 'pollutedReplayInput',
    },
    { name: '__proto__ in an admin body', path: 'admin', body: '{"name":"p","__proto__":{"pollutedAdmin":true}}', prop: 'pollutedAdmin' },
  ];

  it.each(pollution.map((p) => [p.name, p] as const))('prototype pollution: %s', async (_name, p) => {
    const before = await snapshot();
    const path =
      p.path === 'create'
        ? '/v1/agents/a/runs'
        : p.path === 'replay'
          ? `/v1/runs/${runId}/replay`
          : p.path === 'batch'
            ? '/v1/replays'
            : '/admin/tenants';
    const res = await raw(port, { name: p.name, method: 'POST', path, body: p.body }, p.path === 'admin' ? adminAuth : auth);
    if (res.status === 202) {
      // accepted: stored exactly as sent (the same JSON text, own "__proto__" keys included), and it runs
      const sent = JSON.parse(p.body) as { input?: unknown; metadata?: unknown; steps?: Array<{ params: unknown }> };
      const run = JSON.parse(res.body) as { id: string };
      const stored = await db.query<{ input: string; metadata: string; steps: string }>(
        'SELECT input::text, metadata::text, steps::text FROM runs WHERE id = $1',
        [run.id],
      );
      expect(JSON.stringify(JSON.parse(stored.rows[0].input))).toBe(JSON.stringify(sent.input ?? {}));
      expect(JSON.stringify(JSON.parse(stored.rows[0].metadata))).toBe(JSON.stringify(sent.metadata ?? {}));
      expect(JSON.stringify((JSON.parse(stored.rows[0].steps) as Array<{ params: unknown }>).map((s) => s.params))).toBe(
        JSON.stringify(sent.steps?.map((s) => s.params)),
      );
      expect((await finished(run.id)).status).toBe('succeeded');
    } else {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(await snapshot()).toEqual(before);
    }
    expect(Object.prototype).not.toHaveProperty(p.prop);
    expect(({} as Record<string, unknown>)[p.prop]).toBeUndefined();
  });

  it('did not pollute Object.prototype with any payload', () => {
    for (const p of pollution) expect(({} as Record<string, unknown>)[p.prop]).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(
      [
        '__defineGetter__',
        '__defineSetter__',
        '__lookupGetter__',
        '__lookupSetter__',
        '__proto__',
        'constructor',
        'hasOwnProperty',
        'isPrototypeOf',
        'propertyIsEnumerable',
        'toLocaleString',
        'toString',
        'valueOf',
      ].sort(),
    );
  });
});
