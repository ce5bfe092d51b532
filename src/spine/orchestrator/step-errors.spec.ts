import { describe, expect, it } from '@jest/globals';
import {
  IdempotencyViolationError,
  ReplayMismatchError,
  StepClaimLostError,
  StepClaimTimeoutError,
} from '../../domains/logs/drivers/replay-enforcer.driver.js';
import { NonRepresentableJsonError } from '../../shared/canonical-json.js';
import { RunErrorType, STEP_ERROR_CODES, StepErrorCode, StepFailure } from '../../shared/run-errors.js';
import { SkillError } from '../../skills/skill.interface.js';
import { RefResolutionError } from './plan.js';
import { SecretMissingError, SecretUnavailableError } from './step-secrets.js';

const recorded = (error: StepFailure) => STEP_ERROR_CODES[error.code];

describe('step error codes', () => {
  it.each([
    ['a reused step key', new IdempotencyViolationError('k'), RunErrorType.IdempotencyViolation, false],
    ['a step key held elsewhere', new StepClaimTimeoutError('k'), RunErrorType.StepFailed, true],
    ['a claim lost before the step finished', new StepClaimLostError('k'), RunErrorType.StepFailed, true],
    ['an output that is not JSON', new NonRepresentableJsonError('NaN'), RunErrorType.StepFailed, false],
    ['a $ref to nothing', new RefResolutionError('/input/x'), RunErrorType.StepFailed, false],
    ['a replay mismatch', new ReplayMismatchError(0, null, 'h'), RunErrorType.ReplayMismatch, false],
    ['a remote 5xx', new SkillError(StepErrorCode.RemoteUnavailable, '503'), RunErrorType.StepFailed, true],
    ['a remote 4xx', new SkillError(StepErrorCode.RemoteRejected, '400'), RunErrorType.StepFailed, false],
    ['a shutdown', new SkillError(StepErrorCode.Interrupted, 'stop'), RunErrorType.StepFailed, true],
    ['a secret deleted before the step', new SecretMissingError(['stripe']), RunErrorType.SecretMissing, false],
    ['secrets this worker cannot read', new SecretUnavailableError('no key'), RunErrorType.StepFailed, false],
  ])('%s is recorded with its type and retryability', (_label, error, type, retryable) => {
    expect(error).toBeInstanceOf(StepFailure);
    expect(recorded(error)).toEqual({ type, retryable });
  });

  it('maps every code to a type the API documents', () => {
    for (const code of Object.values(StepErrorCode)) {
      expect(Object.values(RunErrorType)).toContain(STEP_ERROR_CODES[code].type);
    }
    expect(STEP_ERROR_CODES[StepErrorCode.Internal]).toEqual({ type: RunErrorType.InternalError, retryable: true });
  });
});
