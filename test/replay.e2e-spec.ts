import { sha256, simpleCanonical } from './support/canonical.js';
import type { SideEffectServer } from './support/side-effect-server.js';
import { createTenant, type RunsHarness, startRunsHarness, type TestApp, waitFor } from './support/test-app.js';

interface Step {
  index: number;
  status: string;
  output: unknown;
  output_hash: string;
  replay_behavior: string;
  executed: boolean;
  skipped: boolean;
  checked: boolean;
  from_cache: boolean;
  expected_hash: string | null;
  mismatch: { expected_hash: string | null; actual_hash: string; diff: unknown[] } | null;
}

describe('POST /v1/runs/{id}/replay (real PostgreSQL + Redis, side-effect-counting server)', () => {
  let h: RunsHarness;
  let t: TestApp;
  let server: SideEffectServer;
  let auth: string;

  beforeAll(async () => {
    h = await startRunsHarness('replayer', (s) => ({
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`,
      RUN_RETRY_BACKOFF_MS: '50',
      LLM_BASE_URL: `${s.url}/v1`,
      MAX_STEPS: '1000',
    }));
    ({ app: t, server, auth } = h);
  });

  afterAll(async () => {
    await h?.dispose();
  });

  const getRun = async (id: string) => (await t.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
  const finished = (id: string) =>
    waitFor(async () => {
      const run = await getRun(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    });
  const trace = async (id: string) =>
    (await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body as {
      run_id: string;
      replay_of: string | null;
      steps: Step[];
    };
  const submit = async (steps: unknown[]) =>
    finished((await t.http.post('/v1/agents/replay-agent/runs').set('Authorization', auth).send({ steps }).expect(202)).body.id);
  const replay = (id: string, body: unknown = {}, key?: string) => {
    const req = t.http.post(`/v1/runs/${id}/replay`).set('Authorization', auth);
    if (key) req.set('Idempotency-Key', key);
    return req.send(body as object);
  };
  const replayed = async (id: string, body: unknown = {}) => {
    const res = await replay(id, body).expect(202);
    expect(res.headers.location).toBe(`/v1/runs/${res.body.id}`);
    expect(res.body.replay_of).toBe(id);
    return finished(res.body.id);
  };

  /** A three-step plan: a side effect, a deterministic fetch, and a transform of the fetch. */
  const plan = (tag: string) => [
    { name: 'effect', skill: 'http.request', params: { url: `${server.url}/effect/${tag}`, method: 'POST' } },
    { name: 'fixed', skill: 'http.request', params: { url: `${server.url}/fixed` } },
    { name: 'sum', skill: 'transform', params: { expression: '$sum(steps[1].output.body.items)' } },
  ];

  it('skip calls the server zero times and returns the recorded outputs; the original never changes', async () => {
    const original = await submit(plan('skip'));
    const before = await trace(original.id);
    const hitsBefore = server.hits('/effect/skip') + server.hits('/fixed');
    const run = await replayed(original.id, { default_behavior: 'skip' });
    expect(run).toMatchObject({ status: 'succeeded', replay_of: original.id, output: 6 });
    expect(server.hits('/effect/skip') + server.hits('/fixed')).toBe(hitsBefore);
    const tr = await trace(run.id);
    expect(tr.replay_of).toBe(original.id);
    expect(tr.steps).toHaveLength(3);
    tr.steps.forEach((step, i) => {
      expect(step).toMatchObject({ skipped: true, from_cache: true, executed: false, replay_behavior: 'skip' });
      expect(step.output).toEqual(before.steps[i].output);
      expect(step.output_hash).toBe(before.steps[i].output_hash);
    });
    expect(run.replay).toEqual({
      verdict: 'match',
      summary: { executed: 0, skipped: 3, checked: 0, from_cache: 3, mismatches: 0 },
      mismatches: [],
    });
    expect(await trace(original.id)).toEqual(before);
    expect((await getRun(original.id)).replay).toBeNull();
  });

  it('a skip replay of 1,000 steps (written in batches) records exactly the original outputs and hashes; a keyed step takes its key', async () => {
    // Pure transforms with varied outputs (objects built in another key order, strings, nulls, earlier outputs), and a
    // keyed side effect in the middle: skipped steps are recorded in batches, the keyed one at once.
    const steps = Array.from({ length: 1000 }, (_, i) => {
      if (i === 500) {
        return {
          name: 'keyed',
          skill: 'http.request',
          params: { url: `${server.url}/effect/skip-1000`, method: 'POST' },
          idempotency_key: `skip-1000-${Date.now()}`,
        };
      }
      if (i % 7 === 3) return { name: `prev${i}`, skill: 'transform', params: { expression: `steps[${i - 1}].output` } };
      const expression = [
        `{ "z": ${i}, "a": "s${i}", "m": [${i}, null, { "y": true, "b": ${i % 5} }] }`,
        `${i} * 3`,
        `"text ${i}"`,
        'null',
      ][i % 4];
      return { name: `t${i}`, skill: 'transform', params: { expression } };
    });
    const original = await submit(steps);
    expect(original.status).toBe('succeeded');
    const before = await trace(original.id);
    expect(before.steps).toHaveLength(1000);
    const hits = server.hits('/effect/skip-1000');
    expect(hits).toBe(1);
    const run = await replayed(original.id, { default_behavior: 'skip' });
    expect(run).toMatchObject({ status: 'succeeded', output: original.output });
    expect(run.replay).toEqual({
      verdict: 'match',
      summary: { executed: 0, skipped: 1000, checked: 0, from_cache: 1000, mismatches: 0 },
      mismatches: [],
    });
    expect(server.hits('/effect/skip-1000')).toBe(hits);
    const tr = await trace(run.id);
    expect(tr.steps.map((step) => step.index)).toEqual(before.steps.map((step) => step.index));
    tr.steps.forEach((step, i) => {
      expect(step).toMatchObject({ status: 'succeeded', skipped: true, from_cache: true, executed: false, mismatch: null });
      expect(step.output).toEqual(before.steps[i].output);
      expect(step.output_hash).toBe(before.steps[i].output_hash);
      expect(step.output_hash).toBe(sha256(simpleCanonical(step.output))); // a second implementation agrees
    });
    expect(await trace(original.id)).toEqual(before);
  }, 120_000);

  it('check of deterministic steps matches', async () => {
    const original = await submit(plan('check-ok').slice(1));
    const run = await replayed(original.id, { default_behavior: 'check' });
    expect(run.status).toBe('succeeded');
    expect(run.replay).toMatchObject({ verdict: 'match', summary: { checked: 2, executed: 2, mismatches: 0 } });
    const tr = await trace(run.id);
    expect(tr.steps).toHaveLength(2);
    for (const step of tr.steps) {
      expect(step).toMatchObject({ checked: true, mismatch: null });
      expect(step.expected_hash).toBe(step.output_hash);
    }
  });

  it('check reports a changing step as a mismatch with a JSON Patch; ignore_paths covering the change match', async () => {
    const original = await submit([{ name: 'changing', skill: 'http.request', params: { url: `${server.url}/changing` } }]);
    const recorded = (await trace(original.id)).steps[0];
    const run = await replayed(original.id, { default_behavior: 'check' });
    expect(run).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch', step_index: 0 } });
    const step = (await trace(run.id)).steps[0];
    const now = step.output as { headers: Record<string, string>; body: { generated_at: number; nonce: string } };
    // exactly the three changed fields: the upstream sends no Date header, so nothing depends on the clock
    expect(step.mismatch).toEqual({
      expected_hash: recorded.output_hash,
      actual_hash: sha256(simpleCanonical(step.output)),
      diff: expect.arrayContaining([
        { op: 'replace', path: '/headers/x-generation', value: now.headers['x-generation'] },
        { op: 'replace', path: '/body/generated_at', value: now.body.generated_at },
        { op: 'replace', path: '/body/nonce', value: now.body.nonce },
      ]),
    });
    expect(step.mismatch!.diff).toHaveLength(3);
    expect(run.replay).toMatchObject({
      verdict: 'mismatch',
      summary: { mismatches: 1 },
      mismatches: [{ step_index: 0, expected_hash: recorded.output_hash }],
    });

    const ignoring = await replayed(original.id, {
      default_behavior: 'check',
      ignore_paths: ['/body/generated_at', '/body/nonce', '/headers/x-generation'],
    });
    expect(ignoring.status).toBe('succeeded');
    expect(ignoring.replay.verdict).toBe('match');
    const matched = (await trace(ignoring.id)).steps[0];
    expect(matched.mismatch).toBeNull();
    expect(matched.expected_hash).toBe(recorded.output_hash); // hash of the original output, whole
  });

  it('on_mismatch fail stops at the first mismatch (later steps cancelled); continue reports all', async () => {
    const changing = { name: 'c', skill: 'http.request', params: { url: `${server.url}/changing` } };
    const original = await submit([
      changing,
      changing,
      { name: 'after', skill: 'http.request', params: { url: `${server.url}/effect/after-mismatch`, method: 'POST' } },
    ]);
    const afterHits = server.hits('/effect/after-mismatch');
    const failed = await replayed(original.id, { default_behavior: 'check', on_mismatch: 'fail' });
    expect(failed).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch', step_index: 0 } });
    expect((await trace(failed.id)).steps.map((s) => s.status)).toEqual(['succeeded', 'cancelled', 'cancelled']);
    expect(server.hits('/effect/after-mismatch')).toBe(afterHits);

    const all = await replayed(original.id, { default_behavior: 'check', on_mismatch: 'continue', behaviors: { '2': 'skip' } });
    expect(all.status).toBe('succeeded');
    expect(all.replay.verdict).toBe('mismatch');
    expect(all.replay.mismatches.map((m: { step_index: number }) => m.step_index)).toEqual([0, 1]);
    expect(all.replay.summary).toEqual({ executed: 2, skipped: 1, checked: 2, from_cache: 1, mismatches: 2 });
  });

  it('from_step N re-executes only steps >= N; earlier steps behave as skip', async () => {
    const original = await submit(plan('fork'));
    const [effectHits, fixedHits] = [server.hits('/effect/fork'), server.hits('/fixed')];
    const run = await replayed(original.id, { default_behavior: 'execute', from_step: 1 });
    expect(run.status).toBe('succeeded');
    expect(server.hits('/effect/fork')).toBe(effectHits);
    expect(server.hits('/fixed')).toBe(fixedHits + 1);
    const tr = await trace(run.id);
    expect(tr.steps.map((s) => [s.replay_behavior, s.executed, s.skipped])).toEqual([
      ['skip', false, true],
      ['execute', true, false],
      ['execute', true, false],
    ]);
  });

  it("downstream $refs read the replay's own outputs, not the recorded ones", async () => {
    const original = await submit([
      { name: 'changing', skill: 'http.request', params: { url: `${server.url}/changing` } },
      {
        name: 'echo',
        skill: 'http.request',
        params: { url: `${server.url}/effect/echo-ref`, method: 'POST', body: { nonce: { $ref: '/steps/0/output/body/nonce' } } },
      },
    ]);
    const run = await replayed(original.id, { default_behavior: 'execute' });
    const tr = await trace(run.id);
    const fresh = (tr.steps[0].output as { body: { nonce: string } }).body.nonce;
    expect(tr.steps[1].output).toMatchObject({ status: 200 });
    expect(JSON.parse(server.log.filter((l) => l.path === '/effect/echo-ref').at(-1)!.body)).toEqual({ nonce: fresh });
    const originalNonce = ((await trace(original.id)).steps[0].output as { body: { nonce: string } }).body.nonce;
    expect(fresh).not.toBe(originalNonce);
  });

  it('a replay of a keyed step never repeats its side effect, even with execute', async () => {
    const original = await submit([
      {
        name: 'charge',
        skill: 'http.request',
        params: { url: `${server.url}/effect/keyed-charge`, method: 'POST' },
        idempotency_key: 'replay-charge-1',
      },
    ]);
    expect(server.hits('/effect/keyed-charge')).toBe(1);
    for (const behavior of ['execute', 'check', 'skip']) {
      const run = await replayed(original.id, { default_behavior: behavior });
      expect(run.status).toBe('succeeded');
      const step = (await trace(run.id)).steps[0];
      expect(step).toMatchObject({ executed: false, from_cache: true });
      if (behavior === 'check') expect(step.mismatch).toBeNull();
    }
    expect(server.hits('/effect/keyed-charge')).toBe(1);
  });

  it('the same replay request with one Idempotency-Key makes one replay run; another body is refused', async () => {
    const original = await submit(plan('idem-replay'));
    const [a, b] = await Promise.all([
      replay(original.id, { default_behavior: 'skip' }, 'rk-1'),
      replay(original.id, { default_behavior: 'skip' }, 'rk-1'),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.id).toBe(b.body.id);
    expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].filter((h) => h === 'true')).toHaveLength(1);
    await replay(original.id, { default_behavior: 'check' }, 'rk-1').expect(422);
    const list = await t.http.get('/v1/runs?agent_id=replay-agent&limit=100').set('Authorization', auth).expect(200);
    expect(
      list.body.data.filter(
        (r: { replay_of: string | null; idempotency_key: string | null }) => r.replay_of === original.id && r.idempotency_key === 'rk-1',
      ),
    ).toHaveLength(1);
  });

  it('validates the request: 400 for unknown behaviors, indexes and from_step; 409 for an unfinished run; 404 across tenants', async () => {
    const original = await submit(plan('validate'));
    const bad = [
      { default_behavior: 'sometimes' },
      { behaviors: { '7': 'skip' } },
      { behaviors: { '0': 'maybe' } },
      { behaviors: { x: 'skip' } },
      { from_step: 3 },
      { from_step: -1 },
      { on_mismatch: 'explode' },
      { ignore_paths: ['no-slash'] },
      { unknown_field: true },
    ];
    for (const body of bad) {
      const res = await replay(original.id, body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    server.hold('/pay/unfinished'); // the run stays unfinished until the upstream answers
    const running = (
      await t.http
        .post('/v1/agents/replay-agent/runs')
        .set('Authorization', auth)
        .send({ steps: [{ name: 'held', skill: 'http.request', params: { url: `${server.url}/pay/unfinished`, method: 'POST' } }] })
        .expect(202)
    ).body;
    const conflict = await replay(running.id, {}).expect(409);
    expect(conflict.body.type).toBe('run-not-replayable');
    server.release('/pay/unfinished');
    const stranger = (await createTenant(t, 'stranger')).auth;
    await t.http.post(`/v1/runs/${original.id}/replay`).set('Authorization', stranger).send({}).expect(404);
    expect((await finished(running.id)).status).toBe('succeeded');
  });

  it("falls back to each step's recorded replay_behavior; behaviors[i] and default_behavior come first", async () => {
    const original = await submit([
      { name: 'once', skill: 'http.request', params: { url: `${server.url}/effect/rb-skip`, method: 'POST' }, replay_behavior: 'skip' },
      { name: 'fixed', skill: 'http.request', params: { url: `${server.url}/fixed` }, replay_behavior: 'check' },
      { name: 'again', skill: 'http.request', params: { url: `${server.url}/effect/rb-exec`, method: 'POST' } },
    ]);
    const hits = () => [server.hits('/effect/rb-skip'), server.hits('/fixed'), server.hits('/effect/rb-exec')];
    const before = hits();
    const recorded = await replayed(original.id, {});
    expect(recorded.status).toBe('succeeded');
    const tr = await trace(recorded.id);
    expect(tr.steps.map((s) => [s.replay_behavior, s.executed, s.skipped, s.checked])).toEqual([
      ['skip', false, true, false],
      ['check', true, false, true],
      ['execute', true, false, false],
    ]);
    expect(tr.steps[1].mismatch).toBeNull();
    expect(hits()).toEqual([before[0], before[1] + 1, before[2] + 1]);
    expect(recorded.replay.summary).toEqual({ executed: 2, skipped: 1, checked: 1, from_cache: 1, mismatches: 0 });

    const overridden = await replayed(original.id, { default_behavior: 'skip', behaviors: { '0': 'execute' } });
    expect((await trace(overridden.id)).steps.map((s) => s.replay_behavior)).toEqual(['execute', 'skip', 'skip']);
    expect(hits()).toEqual([before[0] + 1, before[1] + 1, before[2] + 1]);
  });

  it('replays a failed original: recorded steps are skipped, the step that failed (no recorded output) executes', async () => {
    const original = await submit([
      { name: 'effect', skill: 'http.request', params: { url: `${server.url}/effect/failed-original`, method: 'POST' } },
      { name: 'flaky', skill: 'http.request', params: { url: `${server.url}/flaky/failed-original?fail=3` } },
    ]);
    expect(original).toMatchObject({ status: 'failed', attempts: 3, error: { type: 'step_failed', step_index: 1 } });
    const before = await trace(original.id);
    expect(server.hits('/flaky/failed-original')).toBe(3);
    const run = await replayed(original.id, { default_behavior: 'skip' });
    expect(run).toMatchObject({ status: 'succeeded', replay_of: original.id, error: null });
    const tr = await trace(run.id);
    expect(tr.steps.map((s) => [s.status, s.skipped, s.executed])).toEqual([
      ['succeeded', true, false],
      ['succeeded', false, true],
    ]);
    expect(tr.steps[1].output).toMatchObject({ status: 200, body: { ok: true, hit: 4 } });
    expect(server.hits('/effect/failed-original')).toBe(1);
    expect(run.replay).toMatchObject({ verdict: 'match', summary: { executed: 1, skipped: 1, mismatches: 0 } });
    expect(await trace(original.id)).toEqual(before);
    expect((await getRun(original.id)).status).toBe('failed');
  });

  it('answers 409 run-not-replayable for a cancelled original', async () => {
    server.hold('/pay/cancelled-original'); // the run cannot finish before it is cancelled
    const res = await t.http
      .post('/v1/agents/replay-agent/runs')
      .set('Authorization', auth)
      .send({ steps: [{ name: 'held', skill: 'http.request', params: { url: `${server.url}/pay/cancelled-original`, method: 'POST' } }] })
      .expect(202);
    await t.http.post(`/v1/runs/${res.body.id}/cancel`).set('Authorization', auth).expect(202);
    server.release('/pay/cancelled-original');
    const conflict = await replay(res.body.id, { default_behavior: 'skip' }).expect(409);
    expect(conflict.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(conflict.body.type).toBe('run-not-replayable');
    const list = await t.http.get('/v1/runs?agent_id=replay-agent&limit=100').set('Authorization', auth).expect(200);
    expect(list.body.data.filter((r: { replay_of: string | null }) => r.replay_of === res.body.id)).toEqual([]);
  });

  it('reports token usage per llm.chat step and per run, summed over executed steps only (skipped steps cost nothing)', async () => {
    const chat = (content: string) => ({
      name: `chat-${content}`,
      skill: 'llm.chat',
      params: { model: 'test-model', messages: [{ role: 'user', content }] },
    });
    const original = await submit([chat('hello'), chat('world!'), { name: 'shape', skill: 'transform', params: { expression: '1' } }]);
    expect(original.status).toBe('succeeded');
    // the fake LLM reports prompt_tokens = characters of the messages, completion_tokens = 7
    const each = [
      { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
      { prompt_tokens: 6, completion_tokens: 7, total_tokens: 13 },
      null,
    ];
    const sum = { prompt_tokens: 11, completion_tokens: 14, total_tokens: 25 };
    expect(original.usage).toEqual(sum);
    const tr = await trace(original.id);
    expect(tr.steps.map((s) => (s as Step & { usage: unknown }).usage)).toEqual(each);
    expect(tr.steps.map((s) => (s as Step & { comparison: unknown }).comparison)).toEqual([null, null, null]);
    const listed = await t.http.get('/v1/runs?agent_id=replay-agent&limit=100').set('Authorization', auth).expect(200);
    expect(listed.body.data.find((r: { id: string }) => r.id === original.id).usage).toEqual(sum);

    const skipped = await replayed(original.id, { default_behavior: 'skip' });
    expect(skipped.usage).toBeNull();
    expect((await trace(skipped.id)).steps.map((s) => (s as Step & { usage: unknown }).usage)).toEqual([null, null, null]);
    const partly = await replayed(original.id, { default_behavior: 'skip', behaviors: { '1': 'check' } });
    expect(partly.replay.verdict).toBe('match');
    expect(partly.usage).toEqual(each[1]);
    const again = await replayed(original.id, { default_behavior: 'execute' });
    expect(again.usage).toEqual(sum);
  });
});
