import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SideEffectServer } from './support/side-effect-server.js';
import { type RunsHarness, startRunsHarness, type TestApp, waitFor } from './support/test-app.js';

interface Step {
  index: number;
  status: string;
  params: Record<string, unknown>;
  output: unknown;
  output_hash: string;
  replay_behavior: string;
  idempotency_key: string | null;
  executed: boolean;
  skipped: boolean;
  checked: boolean;
  from_cache: boolean;
  expected_hash: string | null;
  mismatch: { expected_hash: string | null; actual_hash: string; diff: unknown[] } | null;
  error: { type: string; message: string } | null;
}

const SECRET = `tok_${randomBytes(8).toString('hex')}`;
const MAX_BODY_BYTES = 16_384;

/**
 * What-if replays (API.md "What-if replays: input, overrides"): a replacement input and per-step
 * overrides (RFC 7396 merge patch of params as written, idempotency_key), on the real PostgreSQL and
 * Redis, against a loopback upstream that records what it receives (and an OpenAI-compatible fake).
 */
describe('what-if replays: input and overrides (real PostgreSQL + Redis, recording upstream)', () => {
  let h: RunsHarness;
  let t: TestApp;
  let server: SideEffectServer;
  let auth: string;
  let db: pg.Client;

  beforeAll(async () => {
    h = await startRunsHarness('what-if', (s) => ({
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`,
      RUN_RETRY_BACKOFF_MS: '50',
      LLM_BASE_URL: `${s.url}/v1`,
      SECRETS_KEY: randomBytes(32).toString('base64'),
      // small, so a near-limit original is cheap to build
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    }));
    ({ app: t, server, auth } = h);
    await t.http.put('/v1/secrets/tok').set('Authorization', auth).send({ value: SECRET }).expect(204);
    db = new pg.Client({ connectionString: h.env.db.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await h?.dispose();
  });

  const getRun = async (id: string) => (await t.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
  const finished = (id: string) =>
    waitFor(async () => {
      const run = await getRun(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    });
  const trace = async (id: string) => {
    const res = await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200);
    expect(res.text).not.toContain(SECRET);
    return res.body as { run_id: string; replay_of: string | null; steps: Step[] };
  };
  const submit = async (steps: unknown[], input: unknown = {}) =>
    finished((await t.http.post('/v1/agents/what-if/runs').set('Authorization', auth).send({ input, steps }).expect(202)).body.id);
  const replay = (id: string, body: unknown = {}, key?: string) => {
    const req = t.http.post(`/v1/runs/${id}/replay`).set('Authorization', auth);
    if (key) req.set('Idempotency-Key', key);
    return req.send(body as object);
  };
  const replayed = async (id: string, body: unknown) => {
    const res = await replay(id, body).expect(202);
    expect(res.text).not.toContain(SECRET);
    return finished(res.body.id);
  };
  const sentTo = (path: string) => server.log.filter((l) => l.path === path);
  const counts = async () =>
    (await db.query('SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM run_idempotency_keys) AS keys')).rows[0];

  it('overrides reach the upstream (patched url, header, body; $secret kept) and show in the trace; the original never changes', async () => {
    const original = await submit(
      [
        {
          name: 'notify',
          skill: 'http.request',
          params: {
            url: `${server.url}/effect/wi-before`,
            method: 'POST',
            headers: { 'x-api-token': { $secret: 'tok' }, 'x-variant': 'a' },
            body: { order: { $ref: '/input/order' }, note: 'first', tags: ['x', 'y'] },
          },
        },
        { name: 'draft', skill: 'llm.chat', params: { model: 'model-a', messages: [{ role: 'user', content: 'hi' }] } },
        { name: 'label', skill: 'transform', params: { expression: 'steps[1].output.model' } },
      ],
      { order: 7 },
    );
    expect(original).toMatchObject({ status: 'succeeded', output: 'model-a' });
    const before = await trace(original.id);
    const run = await replayed(original.id, {
      default_behavior: 'skip',
      overrides: {
        '0': { params: { url: `${server.url}/effect/wi-after`, headers: { 'x-variant': 'b' }, body: { note: null, tags: ['z'] } } },
        '1': { params: { model: 'model-b' } },
      },
    });
    // default skip: the overridden steps execute, the other one is skipped
    expect(run).toMatchObject({ status: 'succeeded', replay_of: original.id, output: 'model-a', input: { order: 7 } });
    expect(run.replay.summary).toEqual({ executed: 2, skipped: 1, checked: 0, from_cache: 1, mismatches: 0 });

    // what the upstream received: the patched request, the secret's real value, the $ref resolved
    expect(sentTo('/effect/wi-before')).toHaveLength(1);
    const [sent] = sentTo('/effect/wi-after');
    expect(sent.headers['x-variant']).toBe('b');
    expect(sent.headers['x-api-token']).toBe(SECRET);
    expect(JSON.parse(sent.body)).toEqual({ order: 7, tags: ['z'] });
    const chats = sentTo('/v1/chat/completions').map((l) => JSON.parse(l.body) as { model: string });
    expect(chats.map((c) => c.model)).toEqual(['model-a', 'model-b']);

    const tr = await trace(run.id);
    expect(tr.steps.map((s) => [s.replay_behavior, s.executed, s.skipped])).toEqual([
      ['execute', true, false],
      ['execute', true, false],
      ['skip', false, true],
    ]);
    // the trace shows the overridden params as resolved, the secret as its placeholder
    expect(tr.steps[0].params).toEqual({
      url: `${server.url}/effect/wi-after`,
      method: 'POST',
      headers: { 'x-api-token': '[secret:tok]', 'x-variant': 'b' },
      body: { order: 7, tags: ['z'] },
    });
    expect(tr.steps[1].params).toEqual({ model: 'model-b', messages: [{ role: 'user', content: 'hi' }] });
    expect(tr.steps[1].output).toMatchObject({ model: 'model-b' });
    expect(await trace(original.id)).toEqual(before);
  });

  it('input replaces the original input: $ref /input/... sees it, the replay run shows it', async () => {
    const original = await submit(
      [
        {
          name: 'send',
          skill: 'http.request',
          params: { url: `${server.url}/effect/wi-input`, method: 'POST', body: { order: { $ref: '/input/order' } } },
        },
        { name: 'double', skill: 'transform', params: { expression: 'input.order * 2' } },
      ],
      { order: 7, customer: 'c-1' },
    );
    expect(original.output).toBe(14);
    const run = await replayed(original.id, { input: { order: 43 }, default_behavior: 'execute' });
    expect(run).toMatchObject({ status: 'succeeded', input: { order: 43 }, output: 86 });
    expect(sentTo('/effect/wi-input').map((l) => JSON.parse(l.body))).toEqual([{ order: 7 }, { order: 43 }]);
    expect((await trace(run.id)).steps[0].params.body).toEqual({ order: 43 });
    expect((await getRun(original.id)).input).toEqual({ order: 7, customer: 'c-1' });
  });

  it('a keyed step overridden without a new key fails with idempotency_violation: its side effect is not repeated', async () => {
    const charge = {
      name: 'charge',
      skill: 'http.request',
      params: { url: `${server.url}/pay/wi-charge`, method: 'POST', body: { amount: 10 } },
      idempotency_key: 'wi-charge-1',
    };
    const original = await submit([charge, { name: 'after', skill: 'transform', params: { expression: '1' } }]);
    expect(original.status).toBe('succeeded');
    expect(server.applied('/pay/wi-charge')).toBe(1);

    const violated = await replayed(original.id, { overrides: { '0': { params: { body: { amount: 20 } } } } });
    expect(violated).toMatchObject({ status: 'failed', error: { type: 'idempotency_violation', step_index: 0 } });
    expect(sentTo('/pay/wi-charge')).toHaveLength(1);
    const tr = await trace(violated.id);
    expect(tr.steps.map((s) => s.status)).toEqual(['failed', 'cancelled']);
    expect(tr.steps[0]).toMatchObject({ idempotency_key: 'wi-charge-1', params: { body: { amount: 20 } }, executed: false });

    // with a new key it executes, once: the upstream sees the patched body and the new key
    const body = { overrides: { '0': { params: { body: { amount: 20 } }, idempotency_key: 'wi-charge-2' } } };
    const charged = await replayed(original.id, body);
    expect(charged.status).toBe('succeeded');
    expect(server.applied('/pay/wi-charge')).toBe(2);
    const last = sentTo('/pay/wi-charge').at(-1)!;
    expect(last.headers['idempotency-key']).toBe('wi-charge-2');
    expect(JSON.parse(last.body)).toEqual({ amount: 20 });
    const step = (await trace(charged.id)).steps[0];
    expect(step).toMatchObject({ idempotency_key: 'wi-charge-2', executed: true, params: { body: { amount: 20 } } });
    expect(step.output).toMatchObject({ body: { charge: 2 } });

    // the same what-if again: the new key's stored result, no second charge
    const again = await replayed(original.id, body);
    expect(again.status).toBe('succeeded');
    expect((await trace(again.id)).steps[0]).toMatchObject({ executed: false, from_cache: true, idempotency_key: 'wi-charge-2' });
    expect(sentTo('/pay/wi-charge')).toHaveLength(2);
    expect(server.applied('/pay/wi-charge')).toBe(2);
  });

  it('an overridden step under check is compared with the ORIGINAL recorded output', async () => {
    const original = await submit([
      { name: 'draft', skill: 'llm.chat', params: { model: 'model-a', messages: [{ role: 'user', content: 'compare me' }] } },
    ]);
    const recorded = (await trace(original.id)).steps[0];
    const same = await replayed(original.id, { default_behavior: 'check', overrides: { '0': { params: { temperature: 0 } } } });
    expect(same.replay).toMatchObject({ verdict: 'match', summary: { checked: 1, executed: 1 } });
    expect(sentTo('/v1/chat/completions').at(-1)!.body).toContain('"temperature":0');

    const switched = await replayed(original.id, {
      default_behavior: 'check',
      on_mismatch: 'continue',
      overrides: { '0': { params: { model: 'model-b' } } },
    });
    expect(switched.replay.verdict).toBe('mismatch');
    const step = (await trace(switched.id)).steps[0];
    expect(step).toMatchObject({ checked: true, executed: true, expected_hash: recorded.output_hash });
    expect(step.mismatch!.diff).toEqual([{ op: 'replace', path: '/model', value: 'model-b' }]);
  });

  it('skip for an overridden step is a 400 (behaviors[i], from_step past it); nothing stored', async () => {
    const original = await submit([
      { name: 'a', skill: 'transform', params: { expression: '1' } },
      { name: 'b', skill: 'transform', params: { expression: '2' } },
    ]);
    const before = await counts();
    const skipIt = await replay(
      original.id,
      { behaviors: { '1': 'skip' }, overrides: { '1': { params: { expression: '3' } } } },
      'wi-skip',
    );
    expect(skipIt.status).toBe(400);
    expect(skipIt.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(skipIt.body.errors).toEqual([{ field: 'behaviors.1', message: expect.stringContaining('never skipped') }]);
    const forked = await replay(original.id, { from_step: 1, overrides: { '0': { params: { expression: '3' } } } });
    expect(forked.status).toBe(400);
    expect(forked.body.errors).toEqual([{ field: 'from_step', message: expect.stringContaining('never skipped') }]);
    expect(await counts()).toEqual(before);
    // the same override is fine where the step is not skipped: the key was not used up by the refused request
    const ok = await replay(original.id, { behaviors: { '1': 'execute' }, overrides: { '1': { params: { expression: '3' } } } }, 'wi-skip');
    expect(ok.status).toBe(202);
    expect(await finished(ok.body.id)).toMatchObject({ status: 'succeeded', output: 3 });
  });

  it('patched params are checked as on create; errors name overrides.<index>.params...', async () => {
    const original = await submit([
      { name: 'fetch', skill: 'http.request', params: { url: `${server.url}/fixed` } },
      { name: 'sum', skill: 'transform', params: { expression: '$sum(steps[0].output.body.items)' } },
    ]);
    const before = await counts();
    const cases: Array<[unknown, string]> = [
      [{ '0': { params: { url: 'ftp://x' } } }, 'overrides.0.params.url'],
      [{ '0': { params: { url: null } } }, 'overrides.0.params.url'], // null removes the url: params invalid
      [{ '0': { params: { method: 'BREW' } } }, 'overrides.0.params.method'],
      [{ '0': { params: { headers: { 'x-a': { $secret: 'nope' } } } } }, 'overrides.0.params.headers.x-a'],
      [{ '0': { params: { headers: { 'x-a': { $secret: 'bad name' } } } } }, 'overrides.0.params.headers.x-a'],
      [{ '0': { params: { body: { v: { $ref: '/steps/1/output' } } } } }, 'overrides.0.params.body.v'],
      [{ '1': { params: { expression: '$sum(' } } }, 'overrides.1.params.expression'],
      [{ '1': { params: { expression: { $ref: 'nope' } } } }, 'overrides.1.params.expression'],
    ];
    for (const [overrides, field] of cases) {
      const res = await replay(original.id, { overrides }, `wi-bad-${field}`);
      expect([res.status, res.headers['content-type']]).toEqual([400, expect.stringMatching(/^application\/problem\+json/)]);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
    expect(await counts()).toEqual(before);
  });

  it('the patch merges into the params as written: a $ref is replaced whole, never merged into the value it points to', async () => {
    const original = await submit(
      [
        {
          name: 'send',
          skill: 'http.request',
          params: { url: `${server.url}/effect/wi-ref`, method: 'POST', body: { order: { $ref: '/input/order' } } },
        },
      ],
      { order: { id: 7, qty: 1 }, other: { id: 9 } },
    );
    // a patch that points the $ref elsewhere: the new pointer is resolved when the step runs
    const repointed = await replayed(original.id, { overrides: { '0': { params: { body: { order: { $ref: '/input/other' } } } } } });
    expect(repointed.status).toBe('succeeded');
    expect(JSON.parse(sentTo('/effect/wi-ref').at(-1)!.body)).toEqual({ order: { id: 9 } });
    expect((await trace(repointed.id)).steps[0].params.body).toEqual({ order: { id: 9 } });
    // merged into the $ref object itself: { "$ref": "/input/order", "qty": 2 } is no longer a reference
    const merged = await replay(original.id, { overrides: { '0': { params: { body: { order: { qty: 2 } } } } } });
    expect(merged.status).toBe(400);
    expect(merged.body.errors.map((e: { field: string }) => e.field)).toEqual(['overrides.0.params.body.order']);
    // replacing it: null removes "$ref", the members given are the new value
    const replaced = await replayed(original.id, { overrides: { '0': { params: { body: { order: { $ref: null, id: 7, qty: 2 } } } } } });
    expect(replaced.status).toBe('succeeded');
    expect(JSON.parse(sentTo('/effect/wi-ref').at(-1)!.body)).toEqual({ order: { id: 7, qty: 2 } });
  });

  it("the replay's Idempotency-Key covers the whole body: same key + other overrides or input -> 422", async () => {
    const original = await submit([{ name: 'double', skill: 'transform', params: { expression: 'input.n * 2' } }], { n: 1 });
    const body = { input: { n: 2 }, overrides: { '0': { params: { expression: 'input.n * 3' } } } };
    const first = await replay(original.id, body, 'wi-key').expect(202);
    const retry = await replay(original.id, body, 'wi-key').expect(202);
    expect(retry.body.id).toBe(first.body.id);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await finished(first.body.id)).toMatchObject({ status: 'succeeded', output: 6, input: { n: 2 } });
    const before = await counts();
    const otherPatch = await replay(original.id, { ...body, overrides: { '0': { params: { expression: 'input.n * 4' } } } }, 'wi-key');
    expect([otherPatch.status, otherPatch.body.type]).toEqual([422, 'idempotency-key-reused']);
    const otherInput = await replay(original.id, { ...body, input: { n: 3 } }, 'wi-key');
    expect([otherInput.status, otherInput.body.type]).toEqual([422, 'idempotency-key-reused']);
    const otherKey = await replay(
      original.id,
      { ...body, overrides: { '0': { params: { expression: 'input.n * 3' }, idempotency_key: 'k' } } },
      'wi-key',
    );
    expect(otherKey.status).toBe(422);
    expect(await counts()).toEqual(before);
  });

  it('the replay run keeps what it executes: the overridden plan and the input are read back from its row', async () => {
    const original = await submit(
      [
        {
          name: 'send',
          skill: 'http.request',
          params: { url: `${server.url}/effect/wi-stored`, method: 'POST', body: { n: { $ref: '/input/n' } } },
          idempotency_key: 'wi-stored-1',
        },
      ],
      { n: 1 },
    );
    const overrides = { '0': { params: { body: { extra: true } }, idempotency_key: 'wi-stored-2' } };
    const run = await replayed(original.id, { input: { n: 5 }, overrides });
    expect(run.status).toBe('succeeded');
    const { rows } = await db.query('SELECT input, steps, replay_options FROM runs WHERE id = $1', [run.id]);
    expect(rows[0].input).toEqual({ n: 5 });
    expect(rows[0].steps[0]).toMatchObject({
      params: { url: `${server.url}/effect/wi-stored`, method: 'POST', body: { n: { $ref: '/input/n' }, extra: true } },
      idempotency_key: 'wi-stored-2',
    });
    expect(rows[0].replay_options.overrides).toEqual(overrides);
    const { rows: originalRows } = await db.query('SELECT input, steps FROM runs WHERE id = $1', [original.id]);
    expect(originalRows[0].steps[0]).toMatchObject({ params: { body: { n: { $ref: '/input/n' } } }, idempotency_key: 'wi-stored-1' });
  });

  it('a retried keyed what-if replay is answered with its run after a secret it names was deleted (as a create is)', async () => {
    await t.http.put('/v1/secrets/tok2').set('Authorization', auth).send({ value: SECRET }).expect(204);
    const original = await submit([
      { skill: 'http.request', params: { url: `${server.url}/effect/wi-p1`, method: 'POST', headers: { 'x-t': { $secret: 'tok2' } } } },
    ]);
    expect(original.status).toBe('succeeded');
    const body = { overrides: { '0': { params: { headers: { 'x-v': 'b' } } } } };
    const first = await replay(original.id, body, 'wi-p1-key').expect(202);
    expect(await finished(first.body.id)).toMatchObject({ status: 'succeeded' });
    await t.http.delete('/v1/secrets/tok2').set('Authorization', auth).expect(204);
    const before = await counts();

    const retry = await replay(original.id, body, 'wi-p1-key');
    expect([retry.status, retry.headers['idempotent-replayed'], retry.body.id]).toEqual([202, 'true', first.body.id]);
    // not a retry (no key, another body under the key, another key): the deleted secret is refused
    for (const [other, key] of [
      [body, undefined],
      [{ overrides: { '0': { params: { headers: { 'x-v': 'c' } } } } }, 'wi-p1-key'],
      [body, 'wi-p1-other'],
    ] as const) {
      const refused = await replay(original.id, other, key);
      expect([refused.status, refused.body.errors]).toEqual([
        400,
        [{ field: 'overrides.0.params.headers.x-t', message: expect.any(String) }],
      ]);
    }
    expect(await counts()).toEqual(before);
    // a step that is not overridden is not re-checked: it fails when it runs
    const plain = await replayed(original.id, {});
    expect(plain).toMatchObject({ status: 'failed', error: { type: 'secret_missing', step_index: 0 } });
  });

  it("a new input does not turn a skipped keyed step into idempotency_violation: skip takes the key's stored result", async () => {
    const original = await submit(
      [
        {
          name: 'pay',
          skill: 'http.request',
          params: { url: `${server.url}/pay/wi-p2`, method: 'POST', body: { n: { $ref: '/input/n' } } },
          idempotency_key: 'wi-p2-key',
        },
        { name: 'times', skill: 'transform', params: { expression: 'input.n * 10' } },
      ],
      { n: 1 },
    );
    expect(original).toMatchObject({ status: 'succeeded', output: 10 });
    const paid = (await trace(original.id)).steps[0];
    for (const body of [
      { input: { n: 2 }, default_behavior: 'skip', behaviors: { '1': 'execute' } },
      { input: { n: 2 }, from_step: 1 },
    ]) {
      const run = await replayed(original.id, body);
      expect([run.status, run.error, run.output]).toEqual(['succeeded', null, 20]);
      const step = (await trace(run.id)).steps[0];
      expect(step).toMatchObject({ skipped: true, from_cache: true, executed: false, output_hash: paid.output_hash });
      // the params as this replay would have sent them (the new input), though nothing was sent
      expect(step.params.body).toEqual({ n: 2 });
    }
    expect(sentTo('/pay/wi-p2')).toHaveLength(1);
    // executing it with the new input under the same key is still a violation: the key protects its side effect
    const executed = await replayed(original.id, { input: { n: 2 } });
    expect(executed).toMatchObject({ status: 'failed', error: { type: 'idempotency_violation', step_index: 0 } });
    expect(sentTo('/pay/wi-p2')).toHaveLength(1);
  });

  it('the size limit: an original accepted near MAX_BODY_BYTES takes small what-ifs; a replay growing past both is refused', async () => {
    const steps = Array.from({ length: 30 }, () => ({ skill: 'transform', params: { expression: '1' } }));
    const fill = MAX_BODY_BYTES - Buffer.byteLength(JSON.stringify({ input: { f: '' }, steps })) - 200;
    const input = { f: 'x'.repeat(fill) };
    const original = await finished(
      (await t.http.post('/v1/agents/what-if/runs').set('Authorization', auth).send({ input, steps }).expect(202)).body.id,
    );
    expect(original.status).toBe('succeeded');
    // the stored plan (defaults filled in) is larger than the body that created it
    const { rows } = await db.query('SELECT input, steps FROM runs WHERE id = $1', [original.id]);
    expect(Buffer.byteLength(JSON.stringify({ input: rows[0].input, steps: rows[0].steps }))).toBeGreaterThan(MAX_BODY_BYTES);

    const tiny = await replay(original.id, { overrides: { '29': { params: { expression: '2' } } } });
    expect([tiny.status, tiny.body.errors]).toEqual([202, undefined]);
    expect(await finished(tiny.body.id)).toMatchObject({ status: 'succeeded', output: 2 });
    const sameInput = await replay(original.id, { input });
    expect([sameInput.status, sameInput.body.errors]).toEqual([202, undefined]);

    const before = await counts();
    // patches that add ~2 KB: the request is small, the plan it makes is larger than the original's
    const pad = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [String(i), { params: { pad: 'p'.repeat(100) } }]));
    const grown = await replay(original.id, { overrides: pad });
    expect([grown.status, grown.body.errors]).toEqual([400, [{ field: 'overrides', message: expect.stringContaining('MAX_BODY_BYTES') }]]);
    // a small original: the limit is MAX_BODY_BYTES
    const small = await submit([{ skill: 'transform', params: { expression: '1', note: 'z'.repeat(7_000) } }]);
    const big = await replay(small.id, { input: { f: 'x'.repeat(MAX_BODY_BYTES - 8_000) } });
    expect([big.status, big.body.errors]).toEqual([202, undefined]);
    const tooBig = await replay(small.id, { input: { f: 'x'.repeat(MAX_BODY_BYTES - 7_000) } });
    expect([tooBig.status, tooBig.body.errors]).toEqual([400, [{ field: 'input', message: expect.stringContaining('MAX_BODY_BYTES') }]]);
    expect((await counts()).runs).toBe(String(Number(before.runs) + 2)); // `small` and `big`
  });

  it('a 400 lists at most 100 field errors plus one that counts the rest', async () => {
    const original = await submit([{ skill: 'transform', params: { expression: '1' } }]);
    const many = (value: unknown) => Object.fromEntries(Array.from({ length: 600 }, (_, i) => [String(i + 5), value]));
    for (const body of [{ overrides: many({}) }, { behaviors: many('check') }]) {
      const res = await replay(original.id, body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toHaveLength(101);
      expect(res.body.errors[99]).toMatchObject({ field: Object.keys(body)[0] + '.104' });
      expect(res.body.errors[100]).toEqual({ field: '(more)', message: '...and 500 more errors' });
    }
  });

  it('an override may not key a wait step (it has no side effect to key); its params may be overridden', async () => {
    const original = (
      await t.http
        .post('/v1/agents/what-if/runs')
        .set('Authorization', auth)
        .send({ steps: [{ skill: 'wait', params: { signal: 'go', timeout_ms: 60_000 } }] })
        .expect(202)
    ).body;
    await t.http.post(`/v1/runs/${original.id}/signals/go`).set('Authorization', auth).send({ ok: true }).expect(202);
    expect(await finished(original.id)).toMatchObject({ status: 'succeeded' });
    for (const idempotency_key of ['wi-wait', null]) {
      const res = await replay(original.id, { overrides: { '0': { idempotency_key } } });
      expect([res.status, res.body.errors]).toEqual([
        400,
        [{ field: 'overrides.0.idempotency_key', message: expect.stringContaining('wait step') }],
      ]);
    }
    const waiting = await replay(original.id, { overrides: { '0': { params: { signal: 'again' } } } }).expect(202);
    await t.http.post(`/v1/runs/${waiting.body.id}/signals/again`).set('Authorization', auth).send({ ok: 2 }).expect(202);
    expect(await finished(waiting.body.id)).toMatchObject({ status: 'succeeded', output: { ok: 2 } });
  });
});
