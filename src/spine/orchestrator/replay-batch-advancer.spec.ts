import { RunErrorType } from '../../shared/run-errors.js';
import { decodePositionCursor, encodePositionCursor } from './cursors.js';
import { itemOutcome, misfitReason } from './replay-batch-advancer.js';

const report = (verdict: 'match' | 'mismatch', steps: number[] = []) => ({
  verdict,
  summary: {},
  mismatches: steps.map((step_index) => ({ step_index })),
});

describe('itemOutcome: the verdict an item takes from its finished replay run', () => {
  it('takes the replay verdict of a succeeded replay run, and its first mismatching step', () => {
    expect(itemOutcome({ status: 'succeeded', error: null, replay: report('match') })).toEqual({
      state: 'match',
      first_mismatch_step: null,
      reason: null,
    });
    expect(itemOutcome({ status: 'succeeded', error: null, replay: report('mismatch', [3, 1]) })).toEqual({
      state: 'mismatch',
      first_mismatch_step: 1,
      reason: null,
    });
  });

  it('reads a replay that failed on its mismatch as a mismatch, any other failure as failed with the reason', () => {
    const mismatch = { type: RunErrorType.ReplayMismatch, message: 'Step 2 produced another output', step_index: 2 };
    expect(itemOutcome({ status: 'failed', error: mismatch, replay: report('mismatch', [2]) })).toEqual({
      state: 'mismatch',
      first_mismatch_step: 2,
      reason: null,
    });
    expect(itemOutcome({ status: 'failed', error: mismatch, replay: null })).toMatchObject({ state: 'mismatch', first_mismatch_step: 2 });
    const failed = { type: RunErrorType.StepFailed, message: 'upstream answered 503', step_index: 1 };
    expect(itemOutcome({ status: 'failed', error: failed, replay: report('mismatch', [0]) })).toEqual({
      state: 'failed',
      first_mismatch_step: 0,
      reason: 'step_failed: upstream answered 503',
    });
  });

  it('reads a cancelled replay run as cancelled', () => {
    expect(itemOutcome({ status: 'cancelled', error: null, replay: null })).toEqual({
      state: 'cancelled',
      first_mismatch_step: null,
      reason: 'The replay run was cancelled.',
    });
  });

  it('names every misfit of the options', () => {
    expect(misfitReason([{ field: 'from_step', message: 'from_step must be a step index of the run (0..0)' }])).toBe(
      'The replay options do not fit this run: from_step: from_step must be a step index of the run (0..0)',
    );
  });
});

describe('item cursors', () => {
  it('round-trip a position and refuse what this API never issued', () => {
    expect(decodePositionCursor(encodePositionCursor(41))).toBe(41);
    for (const forged of [
      'nope',
      Buffer.from('{"p":-1}').toString('base64url'),
      Buffer.from('{"p":2147483648}').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
    ]) {
      expect(() => decodePositionCursor(forged)).toThrow('The cursor is not one this API returned.');
    }
  });
});
