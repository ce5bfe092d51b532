import type { StepSpec } from '../../shared/step.types.js';
import type { SkillRegistry } from '../../skills/skill-registry.js';
import { isRef, RefResolutionError, refProblem, resolveRefs, validatePlan } from './plan.js';

const registry = {
  get: (name: string) => (name === 'transform' ? { execute: async () => null, validate: () => [] } : undefined),
  names: () => ['transform'],
} as unknown as SkillRegistry;

const spec = (params: Record<string, unknown>, skill = 'transform'): StepSpec => ({
  name: 's',
  skill,
  params,
  replay_behavior: 'execute',
  idempotency_key: null,
});

describe('plan validation and $ref resolution', () => {
  it('recognises only exact { "$ref": string } objects', () => {
    expect(isRef({ $ref: '/input' })).toBe(true);
    expect(isRef({ $ref: '/input', other: 1 })).toBe(false);
    expect(isRef({ $ref: 3 })).toBe(false);
    expect(isRef(['$ref'])).toBe(false);
  });

  it.each([
    ['/input', 0, null],
    ['/input/a~1b/~0c', 0, null],
    ['/steps/0/output/body', 1, null],
    ['/steps/0', 1, null],
    ['/steps/1/output', 1, 'not before step 1'],
    ['/steps/5/output', 2, 'not before step 2'],
    ['/steps/0/params', 1, 'only "output"'],
    ['/steps/x/output', 1, 'must start with'],
    ['', 0, 'must start with'],
    ['/steps', 1, 'must start with'],
    ['input', 0, 'not an RFC 6901'],
    ['/input/~2', 0, 'not an RFC 6901'],
  ])('pointer %p from step %p: %p', (pointer, index, problem) => {
    const found = refProblem(pointer, index);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  it('reports unknown skills, bad refs (with their path) and too many steps', () => {
    const errors = validatePlan(
      [spec({ expression: '1' }), spec({ x: [{ $ref: '/steps/1/output' }] }), spec({}, 'nope'), spec({ y: { $ref: 5 } })],
      registry,
      3,
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'steps' }),
        expect.objectContaining({ field: 'steps[1].params.x[0]' }),
        expect.objectContaining({ field: 'steps[2].skill' }),
        expect.objectContaining({ field: 'steps[3].params.y' }),
      ]),
    );
    expect(errors).toHaveLength(4);
  });

  it('resolves refs deeply against the document and refuses pointers to nothing', () => {
    const document = { input: { user: { id: 7 } }, steps: [{ output: { items: [1, 2] } }] };
    expect(resolveRefs({ a: { $ref: '/input/user/id' }, b: [{ $ref: '/steps/0/output/items/1' }], c: 'plain' }, document)).toEqual({
      a: 7,
      b: [2],
      c: 'plain',
    });
    expect(() => resolveRefs({ a: { $ref: '/input/missing' } }, document)).toThrow(RefResolutionError);
  });
});
