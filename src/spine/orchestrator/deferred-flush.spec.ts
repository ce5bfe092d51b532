import type { StepRow } from '../../domains/logs/drivers/trace-store.driver.js';
import { deferredFlushDue, MAX_DEFER_MS, MAX_DEFERRED_BYTES, MAX_DEFERRED_ROWS } from './step-runner.js';

const at = new Date('2026-01-01T00:00:00Z');
const row = (output: string, finishedAt = at): StepRow => ({ output, params: '{}', finished_at: finishedAt }) as unknown as StepRow;

describe('deferred step rows: when they are written on their own', () => {
  it('not while few, small and recent', () => {
    expect(deferredFlushDue([], at)).toBe(false);
    expect(deferredFlushDue([row('1'), row('2')], at)).toBe(false);
  });

  it('once MAX_DEFERRED_ROWS wait (a bound below the default MAX_STEPS, so it applies)', () => {
    expect(MAX_DEFERRED_ROWS).toBeLessThanOrEqual(100);
    const rows = Array.from({ length: MAX_DEFERRED_ROWS - 1 }, () => row('1'));
    expect(deferredFlushDue(rows, at)).toBe(false);
    expect(deferredFlushDue([...rows, row('1')], at)).toBe(true);
  });

  it('once the oldest waited MAX_DEFER_MS', () => {
    expect(deferredFlushDue([row('1')], new Date(at.getTime() + MAX_DEFER_MS - 1))).toBe(false);
    expect(deferredFlushDue([row('1')], new Date(at.getTime() + MAX_DEFER_MS))).toBe(true);
  });

  it('once their outputs pass MAX_DEFERRED_BYTES, however few they are (bytes, not characters)', () => {
    const big = 'x'.repeat(MAX_DEFERRED_BYTES / 2);
    expect(deferredFlushDue([row(big)], at)).toBe(false);
    expect(deferredFlushDue([row(big), row(big)], at)).toBe(true);
    // 'é' is 2 bytes of UTF-8: as many characters as above, but twice the bytes
    expect(deferredFlushDue([row('é'.repeat(MAX_DEFERRED_BYTES / 2))], at)).toBe(true);
  });
});
