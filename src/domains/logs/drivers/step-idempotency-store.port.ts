/** What a completed keyed step leaves behind: its output, the output's hash and the step's fingerprint. */
export interface StoredStepResult {
  output: unknown;
  output_hash: string;
  /** SHA-256 of canonical { skill, params }: the same key with another fingerprint is a violation. */
  fingerprint: string;
  completed_at: string;
}

export type CompleteResult = { stored: true } | { stored: false; standing: StoredStepResult | null };

export type ClaimResult = { status: 'claimed' } | { status: 'completed'; result: StoredStepResult } | { status: 'busy' };

/**
 * Step idempotency store: results of keyed steps, per tenant, plus an atomic claim with a lease so
 * that a key is executed by one worker at a time. Memory and Redis implementations share one
 * contract test suite (step-idempotency-store.contract.ts).
 */
export interface StepIdempotencyStore {
  get(tenantId: string, key: string): Promise<StoredStepResult | null>;
  set(tenantId: string, key: string, result: StoredStepResult, ttlSeconds: number): Promise<void>;
  delete(tenantId: string, key: string): Promise<void>;
  /** Atomically: the stored result if there is one; else the claim if nobody holds it (or `owner` does); else busy. */
  claim(tenantId: string, key: string, owner: string, leaseMs: number): Promise<ClaimResult>;
  /** Extends the lease; false when `owner` no longer holds the claim. */
  renew(tenantId: string, key: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Stores the result and drops the claim, atomically, unless a result is already stored or another
   * owner holds the claim (this owner's lease ran out); then nothing is written and the result that
   * stands, if any, is returned.
   */
  complete(tenantId: string, key: string, owner: string, result: StoredStepResult, ttlSeconds: number): Promise<CompleteResult>;
  /** Drops the claim if `owner` holds it (a failed execution: a retry may execute again). */
  release(tenantId: string, key: string, owner: string): Promise<void>;
}
