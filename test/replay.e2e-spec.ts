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
    h = await startRunsHarness('replayer', (s) => ({ SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`, RUN_RETRY_BACKOFF_MS: '50' }));
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

  it('check of deterministic steps matches', async () => {
    const original = await submit(plan('check-ok').slice(1));
    const run = await replayed(original.id, { default_behavior: 'check' });
    expect(run.status).toBe('succeeded');
    expect(run.replay).toMatchObject({ verdict: 'match', summary: { checked: 2, executed: 2, mismatches: 0 } });
    const tr = await trace(run.id);
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
    const nowBody = step.output as { body: { generated_at: number; nonce: string } };
    expect(step.mismatch).toEqual({
      expected_hash: recorded.output_hash,
      actual_hash: sha256(simpleCanonical(step.output)),
      diff: expect.arrayContaining([
        { op: 'replace', path: '/body/generated_at', value: nowBody.body.generated_at },
        { op: 'replace', path: '/body/nonce', value: nowBody.body.nonce },
      ]),
    });
    // date headers may differ too; every operation of the patch is a replace of a changed field
    for (const op of step.mismatch!.diff as Array<{ op: string; path: string }>) {
      expect(op.op).toBe('replace');
      expect(['/body/generated_at', '/body/nonce', '/headers/date']).toContain(op.path);
    }
    expect(run.replay).toMatchObject({
      verdict: 'mismatch',
      summary: { mismatches: 1 },
      mismatches: [{ step_index: 0, expected_hash: recorded.output_hash }],
    });

    const ignoring = await replayed(original.id, {
      default_behavior: 'check',
      ignore_paths: ['/body/generated_at', '/body/nonce', '/headers/date'],
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
    const running = (
      await t.http
        .post('/v1/agents/replay-agent/runs')
        .set('Authorization', auth)
        .send({ steps: [{ name: 'slow', skill: 'delay', params: { ms: 1500 } }] })
        .expect(202)
    ).body;
    const conflict = await replay(running.id, {}).expect(409);
    expect(conflict.body.type).toBe('run-not-replayable');
    const stranger = (await createTenant(t, 'stranger')).auth;
    await t.http.post(`/v1/runs/${original.id}/replay`).set('Authorization', stranger).send({}).expect(404);
    await finished(running.id);
  });
});
