import type { StepSpec } from '../../shared/step.types.js';
import { behaviorFor, type ReplayOptions } from './replay-options.js';
import {
  overriddenPlan,
  overrideBehaviorErrors,
  overrideErrors,
  parseWhatIf,
  waitOverrideErrors,
  whatIfSizeErrors,
} from './replay-overrides.js';

const step = (params: Record<string, unknown>, idempotency_key: string | null = null): StepSpec => ({
  name: 's',
  skill: 'http.request',
  params,
  replay_behavior: 'execute',
  idempotency_key,
});

const options = (over: Partial<ReplayOptions> = {}): ReplayOptions => ({
  default_behavior: null,
  behaviors: {},
  from_step: 0,
  on_mismatch: 'fail',
  ignore_paths: [],
  ...over,
});

describe('what-if replays: input and overrides', () => {
  it('applies an RFC 7396 merge patch to the params as written: null removes, arrays are replaced, $ref and $secret stay', () => {
    const written = step(
      {
        url: 'http://x/a',
        headers: { authorization: { $secret: 'token' }, 'x-trace': '1' },
        body: { items: [1, 2, 3], order: { $ref: '/input/order' }, note: 'n' },
      },
      'k-1',
    );
    const plan = [written, step({ url: 'http://x/b' })];
    const [patched, untouched] = overriddenPlan(plan, {
      '0': { params: { url: 'http://x/c', headers: { 'x-trace': null, 'x-new': '2' }, body: { items: [9], note: null } } },
    });
    expect(patched.params).toEqual({
      url: 'http://x/c',
      headers: { authorization: { $secret: 'token' }, 'x-new': '2' },
      body: { items: [9], order: { $ref: '/input/order' } },
    });
    expect(patched.idempotency_key).toBe('k-1'); // no key override: the key stays
    expect(untouched).toBe(plan[1]);
    expect(plan[0].params).toEqual(written.params); // the original plan is not modified
    expect((plan[0].params.headers as Record<string, unknown>)['x-trace']).toBe('1');
  });

  it('replaces or removes the step key', () => {
    const plan = [step({ url: 'http://x' }, 'old'), step({ url: 'http://y' }, 'other')];
    const out = overriddenPlan(plan, { '0': { idempotency_key: 'new' }, '1': { idempotency_key: null } });
    expect(out.map((s) => s.idempotency_key)).toEqual(['new', null]);
    expect(out[0].params).toBe(plan[0].params);
  });

  it.each([
    [{ input: [] }, 'input'],
    [{ input: null }, 'input'],
    [{ input: 'x' }, 'input'],
    [{ overrides: [] }, 'overrides'],
    [{ overrides: null }, 'overrides'],
    [{ overrides: { '2': { params: {} } } }, 'overrides.2'],
    [{ overrides: { '-1': { params: {} } } }, 'overrides.-1'],
    [{ overrides: { '01': { params: {} } } }, 'overrides.01'],
    [{ overrides: { x: { params: {} } } }, 'overrides.x'],
    [{ overrides: { '0': 'patch' } }, 'overrides.0'],
    [{ overrides: { '0': {} } }, 'overrides.0'],
    [{ overrides: { '0': { params: [1] } } }, 'overrides.0.params'],
    [{ overrides: { '0': { params: null } } }, 'overrides.0.params'],
    [{ overrides: { '0': { params: 'x' } } }, 'overrides.0.params'],
    [{ overrides: { '0': { idempotency_key: '' } } }, 'overrides.0.idempotency_key'],
    [{ overrides: { '0': { idempotency_key: 5 } } }, 'overrides.0.idempotency_key'],
    [{ overrides: { '0': { idempotency_key: 'k'.repeat(256) } } }, 'overrides.0.idempotency_key'],
    [{ overrides: { '0': { idempotency_key: 'tab\there' } } }, 'overrides.0.idempotency_key'],
    [{ overrides: { '0': { params: {}, behavior: 'skip' } } }, 'overrides.0.behavior'],
  ])('refuses %j (field %s)', (request, field) => {
    const { errors, whatIf } = parseWhatIf(request, 2);
    expect(errors.map((e) => e.field)).toContain(field);
    expect(Object.keys(whatIf.overrides)).toEqual([]);
  });

  it('accepts an object input and well-formed overrides', () => {
    const { errors, whatIf } = parseWhatIf(
      { input: { order: 43 }, overrides: { '1': { params: { a: null }, idempotency_key: null }, '0': { idempotency_key: 'k' } } },
      2,
    );
    expect(errors).toEqual([]);
    expect(whatIf).toEqual({
      input: { order: 43 },
      overrides: { '0': { idempotency_key: 'k' }, '1': { params: { a: null }, idempotency_key: null } },
    });
  });

  it('names plan errors of overridden steps after the override; errors of other steps are not the request’s', () => {
    const errors = overrideErrors(
      [
        { field: 'steps[0].params.url', message: 'url must be an absolute http(s) URL' },
        { field: 'steps[1].params.body.items[0]', message: 'bad $ref' },
        { field: 'steps[1].skill', message: 'unknown skill' },
        { field: 'steps', message: 'too many' },
      ],
      { '0': { params: { url: 5 } } },
    );
    expect(errors).toEqual([{ field: 'overrides.0.params.url', message: 'url must be an absolute http(s) URL' }]);
  });

  it('refuses skip for an overridden step (behaviors[i], from_step past it); default skip lets it execute', () => {
    const overrides = { '1': { params: { url: 'http://z' } } };
    expect(overrideBehaviorErrors(options({ behaviors: { '1': 'skip' } }), overrides).map((e) => e.field)).toEqual(['behaviors.1']);
    expect(overrideBehaviorErrors(options({ from_step: 2 }), overrides).map((e) => e.field)).toEqual(['from_step']);
    expect(overrideBehaviorErrors(options({ from_step: 1, default_behavior: 'skip', behaviors: { '1': 'check' } }), overrides)).toEqual([]);

    const skipAll = options({ default_behavior: 'skip', overrides });
    expect([0, 1, 2].map((i) => behaviorFor(skipAll, i, 'execute'))).toEqual(['skip', 'execute', 'skip']);
    expect(behaviorFor(options({ overrides }), 1, 'skip')).toBe('execute'); // a recorded skip too
    expect(behaviorFor(options({ default_behavior: 'skip', behaviors: { '1': 'check' }, overrides }), 1, 'execute')).toBe('check');
    expect(behaviorFor(options({ default_behavior: 'skip' }), 1, 'execute')).toBe('skip'); // replays stored before overrides existed
  });

  it('bounds the replay by the larger of MAX_BODY_BYTES and the original as stored', () => {
    const plan = [step({ url: 'http://x', body: 'b'.repeat(1500) })];
    const original = { input: {}, steps: plan };
    const originalBytes = Buffer.byteLength(JSON.stringify(original));
    const sized = (request: Parameters<typeof parseWhatIf>[0], max: number) => {
      const { whatIf } = parseWhatIf(request, 1);
      return whatIfSizeErrors(original, overriddenPlan(plan, whatIf.overrides), whatIf.input ?? original.input, whatIf, max);
    };
    // the original is over MAX_BODY_BYTES (1000): a what-if as large is accepted, one byte more is not
    expect(sized({ overrides: { '0': { params: { body: 'c'.repeat(1500) } } } }, 1000)).toEqual([]);
    expect(sized({ overrides: { '0': { params: { body: 'c'.repeat(1501) } } } }, 1000)).toEqual([
      { field: 'overrides', message: expect.stringContaining(`MAX_BODY_BYTES (1000) and the original's ${originalBytes}`) },
    ]);
    expect(sized({ input: { blob: 'x' } }, 1000).map((e) => e.field)).toEqual(['input']);
    // under MAX_BODY_BYTES, it is the bound
    expect(sized({ input: { blob: 'x'.repeat(2000) } }, 4000)).toEqual([]);
    expect(sized({ input: { blob: 'x'.repeat(3000) } }, 4000).map((e) => e.field)).toEqual(['input']);
    // a replay without input or overrides is the original: never measured
    expect(sized({}, 10)).toEqual([]);
  });

  it('a merge patch nests no deeper than the params or the patch (so a patched plan needs no depth check)', () => {
    const depth = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);
    const nest = (n: number, leaf: unknown = 1): unknown => (n === 0 ? leaf : { d: nest(n - 1, leaf), e: [nest(n - 1, leaf)] });
    for (const [a, b] of [
      [3, 7],
      [7, 3],
      [5, 5],
      [0, 6],
    ]) {
      const patched = overriddenPlan([step({ x: nest(a) })], { '0': { params: { x: nest(b, { z: null, y: [1] }) } } })[0].params;
      expect(depth(patched)).toBeLessThanOrEqual(Math.max(depth({ x: nest(a) }), depth({ x: nest(b, { z: null, y: [1] }) })));
    }
  });

  it('refuses a key override of a wait step (no side effect to key); its params may be overridden', () => {
    const plan: StepSpec[] = [step({ url: 'http://x' }), { ...step({ signal: 'go' }), skill: 'wait' }];
    expect(waitOverrideErrors(plan, { '1': { idempotency_key: 'k' } }).map((e) => e.field)).toEqual(['overrides.1.idempotency_key']);
    expect(waitOverrideErrors(plan, { '1': { params: { signal: 'x' }, idempotency_key: null } }).map((e) => e.field)).toEqual([
      'overrides.1.idempotency_key',
    ]);
    expect(waitOverrideErrors(plan, { '0': { idempotency_key: 'k' }, '1': { params: { signal: 'x' } } })).toEqual([]);
  });
});
