/** DI tokens of the spine drivers: the only thing SpineDriversModule exports. */
export const TENANT_STORE_DRIVER = Symbol('TENANT_STORE_DRIVER');
export const RUN_STORE_DRIVER = Symbol('RUN_STORE_DRIVER');
export const IDEMPOTENCY_DRIVER = Symbol('IDEMPOTENCY_DRIVER');
export const REPLAY_BATCH_STORE_DRIVER = Symbol('REPLAY_BATCH_STORE_DRIVER');
