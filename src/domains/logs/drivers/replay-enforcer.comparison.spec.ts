import { jest } from '@jest/globals';
import { canonicalJson, hashOutput } from '../../../shared/canonical-json.js';
import { JUDGE_OUTPUT_MAX_CHARS, JudgeFailedError } from '../../../shared/comparators.js';
import { MAX_OUTPUT_DEPTH } from '../../../shared/json-depth.js';
import { MemoryStepIdempotencyStore } from './memory-step-idempotency.store.js';
import { type EnforcedStep, type Judge, ReplayEnforcer, result } from './replay-enforcer.driver.js';

const clock = { now: () => new Date() };
const enforcer = new ReplayEnforcer(new MemoryStepIdempotencyStore(clock), { ttlSeconds: 60, leaseMs: 5_000, waitMs: 5_000, clock });
const VOLATILE = ['/headers/date', '/headers/age', '/headers/x-request-id'];

const original = {
  status: 200,
  headers: { date: 'Mon, 01 Dec 2026 10:00:00 GMT', 'content-type': 'application/json' },
  body: { total: 100 },
};
const later = { ...original, headers: { ...original.headers, date: 'Mon, 01 Dec 2026 10:00:01 GMT' } };

const checked = (fields: Partial<EnforcedStep>): EnforcedStep => ({
  index: 0,
  skill: 'http.request',
  params: {},
  idempotency_key: null,
  behavior: 'check',
  recorded: { output: original },
  ...fields,
});
const executed = (output: unknown) => result({ executed: true, output_data: output, output_hash: hashOutput(output) });

describe('ReplayEnforcer.check: comparisons', () => {
  it('ignores the volatile paths that hold a value and lists them; a strict check (no volatile paths) mismatches', async () => {
    const loose = await enforcer.check(checked({ volatile_paths: VOLATILE }), executed(later));
    expect(loose.mismatch).toBeNull();
    expect(loose.comparison).toEqual({ mode: 'exact', passed: true, score: null, reason: null, ignored_paths: ['/headers/date'] });
    expect(loose.expected_hash).toBe(hashOutput(original));

    const strict = await enforcer.check(checked({ volatile_paths: [] }), executed(later));
    expect(strict.comparison).toEqual({ mode: 'exact', passed: false, score: null, reason: null, ignored_paths: [] });
    expect(strict.mismatch).toEqual({
      expected_hash: hashOutput(original),
      actual_hash: hashOutput(later),
      diff: [{ op: 'replace', path: '/headers/date', value: later.headers.date }],
    });
  });

  it('lists ignore_paths before volatile paths, each once, only where they held a value', async () => {
    const withAge = { ...later, headers: { ...later.headers, age: '3' }, body: { total: 100, at: 2 } };
    const res = await enforcer.check(
      checked({ ignore_paths: ['/body/at', '/headers/date', '/nothing'], volatile_paths: VOLATILE }),
      executed(withAge),
    );
    expect(res.comparison).toMatchObject({ passed: true, ignored_paths: ['/body/at', '/headers/date', '/headers/age'] });
  });

  it('applies the comparator to the outputs without the ignored paths; mismatch is set exactly when it did not pass', async () => {
    const cheaper = { ...later, body: { total: 100.4 } };
    const step = (abs: number) => checked({ volatile_paths: VOLATILE, comparator: { mode: 'numeric', abs } });
    const within = await enforcer.check(step(0.5), executed(cheaper));
    expect(within).toMatchObject({
      checked: true,
      mismatch: null,
      comparison: { mode: 'numeric', passed: true, ignored_paths: ['/headers/date'] },
    });
    const beyond = await enforcer.check(step(0.1), executed(cheaper));
    expect(beyond.comparison).toMatchObject({ mode: 'numeric', passed: false, reason: expect.stringContaining('/body/total') });
    // the diff leaves out what was ignored
    expect(beyond.mismatch?.diff).toEqual([{ op: 'replace', path: '/body/total', value: 100.4 }]);
  });

  it('asks the judge with both outputs (ignored paths removed) and records its verdict and reason', async () => {
    const judge = jest.fn<Judge>(async () => ({ pass: false, reason: 'the total changed' }));
    const comparator = { mode: 'judge' as const, model: 'judge-model', rubric: 'Same total.' };
    const res = await enforcer.check(checked({ volatile_paths: VOLATILE, comparator }), executed(later), judge);
    const stripped = { ...original, headers: { 'content-type': 'application/json' } };
    expect(judge).toHaveBeenCalledWith(comparator, stripped, stripped);
    expect(res.comparison).toEqual({
      mode: 'judge',
      passed: false,
      score: null,
      reason: 'the total changed',
      ignored_paths: ['/headers/date'],
    });
    expect(res.mismatch).not.toBeNull();
    judge.mockImplementation(async () => ({ pass: true, reason: 'same' }));
    expect((await enforcer.check(checked({ comparator }), executed(later), judge)).mismatch).toBeNull();
  });

  it('a judge that fails, or no judge, fails the check: never a pass', async () => {
    const comparator = { mode: 'judge' as const, model: 'm', rubric: 'r' };
    const failing: Judge = async () => {
      throw new JudgeFailedError('the judge answered 500');
    };
    await expect(enforcer.check(checked({ comparator }), executed(later), failing)).rejects.toThrow('the judge answered 500');
    await expect(enforcer.check(checked({ comparator }), executed(later))).rejects.toBeInstanceOf(JudgeFailedError);
  });

  it('a step the original did not record is not passed, whatever the comparator (the judge is not asked)', async () => {
    const judge = jest.fn<Judge>(async () => ({ pass: true, reason: 'fine' }));
    const res = await enforcer.check(
      checked({ recorded: null, comparator: { mode: 'judge', model: 'm', rubric: 'r' } }),
      executed(later),
      judge,
    );
    expect(judge).not.toHaveBeenCalled();
    expect(res.comparison).toEqual({
      mode: 'judge',
      passed: false,
      score: null,
      reason: 'the original run recorded no output for this step',
      ignored_paths: [],
    });
    expect(res.mismatch).toMatchObject({ expected_hash: null, actual_hash: hashOutput(later) });
  });

  it('a step the original did not record still lists the paths removed from the new output', async () => {
    const res = await enforcer.check(checked({ recorded: null, ignore_paths: ['/body/total'], volatile_paths: VOLATILE }), executed(later));
    expect(res.comparison).toMatchObject({ passed: false, ignored_paths: ['/body/total', '/headers/date'] });
    expect(res.mismatch!.diff).toEqual([
      { op: 'replace', path: '', value: { status: 200, headers: { 'content-type': 'application/json' }, body: {} } },
    ]);
  });

  it('removes the paths the skill no longer records from both sides, also in a strict check, and lists them', async () => {
    const old = { ...original, headers: { ...original.headers, connection: 'keep-alive', 'transfer-encoding': 'chunked' } };
    const res = await enforcer.check(
      checked({ recorded: { output: old }, volatile_paths: [], unrecorded_paths: ['/headers/connection', '/headers/transfer-encoding'] }),
      executed(original),
    );
    expect(res.mismatch).toBeNull();
    expect(res.comparison).toEqual({
      mode: 'exact',
      passed: true,
      score: null,
      reason: null,
      ignored_paths: ['/headers/connection', '/headers/transfer-encoding'],
    });
    expect(res.expected_hash).toBe(hashOutput(old)); // the hash of the whole original output, as recorded
  });

  it('does not ask the judge about outputs larger than it may be shown: judge_failed, with the sizes', async () => {
    const judge = jest.fn<Judge>(async () => ({ pass: true, reason: 'fine' }));
    const comparator = { mode: 'judge' as const, model: 'm', rubric: 'r' };
    const huge = { ...later, body: { text: 'x'.repeat(JUDGE_OUTPUT_MAX_CHARS) } };
    const withoutDate = (o: typeof later | typeof huge) => ({ ...o, headers: { 'content-type': o.headers['content-type'] } });
    expect(canonicalJson(withoutDate(huge)).length).toBe(JUDGE_OUTPUT_MAX_CHARS + 79);
    const refused = enforcer.check(checked({ volatile_paths: VOLATILE, comparator }), executed(huge), judge);
    await expect(refused).rejects.toBeInstanceOf(JudgeFailedError);
    await expect(refused).rejects.toThrow(
      `the judge is not asked: the outputs are ${canonicalJson(withoutDate(original)).length} and ${canonicalJson(withoutDate(huge)).length} characters of JSON (ignored paths removed), ` +
        `more than the ${JUDGE_OUTPUT_MAX_CHARS} it may be shown per output; leave parts out with ignore_paths`,
    );
    expect(judge).not.toHaveBeenCalled();
    // the same output with the large part ignored is judged
    const res = await enforcer.check(
      checked({ volatile_paths: VOLATILE, ignore_paths: ['/body/text'], comparator }),
      executed(huge),
      judge,
    );
    expect(res.comparison).toMatchObject({ passed: true, ignored_paths: ['/body/text', '/headers/date'] });
  });

  it('an original nested deeper than outputs may be (recorded before the limit) does not pass, without recursing', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_OUTPUT_DEPTH + 5; i++) deep = [deep];
    const res = await enforcer.check(checked({ recorded: { output: deep }, comparator: { mode: 'schema' } }), executed([1]));
    expect(res.comparison).toMatchObject({
      passed: false,
      reason: `the original output is nested deeper than ${MAX_OUTPUT_DEPTH} levels: it cannot be compared`,
    });
    expect(res.mismatch!.diff).toEqual([{ op: 'replace', path: '', value: [1] }]);
  });
});
