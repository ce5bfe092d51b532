/** The `wait` skill and signals (API.md: Skills `wait`, Signals): names and bounds, checked at submission and at run time. */
export const WAIT_SKILL = 'wait';
export const SIGNAL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const WAIT_TIMEOUT_MIN_MS = 1_000;
export const WAIT_TIMEOUT_MAX_MS = 604_800_000;
export const WAIT_TIMEOUT_DEFAULT_MS = 86_400_000;

export interface WaitParams {
  signal: string;
  timeout_ms: number;
}

/** The params of a `wait` step, or why they are invalid (`path` names the param). */
export function parseWaitParams(params: Record<string, unknown>): WaitParams | { path: string; message: string } {
  const { signal, timeout_ms: timeout } = params;
  if (typeof signal !== 'string' || !SIGNAL_NAME_PATTERN.test(signal)) {
    return { path: 'signal', message: 'signal must match ^[A-Za-z0-9_.-]{1,64}$' };
  }
  if (timeout === undefined) return { signal, timeout_ms: WAIT_TIMEOUT_DEFAULT_MS };
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < WAIT_TIMEOUT_MIN_MS || timeout > WAIT_TIMEOUT_MAX_MS) {
    return { path: 'timeout_ms', message: `timeout_ms must be an integer from ${WAIT_TIMEOUT_MIN_MS} to ${WAIT_TIMEOUT_MAX_MS}` };
  }
  return { signal, timeout_ms: timeout };
}
