/** Injected clock so time-dependent rules (key expiry, leases) can be tested without waiting. */
export interface Clock {
  now(): Date;
}
export const CLOCK = Symbol('CLOCK');
export const systemClock: Clock = { now: () => new Date() };
