import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTenant, createTestEnvironment, startTestApp, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { startWhatIfUpstream, type WhatIfUpstream, WRITER_FIRST, WRITER_LATER } from './support/what-if-upstream.js';

interface Comparison {
  mode: string;
  passed: boolean;
  score: number | null;
  reason: string | null;
  ignored_paths: string[];
}
interface Step {
  index: number;
  status: string;
  output: { headers?: Record<string, string>; body?: unknown; content?: string } & Record<string, unknown>;
  output_hash: string;
  checked: boolean;
  expected_hash: string | null;
  mismatch: { expected_hash: string | null; actual_hash: string; diff: Array<{ op: string; path: string; value?: unknown }> } | null;
  comparison: Comparison | null;
  error: { type: string; message: string } | null;
  attempts: number;
  usage: unknown;
}

const SECRET_VALUE = 'tok_live_8c1f3a9e77d24b61';

describe('what-if replays: volatile paths, strict, comparators (real PostgreSQL + Redis, loopback upstream and LLM)', () => {
  let env: TestEnvironment;
  let t: TestApp;
  let upstream: WhatIfUpstream;
  let auth: string;
  let db: pg.Client;

  beforeAll(async () => {
    upstream = await startWhatIfUpstream();
    env = await createTestEnvironment({
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${upstream.port}`,
      LLM_BASE_URL: `${upstream.url}/v1`,
      LLM_API_KEY: 'test-llm-key',
      RUN_RETRY_BACKOFF_MS: '50',
      SECRETS_KEY: randomBytes(32).toString('base64'),
    });
    t = await startTestApp(env.env);
    auth = (await createTenant(t, 'what-if')).auth;
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await t?.close();
    await upstream?.close();
    await env?.dispose();
  });

  const getRun = async (id: string) => (await t.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
  const finished = (id: string) =>
    waitFor(async () => {
      const run = await getRun(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    });
  const trace = async (id: string) =>
    (await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body.steps as Step[];
  const submit = async (steps: unknown[]) => {
    const run = await finished(
      (await t.http.post('/v1/agents/what-if/runs').set('Authorization', auth).send({ steps }).expect(202)).body.id,
    );
    expect(run.status).toBe('succeeded');
    return run;
  };
  const replayed = async (id: string, body: unknown) => {
    const res = await t.http
      .post(`/v1/runs/${id}/replay`)
      .set('Authorization', auth)
      .send(body as object)
      .expect(202);
    return finished(res.body.id);
  };
  const http = (path: string, extra: Record<string, unknown> = {}) => ({
    name: path,
    skill: 'http.request',
    params: { url: `${upstream.url}${path}`, ...extra },
  });
  /** An llm.chat step of the `writer` model: the first call with a prompt answers WRITER_FIRST, later ones WRITER_LATER. */
  const writer = (prompt = 'Summarise order 42.') => ({
    name: 'summary',
    skill: 'llm.chat',
    params: { model: 'writer', messages: [{ role: 'user', content: prompt }] },
  });
  const metric = async (line: RegExp) => {
    const text = (await t.http.get('/metrics').expect(200)).text;
    return Number(
      text
        .split('\n')
        .find((l) => line.test(l))
        ?.split(' ')
        .at(-1) ?? 0,
    );
  };

  describe('volatile paths and strict', () => {
    let original: { id: string };
    let recorded: Step;

    beforeAll(async () => {
      original = await submit([http('/deterministic')]);
      [recorded] = await trace(original.id);
      await sleep(1_100); // the next answer's Date header is another second
    });

    it('records no hop-by-hop header', () => {
      expect(recorded.output.body).toEqual({ value: 42 });
      const names = Object.keys(recorded.output.headers!);
      expect(names).toEqual(expect.arrayContaining(['content-type', 'x-custom', 'date', 'x-request-id']));
      for (const hop of [
        'connection',
        'keep-alive',
        'transfer-encoding',
        'trailer',
        'upgrade',
        'te',
        'proxy-authenticate',
        'proxy-connection',
      ]) {
        expect(names).not.toContain(hop);
      }
    });

    it('a deterministic GET check-replayed a second later matches, listing the volatile headers it ignored', async () => {
      const before = await metric(/^agentruns_replay_step_comparisons_total\{mode="exact",passed="true"\}/);
      const run = await replayed(original.id, { default_behavior: 'check' });
      expect(run).toMatchObject({
        status: 'succeeded',
        replay: { verdict: 'match', summary: { checked: 1, mismatches: 0 }, mismatches: [] },
      });
      const [step] = await trace(run.id);
      // the answer did change (Date, x-request-id): only the volatile paths made it a match
      expect(step.output.headers!.date).not.toBe(recorded.output.headers!.date);
      expect(step.output_hash).not.toBe(recorded.output_hash);
      expect(step).toMatchObject({ checked: true, expected_hash: recorded.output_hash, mismatch: null });
      expect(step.comparison).toEqual({
        mode: 'exact',
        passed: true,
        score: null,
        reason: null,
        ignored_paths: ['/headers/date', '/headers/x-request-id'],
      });
      expect(await metric(/^agentruns_replay_step_comparisons_total\{mode="exact",passed="true"\}/)).toBe(before + 1);
    });

    it('strict: true compares the volatile headers too, and mismatches', async () => {
      const run = await replayed(original.id, { default_behavior: 'check', strict: true });
      expect(run).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch', step_index: 0 }, replay: { verdict: 'mismatch' } });
      const [step] = await trace(run.id);
      expect(step.comparison).toEqual({ mode: 'exact', passed: false, score: null, reason: null, ignored_paths: [] });
      expect(step.mismatch!.expected_hash).toBe(recorded.output_hash);
      expect(step.mismatch!.diff.map((op) => op.path).sort()).toEqual(['/headers/date', '/headers/x-request-id']);
      expect(run.replay.mismatches).toEqual([{ step_index: 0, ...step.mismatch }]);
    });

    it('ignore_paths still apply under strict, and are listed', async () => {
      const run = await replayed(original.id, {
        default_behavior: 'check',
        strict: true,
        ignore_paths: ['/headers/date', '/headers/x-request-id', '/body/none'],
      });
      expect(run.status).toBe('succeeded');
      expect((await trace(run.id))[0].comparison).toMatchObject({
        passed: true,
        ignored_paths: ['/headers/date', '/headers/x-request-id'],
      });
    });

    it('stores the options with the replay run, so a resumed attempt compares the same way', async () => {
      const body = { default_behavior: 'check', strict: true, compare: { '*': { mode: 'numeric', abs: 1 }, '0': { mode: 'schema' } } };
      const run = await replayed(original.id, body);
      const { rows } = await db.query('SELECT replay_options FROM runs WHERE id = $1', [run.id]);
      expect(rows[0].replay_options).toMatchObject({ strict: true, compare: body.compare });
      expect((await trace(run.id))[0].comparison).toMatchObject({ mode: 'schema', passed: true, ignored_paths: [] });
    });
  });

  describe('an LLM step whose wording changes slightly', () => {
    let original: { id: string };

    beforeAll(async () => {
      original = await submit([writer()]);
      expect((await trace(original.id))[0].output.content).toBe(WRITER_FIRST);
    });

    it('text: matches with its similarity as the score (token counts are volatile)', async () => {
      const run = await replayed(original.id, {
        default_behavior: 'check',
        compare: { '0': { mode: 'text', min_similarity: 0.9, paths: ['/content'] } },
      });
      expect(run).toMatchObject({ status: 'succeeded', replay: { verdict: 'match' } });
      const [step] = await trace(run.id);
      expect(step.output.content).toBe(WRITER_LATER);
      expect(step.mismatch).toBeNull();
      expect(step.comparison).toEqual({
        mode: 'text',
        passed: true,
        score: 1 - 1 / WRITER_FIRST.length,
        reason: null,
        ignored_paths: ['/usage'],
      });
      expect(run.usage).toEqual({ prompt_tokens: 20, completion_tokens: 13, total_tokens: 33 }); // the replay's own call
    });

    it('exact: mismatches on the reworded content', async () => {
      const run = await replayed(original.id, { default_behavior: 'check' });
      expect(run).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch', step_index: 0 } });
      const [step] = await trace(run.id);
      expect(step.comparison).toEqual({ mode: 'exact', passed: false, score: null, reason: null, ignored_paths: ['/usage'] });
      expect(step.mismatch!.diff).toEqual([{ op: 'replace', path: '/content', value: WRITER_LATER }]);
    });

    it('text below its threshold mismatches, with the score and a reason; on_mismatch continue reports it', async () => {
      const run = await replayed(original.id, {
        default_behavior: 'check',
        on_mismatch: 'continue',
        compare: { '*': { mode: 'text', min_similarity: 0.99, paths: ['/content'] } },
      });
      expect(run).toMatchObject({ status: 'succeeded', replay: { verdict: 'mismatch', summary: { mismatches: 1 } } });
      const [step] = await trace(run.id);
      expect(step.comparison).toMatchObject({
        mode: 'text',
        passed: false,
        score: 1 - 1 / WRITER_FIRST.length,
        reason: '/content: similarity 0.9804 is below min_similarity 0.99',
      });
      expect(step.mismatch).not.toBeNull();
    });

    it('text over the whole output (no paths): an object is compared exactly, and the reason says so', async () => {
      const run = await replayed(original.id, { default_behavior: 'check', compare: { '0': { mode: 'text', min_similarity: 0.5 } } });
      expect(run.status).toBe('failed');
      expect(run.error.message).toContain('text comparison: the output is not a string, so it is compared exactly: /content: ');
      expect(run.error.message).toContain('(name the strings to compare with paths)');
      expect((await trace(run.id))[0].comparison).toMatchObject({ mode: 'text', passed: false, score: null });
    });
  });

  describe('numeric tolerance, both ways', () => {
    let original: { id: string };
    beforeAll(async () => {
      original = await submit([http('/numbers/a')]); // total 100.1, then 100.5 on every replay
    });

    it.each([
      [{ abs: 0.5 }, true],
      [{ abs: 0.3 }, false],
      [{ rel: 0.01 }, true],
      [{ rel: 0.001 }, false],
      [{ abs: 0.3, rel: 0.01 }, true],
    ])('%j -> passed %s', async (tolerance, passed) => {
      const run = await replayed(original.id, { default_behavior: 'check', compare: { '*': { mode: 'numeric', ...tolerance } } });
      const [step] = await trace(run.id);
      expect((step.output.body as { total: number }).total).toBe(100.5);
      expect(run.status).toBe(passed ? 'succeeded' : 'failed');
      expect(step.comparison).toMatchObject({ mode: 'numeric', passed, score: null, ignored_paths: ['/headers/date'] });
      if (passed) {
        expect(step.mismatch).toBeNull();
        expect(step.comparison!.reason).toBeNull();
      } else {
        expect(step.comparison!.reason).toMatch(/^\/body\/total: 100\.5 differs from the original 100\.1 by 0\.4/);
        expect(step.mismatch!.diff).toEqual([{ op: 'replace', path: '/body/total', value: 100.5 }]);
        expect(run.error.message).toContain('numeric comparison: /body/total');
      }
    });
  });

  describe('schema, both ways', () => {
    it('passes when only values and array lengths change', async () => {
      const original = await submit([http('/shape/a')]);
      const run = await replayed(original.id, { default_behavior: 'check', compare: { '0': { mode: 'schema' } } });
      expect(run.status).toBe('succeeded');
      const [step] = await trace(run.id);
      expect(step.output.body).toEqual({ id: 2, name: 'b', tags: ['y', 'z'], nested: { ok: false } });
      expect(step.comparison).toEqual({ mode: 'schema', passed: true, score: null, reason: null, ignored_paths: ['/headers/date'] });
      // the same replay compared exactly mismatches
      expect((await replayed(original.id, { default_behavior: 'check' })).status).toBe('failed');
    });

    it('fails when a type changes, saying where', async () => {
      const original = await submit([http('/shape-broken/a')]);
      const run = await replayed(original.id, { default_behavior: 'check', compare: { '0': { mode: 'schema' } } });
      expect(run).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch' } });
      const [step] = await trace(run.id);
      expect(step.comparison).toEqual({
        mode: 'schema',
        passed: false,
        score: null,
        reason: '/body/id: string in the new output, number in the original',
        ignored_paths: ['/headers/date'],
      });
    });
  });

  describe('judge', () => {
    let original: { id: string };
    const judged = (model: string) => ({
      default_behavior: 'check',
      compare: { '0': { mode: 'judge', model, rubric: 'The new summary states the same facts as the original.' } },
    });
    beforeAll(async () => {
      original = await submit([writer('Summarise order 42 for the judge.')]);
      expect((await trace(original.id))[0].output.content).toBe(WRITER_FIRST);
    });

    it("passes on the judge's pass, records its reason, asks it with the rubric and both outputs; its tokens are not run usage", async () => {
      const asked = upstream.chats.length;
      const before = await metric(/^agentruns_replay_judge_tokens_total\{kind="completion"\}/);
      const run = await replayed(original.id, judged('judge-pass'));
      expect(run).toMatchObject({ status: 'succeeded', replay: { verdict: 'match' } });
      const [step] = await trace(run.id);
      expect(step.comparison).toEqual({
        mode: 'judge',
        passed: true,
        score: null,
        reason: 'Same facts: order 42 shipped, arrives Monday.',
        ignored_paths: ['/usage'],
      });
      const calls = upstream.chats.slice(asked);
      expect(calls.map((c) => c.model)).toEqual(['writer', 'judge-pass']);
      const judge = calls[1];
      expect(judge.headers.authorization).toBe('Bearer test-llm-key');
      expect(judge.temperature).toBe(0);
      const prompt = judge.messages.map((m) => m.content).join('\n');
      expect(prompt).toContain('The new summary states the same facts as the original.');
      expect(prompt).toContain(WRITER_FIRST);
      expect(prompt).toContain(WRITER_LATER);
      expect(prompt).not.toContain('completion_tokens'); // volatile paths are left out of what is judged
      expect(run.usage).toEqual({ prompt_tokens: 20, completion_tokens: 13, total_tokens: 33 }); // the writer's call only
      expect(await metric(/^agentruns_replay_judge_tokens_total\{kind="completion"\}/)).toBe(before + 15);
    });

    it("fails on the judge's fail, with its reason in the comparison and the run's error", async () => {
      const run = await replayed(original.id, judged('judge-fail'));
      expect(run).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch', step_index: 0 }, replay: { verdict: 'mismatch' } });
      expect(run.error.message).toContain('judge comparison: The delivery day is not stated the same way.');
      const [step] = await trace(run.id);
      expect(step.comparison).toMatchObject({ mode: 'judge', passed: false, reason: 'The delivery day is not stated the same way.' });
      expect(step.mismatch!.diff).toEqual([{ op: 'replace', path: '/content', value: WRITER_LATER }]);
    });

    it.each([
      ['judge-garbage', "the judge's answer is not JSON"],
      ['judge-500', 'the judge (llm.chat, model judge-500) failed: LLM answered 500'],
    ])('%s: the step fails with a clear error (never a pass), and is not retried', async (model, message) => {
      const writes = upstream.hits('model:writer');
      const run = await replayed(original.id, judged(model));
      expect(run).toMatchObject({ status: 'failed', attempts: 1, error: { type: 'step_failed', step_index: 0 } });
      expect(run.error.message).toContain(message);
      // no verdict: the replay failed before it could compare (it said "match" here)
      expect(run.replay).toBeNull();
      const [step] = await trace(run.id);
      expect(step).toMatchObject({ status: 'failed', comparison: null, mismatch: null, attempts: 1, error: { type: 'step_failed' } });
      // the executed output stays on the failed step: what the judge was to compare
      expect(step.output).toMatchObject({ content: WRITER_LATER });
      expect(step.error!.message).toContain(message);
      expect(upstream.hits('model:writer')).toBe(writes + 1);
    });

    it('never shows the judge a secret value', async () => {
      await t.http.put('/v1/secrets/upstream-token').set('Authorization', auth).send({ value: SECRET_VALUE }).expect(204);
      const withSecret = await submit([http('/echo-token', { headers: { 'x-token': { $secret: 'upstream-token' } } })]);
      expect((await trace(withSecret.id))[0].output.body).toEqual({ token: '[secret:upstream-token]', greeting: 'hi' });
      const asked = upstream.chats.length;
      const run = await replayed(withSecret.id, judged('judge-pass'));
      expect(run.status).toBe('succeeded');
      const judge = upstream.chats.slice(asked);
      expect(judge).toHaveLength(1);
      expect(judge[0].raw).toContain('[secret:upstream-token]');
      expect(judge[0].raw).not.toContain(SECRET_VALUE);
      expect(JSON.stringify(await trace(run.id))).not.toContain(SECRET_VALUE);
    });
  });

  it('steps that are not checked have no comparison', async () => {
    const original = await submit([http('/numbers/b'), writer('Summarise order 43.')]);
    const run = await replayed(original.id, {
      default_behavior: 'skip',
      behaviors: { '1': 'execute' },
      compare: { '*': { mode: 'schema' } },
    });
    expect((await trace(run.id)).map((s) => s.comparison)).toEqual([null, null]);
    expect((await trace(original.id)).map((s) => s.comparison)).toEqual([null, null]);
  });
});
