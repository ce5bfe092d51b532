import { StepErrorCode, StepFailure } from './run-errors.js';

/**
 * How deep a step output may nest (arrays and objects; a scalar is level 0, `[1]` level 1). The code
 * that redacts, hashes, compares and diffs outputs recurses once per level; past about 2,700 levels
 * the first of them overflowed the stack, which failed the step as `internal_error` (retryable: an
 * unkeyed request ran again, three times). Real outputs nest a few dozen levels at most.
 */
export const MAX_OUTPUT_DEPTH = 1000;

/** A step output nested deeper than MAX_OUTPUT_DEPTH: not retryable (a retry gets the same output). */
export class StepOutputTooDeepError extends StepFailure {
  constructor(readonly limit: number) {
    super(StepErrorCode.OutputTooDeep, `step output is nested deeper than ${limit} levels of arrays and objects`);
    this.name = 'StepOutputTooDeepError';
  }
}

/**
 * True when `value` nests arrays and objects deeper than `max` levels. Iterative (no recursion, so
 * any depth is measured without a stack overflow); stops at the first path past `max`, so a cycle
 * counts as too deep rather than looping.
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth: level } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    const toJson = (current as { toJSON?: unknown }).toJSON;
    if (typeof toJson === 'function') {
      // what JSON.stringify writes in its place (a Date's string), at the same level
      const replaced: unknown = toJson.call(current);
      if (replaced !== current) {
        stack.push({ value: replaced, depth: level });
        continue;
      }
    }
    if (level + 1 > max) return true;
    for (const member of Object.values(current)) stack.push({ value: member, depth: level + 1 });
  }
  return false;
}

/** Throws StepOutputTooDeepError when `output` nests deeper than `max` levels. */
export function assertOutputDepth(output: unknown, max = MAX_OUTPUT_DEPTH): void {
  if (jsonDepthExceeds(output, max)) throw new StepOutputTooDeepError(max);
}
