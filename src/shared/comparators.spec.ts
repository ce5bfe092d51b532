import {
  type Comparator,
  comparatorFor,
  compareOutputs,
  JudgeFailedError,
  judgeMessages,
  parseCompare,
  parseJudgeVerdict,
  pointersToIgnore,
  TEXT_COMPARE_BUDGET,
  textSimilarity,
} from './comparators.js';
import { StepErrorCode } from './run-errors.js';

const fields = (raw: unknown, stepCount?: number) => parseCompare(raw, stepCount).errors.map((e) => e.field);

describe('parseCompare', () => {
  it('accepts every mode with its options and keeps only what it knows, copied', () => {
    const paths = ['/content'];
    const raw = {
      '0': { mode: 'exact' },
      '1': { mode: 'numeric', abs: 0.5, rel: 0.01 },
      '2': { mode: 'text', min_similarity: 0.8, paths },
      '3': { mode: 'schema' },
      '4': { mode: 'judge', model: 'gpt-4.1-mini', rubric: 'Same facts.' },
      '*': { mode: 'numeric' },
    };
    const { compare, errors } = parseCompare(raw, 5);
    expect(errors).toEqual([]);
    expect(compare).toEqual(raw);
    expect((compare['2'] as { paths: string[] }).paths).not.toBe(paths);
    expect(parseCompare({ '0': { mode: 'text', min_similarity: 0 } }).compare['0']).toEqual({ mode: 'text', min_similarity: 0 });
    expect(parseCompare({ '0': { mode: 'text', min_similarity: 1, paths: [''] } }).errors).toEqual([]);
    expect(parseCompare(undefined)).toEqual({ compare: {}, errors: [] });
    expect(parseCompare(null)).toEqual({ compare: {}, errors: [] });
  });

  it.each([
    ['not an object', [], ['compare']],
    ['a string', 'exact', ['compare']],
    ['a comparator that is not an object', { '0': 'exact' }, ['compare.0']],
    ['no mode', { '0': {} }, ['compare.0.mode']],
    ['an unknown mode', { '0': { mode: 'fuzzy' } }, ['compare.0.mode']],
    ['a mode of another type', { '0': { mode: 1 } }, ['compare.0.mode']],
    ['an option of another mode', { '0': { mode: 'exact', min_similarity: 0.5 } }, ['compare.0.min_similarity']],
    ['an unknown option', { '*': { mode: 'numeric', tolerance: 1 } }, ['compare.*.tolerance']],
    ['a negative abs', { '0': { mode: 'numeric', abs: -1 } }, ['compare.0.abs']],
    ['a rel that is a string', { '0': { mode: 'numeric', rel: '0.1' } }, ['compare.0.rel']],
    ['text without min_similarity', { '0': { mode: 'text' } }, ['compare.0.min_similarity']],
    ['min_similarity above 1', { '0': { mode: 'text', min_similarity: 1.01 } }, ['compare.0.min_similarity']],
    ['min_similarity below 0', { '0': { mode: 'text', min_similarity: -0.1 } }, ['compare.0.min_similarity']],
    ['min_similarity as a string', { '0': { mode: 'text', min_similarity: '0.5' } }, ['compare.0.min_similarity']],
    ['paths not an array', { '0': { mode: 'text', min_similarity: 0.5, paths: '/a' } }, ['compare.0.paths']],
    ['empty paths', { '0': { mode: 'text', min_similarity: 0.5, paths: [] } }, ['compare.0.paths']],
    ['a bad pointer', { '0': { mode: 'text', min_similarity: 0.5, paths: ['/ok', 'content'] } }, ['compare.0.paths[1]']],
    ['a bad escape', { '0': { mode: 'text', min_similarity: 0.5, paths: ['/a~2'] } }, ['compare.0.paths[0]']],
    ['a lone surrogate', { '0': { mode: 'text', min_similarity: 0.5, paths: ['/a\ud800'] } }, ['compare.0.paths[0]']],
    ['a pointer that is a number', { '0': { mode: 'text', min_similarity: 0.5, paths: [1] } }, ['compare.0.paths[0]']],
    ['judge without rubric', { '0': { mode: 'judge', model: 'm' } }, ['compare.0.rubric']],
    ['judge with a blank model', { '0': { mode: 'judge', model: ' ', rubric: 'r' } }, ['compare.0.model']],
    ['judge with a rubric too long', { '0': { mode: 'judge', model: 'm', rubric: 'r'.repeat(8001) } }, ['compare.0.rubric']],
    ['an index past the plan', { '3': { mode: 'exact' } }, ['compare.3']],
    ['a negative index', { '-1': { mode: 'exact' } }, ['compare.-1']],
    ['a padded index', { '01': { mode: 'exact' } }, ['compare.01']],
    ['a key that is no index', { first: { mode: 'exact' } }, ['compare.first']],
  ])('refuses %s', (_name, raw, expected) => {
    expect(fields(raw, 3)).toEqual(expected);
    expect(parseCompare(raw, 3).compare).not.toHaveProperty(Object.keys(typeof raw === 'object' && raw ? raw : {})[0] ?? 'x');
  });

  it('checks index ranges only when the plan is known', () => {
    expect(fields({ '7': { mode: 'exact' } })).toEqual([]);
    expect(fields({ '7': { mode: 'exact' } }, 7)).toEqual(['compare.7']);
  });
});

describe('comparatorFor', () => {
  it('takes compare[index], else compare["*"], else exact', () => {
    const compare: Record<string, Comparator> = { '1': { mode: 'schema' }, '*': { mode: 'numeric', abs: 1 } };
    expect(comparatorFor(compare, 1)).toEqual({ mode: 'schema' });
    expect(comparatorFor(compare, 0)).toEqual({ mode: 'numeric', abs: 1 });
    expect(comparatorFor({}, 0)).toEqual({ mode: 'exact' });
    expect(comparatorFor(undefined, 0)).toEqual({ mode: 'exact' });
  });
});

describe('pointersToIgnore', () => {
  it('lists the candidates that hold a value on either side, once, in order', () => {
    const a = { headers: { date: 'Mon', server: 'x' } };
    const b = { headers: { age: '3', server: 'x' } };
    expect(pointersToIgnore(a, b, ['/headers/age', '/headers/date', '/headers/expires', '/headers/date', ''])).toEqual([
      '/headers/age',
      '/headers/date',
    ]);
  });
});

describe('compareOutputs', () => {
  it('exact compares canonical JSON (key order does not matter)', () => {
    expect(compareOutputs({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, { mode: 'exact' })).toEqual({
      passed: true,
      score: null,
      reason: null,
    });
    expect(compareOutputs({ a: 1 }, { a: 1.0000001 }, { mode: 'exact' }).passed).toBe(false);
  });

  describe('numeric', () => {
    const expected = { total: 100, items: [{ price: 10 }, { price: 20 }], currency: 'EUR' };
    const actual = { total: 100.4, items: [{ price: 10 }, { price: 20.1 }], currency: 'EUR' };

    it('passes within abs, fails beyond it, naming the first place', () => {
      expect(compareOutputs(expected, actual, { mode: 'numeric', abs: 0.5 })).toEqual({ passed: true, score: null, reason: null });
      const failed = compareOutputs(expected, actual, { mode: 'numeric', abs: 0.3 });
      expect(failed.passed).toBe(false);
      expect(failed.reason).toMatch(/^\/total: 100\.4 differs from the original 100 by 0\.4000/);
    });

    it('passes within rel (relative to the larger magnitude), fails beyond it', () => {
      expect(compareOutputs(expected, actual, { mode: 'numeric', rel: 0.005 }).passed).toBe(true); // 0.4 / 100.4, 0.1 / 20.1
      expect(compareOutputs(expected, actual, { mode: 'numeric', rel: 0.003 }).passed).toBe(false);
      expect(compareOutputs({ n: 0 }, { n: 1e-9 }, { mode: 'numeric', rel: 0.5 }).passed).toBe(false); // nothing is relatively close to 0
      expect(compareOutputs({ n: 0 }, { n: 1e-9 }, { mode: 'numeric', rel: 0.5, abs: 1e-6 }).passed).toBe(true); // either bound suffices
    });

    it('without tolerances numbers must be equal; everything that is not a number is exact', () => {
      expect(compareOutputs(expected, actual, { mode: 'numeric' }).passed).toBe(false);
      expect(compareOutputs(expected, { ...expected }, { mode: 'numeric' }).passed).toBe(true);
      const text = compareOutputs(expected, { ...actual, currency: 'USD' }, { mode: 'numeric', abs: 1 });
      expect(text).toEqual({ passed: false, score: null, reason: '/currency: "USD" where the original has "EUR"' });
      expect(compareOutputs({ n: 1 }, { n: '1' }, { mode: 'numeric', abs: 1 }).reason).toBe('/n: "1" where the original has 1');
      expect(compareOutputs({ a: [1, 2] }, { a: [1, 2, 3] }, { mode: 'numeric', abs: 1 }).reason).toBe('/a: 3 items, the original has 2');
      expect(compareOutputs({ a: 1 }, { a: 1, b: 2 }, { mode: 'numeric', abs: 1 }).reason).toBe('/b: not in the original output');
      expect(compareOutputs({ a: 1, 'x/y': 2 }, { a: 1 }, { mode: 'numeric', abs: 1 }).reason).toBe('/x~1y: missing in the new output');
      expect(compareOutputs(5, 5.2, { mode: 'numeric', abs: 0.1 }).reason).toMatch(/^the output: 5.2 differs/);
    });
  });

  describe('schema', () => {
    const expected = { id: 1, name: 'a', tags: ['x'], nested: { ok: true, note: null }, rows: [{ k: 'a', v: 1 }] };

    it('passes when only values (and array lengths) differ', () => {
      const actual = { id: 2, name: 'b', tags: ['y', 'z'], nested: { ok: false, note: null }, rows: [] };
      expect(compareOutputs(expected, actual, { mode: 'schema' })).toEqual({ passed: true, score: null, reason: null });
      expect(compareOutputs({ list: [] }, { list: [1, 'a', {}] }, { mode: 'schema' }).passed).toBe(true);
    });

    it.each([
      ['a type change', { ...expected, id: '2' }, '/id: string in the new output, number in the original'],
      ['null for an object', { ...expected, nested: null }, '/nested: null in the new output, object in the original'],
      ['a missing key', { ...expected, nested: { ok: true } }, '/nested/note: missing in the new output'],
      ['an extra key', { ...expected, extra: 1 }, '/extra: not in the original output'],
      [
        'an element of another shape',
        {
          ...expected,
          rows: [
            { k: 'a', v: 1 },
            { k: 'b', v: '2' },
          ],
        },
        "/rows/1/v: string in the new output, number in the original (elements past the original's 1 must have the shape of its last)",
      ],
      [
        'an element of another shape than the one at its index',
        { ...expected, rows: [{ k: 'a' }] },
        '/rows/0/v: missing in the new output',
      ],
      ['an array for an object', [], 'the output: array in the new output, object in the original'],
    ])('fails on %s, saying where', (_name, actual, reason) => {
      expect(compareOutputs(expected, actual, { mode: 'schema' })).toEqual({ passed: false, score: null, reason });
    });
  });

  describe('text', () => {
    const original = { content: 'The order 42 has shipped and will arrive on Monday.', model: 'm', finish_reason: 'stop' };
    const reworded = { ...original, content: 'The order 42 was shipped and will arrive on Monday.' };

    it('scores the normalised Levenshtein similarity of the strings at paths; the rest must be equal', () => {
      const verdict = compareOutputs(original, reworded, { mode: 'text', min_similarity: 0.8, paths: ['/content'] });
      expect(verdict.passed).toBe(true);
      expect(verdict.score).toBeCloseTo(1 - 1 / original.content.length, 10); // has -> was: one substitution
      expect(verdict.reason).toBeNull();
      const strict = compareOutputs(original, reworded, { mode: 'text', min_similarity: 0.99, paths: ['/content'] });
      expect(strict).toEqual({ passed: false, score: verdict.score, reason: '/content: similarity 0.9804 is below min_similarity 0.99' });
      const otherModel = compareOutputs(original, { ...reworded, model: 'n' }, { mode: 'text', min_similarity: 0.5, paths: ['/content'] });
      expect(otherModel).toMatchObject({
        passed: false,
        score: verdict.score,
        reason: expect.stringContaining('/model: "n" where the original has "m"'),
      });
    });

    it('takes the lowest similarity over several paths', () => {
      const a = { x: 'abcd', y: 'abcd' };
      const b = { x: 'abcd', y: 'abzz' };
      expect(compareOutputs(a, b, { mode: 'text', min_similarity: 0.5, paths: ['/x', '/y'] })).toEqual({
        passed: true,
        score: 0.5,
        reason: null,
      });
    });

    it('compares a whole string output by default; anything else is not passed, with a reason', () => {
      expect(compareOutputs('hello world', 'hello world!', { mode: 'text', min_similarity: 0.9 })).toEqual({
        passed: true,
        score: 1 - 1 / 12,
        reason: null,
      });
      expect(compareOutputs(original, reworded, { mode: 'text', min_similarity: 0.1 })).toEqual({
        passed: false,
        score: null,
        reason:
          'the output is not a string, so it is compared exactly: /content: "The order 42 was shipped and will arrive on Monday." ' +
          'where the original has "The order 42 has shipped and will arrive on Monday." (name the strings to compare with paths)',
      });
      expect(compareOutputs(original, { ...reworded, content: null }, { mode: 'text', min_similarity: 0.1, paths: ['/content'] })).toEqual({
        passed: false,
        score: null,
        reason: '/content: the original has a string, the new output has null',
      });
      expect(compareOutputs({ n: 1 }, { n: 2 }, { mode: 'text', min_similarity: 0, paths: ['/n'] }).reason).toBe(
        '/n is not a string, so it is compared exactly: /n: 2 where the original has 1',
      );
      expect(compareOutputs({}, { missing: [] }, { mode: 'text', min_similarity: 0, paths: ['/missing'] }).reason).toBe(
        '/missing: the original has nothing, the new output has an array',
      );
    });

    it('compares exactly what is not a string on both sides: the same value (or nothing on both sides) passes', () => {
      // Identical outputs always pass, whatever the paths hold; the score covers only the strings compared.
      expect(
        compareOutputs({ n: 1, s: 'ab' }, { n: 1, s: 'ab' }, { mode: 'text', min_similarity: 1, paths: ['/n', '/s', '/none'] }),
      ).toEqual({
        passed: true,
        score: 1,
        reason: null,
      });
      expect(compareOutputs({ n: [1, { a: null }] }, { n: [1, { a: null }] }, { mode: 'text', min_similarity: 1 })).toEqual({
        passed: true,
        score: null,
        reason: null,
      });
      expect(compareOutputs(42, 42, { mode: 'text', min_similarity: 0.5 })).toEqual({ passed: true, score: null, reason: null });
      expect(compareOutputs(42, 43, { mode: 'text', min_similarity: 0 })).toMatchObject({ passed: false, score: null });
    });

    it('refuses, rather than blocks the event loop, texts whose differing parts are too long', () => {
      const side = Math.ceil(Math.sqrt(TEXT_COMPARE_BUDGET)) + 10;
      const started = Date.now();
      const verdict = compareOutputs('a'.repeat(side), 'b'.repeat(side), { mode: 'text', min_similarity: 0 });
      expect(verdict).toMatchObject({ passed: false, score: null, reason: expect.stringContaining('too long to compare') });
      expect(Date.now() - started).toBeLessThan(1000);
      // a long text with a short difference is cheap: the common prefix and suffix are set aside
      const long = 'x'.repeat(300_000);
      expect(compareOutputs(`${long}a${long}`, `${long}b${long}`, { mode: 'text', min_similarity: 0.99 }).passed).toBe(true);
    });
  });
});

describe('textSimilarity', () => {
  it('is 1 - Levenshtein distance / length of the longer string', () => {
    expect(textSimilarity('kitten', 'sitting')).toBeCloseTo(1 - 3 / 7, 12);
    expect(textSimilarity('', '')).toBe(1);
    expect(textSimilarity('abc', '')).toBe(0);
    expect(textSimilarity('same', 'same')).toBe(1);
  });
});

describe('the judge', () => {
  it('is asked with the rubric and both outputs as canonical JSON', () => {
    const [system, user] = judgeMessages('Same facts.', { b: 1, a: 2 }, 'new');
    expect(system.role).toBe('system');
    expect(system.content).toContain('{"pass": true, "reason": "<one sentence>"}');
    expect(user).toEqual({
      role: 'user',
      content: 'Rubric:\nSame facts.\n\nOriginal output (JSON):\n{"a":2,"b":1}\n\nNew output (JSON):\n"new"',
    });
  });

  it('accepts exactly {"pass": boolean, "reason": string}, also in one code fence', () => {
    expect(parseJudgeVerdict('{"pass": true, "reason": "same facts"}')).toEqual({ pass: true, reason: 'same facts' });
    expect(parseJudgeVerdict(' {"reason":"wrong date","pass":false}\n')).toEqual({ pass: false, reason: 'wrong date' });
    expect(parseJudgeVerdict('```json\n{"pass": false, "reason": "x"}\n```')).toEqual({ pass: false, reason: 'x' });
  });

  it.each([
    ['prose', 'Yes, it passes.'],
    ['a verdict inside prose', 'Verdict: {"pass": true, "reason": "ok"}'],
    ['pass as a string', '{"pass": "true", "reason": "ok"}'],
    ['pass as a number', '{"pass": 1, "reason": "ok"}'],
    ['no reason', '{"pass": true}'],
    ['a reason that is not a string', '{"pass": true, "reason": null}'],
    ['an extra key', '{"pass": true, "reason": "ok", "score": 1}'],
    ['an array', '[true, "ok"]'],
    ['an empty answer', ''],
    ['no content', null],
    ['two objects', '{"pass": true, "reason": "a"}{"pass": false, "reason": "b"}'],
  ])('refuses %s with judge_failed (never a pass)', (_name, content) => {
    let thrown: unknown;
    try {
      parseJudgeVerdict(content);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(JudgeFailedError);
    expect((thrown as JudgeFailedError).code).toBe(StepErrorCode.JudgeFailed);
  });
});
