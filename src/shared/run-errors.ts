/**
 * Errors of runs and steps: the `type` the API shows (`error.type` of a run or a step) and the code a
 * thrown error carries, each mapped once and exhaustively (a new member that is not mapped fails to
 * compile), as `SpineErrorCode` is mapped to HTTP in src/api.
 */

/** `error.type` of a run or a step (API.md). */
export enum RunErrorType {
  StepFailed = 'step_failed',
  ReplayMismatch = 'replay_mismatch',
  IdempotencyViolation = 'idempotency_violation',
  SignalTimeout = 'signal_timeout',
  SecretMissing = 'secret_missing',
  Cancelled = 'cancelled',
  AttemptsExhausted = 'attempts_exhausted',
  InternalError = 'internal_error',
}

/** What each type means (the OpenAPI description of `error.type` lists these). */
export const RUN_ERROR_TYPES: { readonly [T in RunErrorType]: string } = {
  [RunErrorType.StepFailed]: 'a step failed (its trace entry tells why)',
  [RunErrorType.ReplayMismatch]: 'a replayed `check` step produced another output than the original run',
  [RunErrorType.IdempotencyViolation]: 'a step idempotency key was reused by a step with another skill or other params',
  [RunErrorType.SignalTimeout]: 'a step waited for a signal longer than its timeout',
  [RunErrorType.SecretMissing]: 'a secret the step uses no longer exists',
  [RunErrorType.Cancelled]: 'the run was cancelled',
  [RunErrorType.AttemptsExhausted]: 'the run was taken too many times without finishing (worker crashes)',
  [RunErrorType.InternalError]: 'an unexpected error of the service (retried while attempts are left)',
};

/** Why a step failed: the code every error thrown by a skill or a driver during a step carries. */
export enum StepErrorCode {
  /** Params the skill cannot run with (as resolved at execution). */
  InvalidParams = 'invalid_params',
  /** A `$ref` points to nothing in the run's document. */
  UnresolvedRef = 'unresolved_ref',
  /** The step's output cannot be represented exactly as JSON, so it cannot be hashed or recorded. */
  OutputNotJson = 'output_not_json',
  /** The step's output is larger than STEP_MAX_OUTPUT_BYTES of canonical JSON: a retry produces it again. */
  OutputTooLarge = 'output_too_large',
  /** The step's output is nested deeper than MAX_OUTPUT_DEPTH levels: a retry produces it again. */
  OutputTooDeep = 'output_too_deep',
  /** No skill of that name is registered in this worker. */
  UnknownSkill = 'unknown_skill',
  /** The skill failed in a way a retry does not change (a JSONata evaluation error, too many redirects, a response too large). */
  SkillFailed = 'skill_failed',
  /** The destination is not allowed (allowed hosts, non-public address, protocol). */
  HostNotAllowed = 'host_not_allowed',
  /** A remote service refused the request (4xx other than 429): retrying sends the same request. */
  RemoteRejected = 'remote_rejected',
  /** Network error, timeout, 429 or 5xx, or an unusable answer: a later attempt may succeed. */
  RemoteUnavailable = 'remote_unavailable',
  /** The worker is shutting down; the step runs again on the next attempt. */
  Interrupted = 'interrupted',
  /** Another execution held the step's idempotency key for longer than STEP_CLAIM_WAIT_MS. */
  StepKeyBusy = 'step_key_busy',
  /** The step's claim on its key ran out before it could start or finish (nothing was sent, or the result is unknown). */
  StepClaimLost = 'step_claim_lost',
  /** The step idempotency key was used before by a step with another skill or other params. */
  IdempotencyViolation = 'idempotency_violation',
  /** A `check` step's output differs from the recorded one. */
  ReplayMismatch = 'replay_mismatch',
  /** The step waited for a signal longer than its timeout. */
  SignalTimeout = 'signal_timeout',
  /** A secret the step uses was deleted. */
  SecretMissing = 'secret_missing',
  /**
   * A `judge` comparison could not get a verdict: the judge (llm.chat) failed (network, status, timeout) or
   * answered something other than the demanded `{ "pass": boolean, "reason": string }`. Never a pass.
   */
  JudgeFailed = 'judge_failed',
  /** The step's secrets cannot be read in this worker (no SECRETS_KEY, or another key sealed them). */
  SecretUnavailable = 'secret_unavailable',
  /** Anything else: a bug or an outage of the service itself. */
  Internal = 'internal_error',
}

export interface StepErrorClass {
  type: RunErrorType;
  /** A retryable failure lets the run retry (while RUN_MAX_ATTEMPTS allows); others fail the run. */
  retryable: boolean;
}

/** The one mapping from a step error code to the recorded type and whether a retry may help. */
export const STEP_ERROR_CODES: { readonly [C in StepErrorCode]: StepErrorClass } = {
  [StepErrorCode.InvalidParams]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.UnresolvedRef]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.OutputNotJson]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.OutputTooLarge]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.OutputTooDeep]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.UnknownSkill]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.SkillFailed]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.HostNotAllowed]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.RemoteRejected]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.RemoteUnavailable]: { type: RunErrorType.StepFailed, retryable: true },
  [StepErrorCode.Interrupted]: { type: RunErrorType.StepFailed, retryable: true },
  [StepErrorCode.StepKeyBusy]: { type: RunErrorType.StepFailed, retryable: true },
  [StepErrorCode.StepClaimLost]: { type: RunErrorType.StepFailed, retryable: true },
  [StepErrorCode.IdempotencyViolation]: { type: RunErrorType.IdempotencyViolation, retryable: false },
  [StepErrorCode.ReplayMismatch]: { type: RunErrorType.ReplayMismatch, retryable: false },
  [StepErrorCode.SignalTimeout]: { type: RunErrorType.SignalTimeout, retryable: false },
  [StepErrorCode.SecretMissing]: { type: RunErrorType.SecretMissing, retryable: false },
  [StepErrorCode.SecretUnavailable]: { type: RunErrorType.StepFailed, retryable: false },
  // Not retryable: a retry would execute the checked step again (a new output, new cost) just to ask again.
  [StepErrorCode.JudgeFailed]: { type: RunErrorType.StepFailed, retryable: false },
  [StepErrorCode.Internal]: { type: RunErrorType.InternalError, retryable: true },
};

/** An error thrown while a step runs, with the code that decides how it is recorded. */
export class StepFailure extends Error {
  constructor(
    readonly code: StepErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}
