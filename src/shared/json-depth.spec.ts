import { assertOutputDepth, jsonDepthExceeds, MAX_OUTPUT_DEPTH, StepOutputTooDeepError } from './json-depth.js';
import { StepErrorCode, STEP_ERROR_CODES } from './run-errors.js';
import { redactValue } from './redaction.js';

const nested = (depth: number, array = false): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = array ? [v] : { a: v };
  return v;
};

describe('output depth', () => {
  it('counts levels of arrays and objects, without recursion (any depth is measured)', () => {
    expect(jsonDepthExceeds(1, 0)).toBe(false);
    expect(jsonDepthExceeds([], 0)).toBe(true);
    expect(jsonDepthExceeds({ a: [1] }, 2)).toBe(false);
    expect(jsonDepthExceeds({ a: [1] }, 1)).toBe(true);
    expect(jsonDepthExceeds({ a: 1, b: { c: [{}] } }, 3)).toBe(true);
    expect(jsonDepthExceeds(nested(MAX_OUTPUT_DEPTH), MAX_OUTPUT_DEPTH)).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_OUTPUT_DEPTH + 1, true), MAX_OUTPUT_DEPTH)).toBe(true);
    expect(jsonDepthExceeds(nested(1_000_000), MAX_OUTPUT_DEPTH)).toBe(true); // far past any stack
    expect(jsonDepthExceeds({ at: new Date(0) }, 1)).toBe(false); // a Date is written as a string
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(jsonDepthExceeds(cycle, MAX_OUTPUT_DEPTH)).toBe(true); // terminates
  });

  it('fails a too deep output cleanly: its own code, not retryable', () => {
    expect(() => assertOutputDepth(nested(3_400))).toThrow(StepOutputTooDeepError);
    try {
      assertOutputDepth(nested(MAX_OUTPUT_DEPTH + 1));
    } catch (error) {
      expect((error as StepOutputTooDeepError).code).toBe(StepErrorCode.OutputTooDeep);
      expect(STEP_ERROR_CODES[StepErrorCode.OutputTooDeep]).toEqual({ type: 'step_failed', retryable: false });
      expect((error as Error).message).toBe(`step output is nested deeper than ${MAX_OUTPUT_DEPTH} levels of arrays and objects`);
    }
    expect(() => assertOutputDepth(nested(MAX_OUTPUT_DEPTH))).not.toThrow();
  });

  it('an output at the limit is still redacted without a stack overflow (the recursion the limit protects)', () => {
    expect(() => redactValue(nested(MAX_OUTPUT_DEPTH))).not.toThrow();
  });
});
