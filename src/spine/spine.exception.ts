/** Codes of everything the spine refuses; src/api maps each code to an HTTP problem. */
export enum SpineErrorCode {
  TenantNotFound = 'tenant_not_found',
  ApiKeyNotFound = 'api_key_not_found',
  RunNotFound = 'run_not_found',
  InvalidRunRequest = 'invalid_run_request',
  IdempotencyKeyReused = 'idempotency_key_reused',
  IdempotencyRequestInProgress = 'idempotency_request_in_progress',
  RunNotCancellable = 'run_not_cancellable',
  RunNotReplayable = 'run_not_replayable',
  InvalidCursor = 'invalid_cursor',
  SignalAlreadySent = 'signal_already_sent',
  RunFinished = 'run_finished',
  SecretNotFound = 'secret_not_found',
  SecretsDisabled = 'secrets_disabled',
  ReplayBatchNotFound = 'replay_batch_not_found',
  ReplayBatchFinished = 'replay_batch_finished',
  RevocationUnconfirmed = 'revocation_unconfirmed',
}

export interface FieldError {
  field: string;
  message: string;
}

export class SpineException extends Error {
  constructor(
    readonly code: SpineErrorCode,
    message: string,
    readonly details: { errors?: FieldError[]; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'SpineException';
  }
}
