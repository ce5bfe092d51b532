/** DI tokens of the logs drivers: the only thing LogsDriversModule exports. */
export const STEP_IDEMPOTENCY_STORE = Symbol('STEP_IDEMPOTENCY_STORE');
export const REPLAY_ENFORCER = Symbol('REPLAY_ENFORCER');
export const TRACE_STORE_DRIVER = Symbol('TRACE_STORE_DRIVER');
/** Worker threads that run the comparisons of large outputs (internal to the module). */
export const COMPARISON_POOL = Symbol('COMPARISON_POOL');
