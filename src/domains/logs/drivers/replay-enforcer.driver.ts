import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { Clock } from '../../../infra/clock.js';
import type { ReplayBehavior, StepMismatch } from '../../../shared/step.types.js';
import { jsonDiff, withoutPaths } from '../../../shared/json-pointer.js';
import { canonicalJson, hashOutput, sha256Hex, toHashedJson } from '../../../shared/canonical-json.js';
import type { CompleteResult, StepIdempotencyStore, StoredStepResult } from './step-idempotency-store.port.js';

export type { ReplayBehavior };

/** A `check` step whose new output differs from the recorded one. */
export class ReplayMismatchError extends Error {
  constructor(
    readonly stepIndex: number,
    readonly expectedHash: string | null,
    readonly actualHash: string,
    readonly diff: unknown[] = [],
  ) {
    super(`Step ${stepIndex}: output hash ${actualHash} differs from the recorded ${expectedHash ?? '(no recorded output)'}`);
    this.name = 'ReplayMismatchError';
  }
}

/** A step idempotency key reused by a step with another skill or other params. */
export class IdempotencyViolationError extends Error {
  constructor(readonly key: string) {
    super(`Step idempotency key "${key}" was already used by a step with another skill or other params.`);
    this.name = 'IdempotencyViolationError';
  }
}

/** The key stayed claimed by a step running elsewhere for longer than STEP_CLAIM_WAIT_MS (retryable). */
export class StepClaimTimeoutError extends Error {
  constructor(readonly key: string) {
    super(`Step idempotency key "${key}" is still being executed elsewhere; giving up waiting for now.`);
    this.name = 'StepClaimTimeoutError';
  }
}

export interface ReplayResult {
  executed: boolean;
  skipped: boolean;
  checked: boolean;
  from_cache: boolean;
  output_data: unknown;
  /** Full 64-character SHA-256 of the canonical output. */
  output_hash: string;
  expected_hash: string | null;
  mismatch: StepMismatch | null;
}

/** A step as the enforcer sees it: resolved params, its behavior, and what the original run recorded. */
export interface EnforcedStep {
  index: number;
  skill: string;
  params: Record<string, unknown>;
  idempotency_key: string | null;
  behavior: ReplayBehavior;
  /** The original run's recorded output of this step, when there is one (replays). */
  recorded?: { output: unknown } | null;
  /** RFC 6901 pointers removed from both sides before a `check` compares them. */
  ignore_paths?: readonly string[];
}

export interface ReplayEnforcerOptions {
  ttlSeconds: number;
  leaseMs: number;
  waitMs: number;
  clock: Clock;
  /** Largest executed output in bytes of canonical JSON (StepOutputTooLargeError past it); default no cap. */
  maxOutputBytes?: number;
}

export type StepExecutor = (step: EnforcedStep) => Promise<unknown>;

/**
 * A durable record of completed keys (the trace in PostgreSQL), asked when the store has no result
 * for a key: Redis may lose data, the trace does not. Returns the stored result or null.
 */
export type CompletedKeyLookup = (key: string) => Promise<StoredStepResult | null>;

/** SHA-256 of canonical { skill, params }: what a step idempotency key is bound to. */
export function stepFingerprint(skill: string, params: unknown): string {
  return sha256Hex(canonicalJson({ skill, params }));
}

/**
 * Runs steps under the step idempotency rules and the replay behaviors:
 * - `execute`: the skill runs unless its key already completed (then the stored output, `from_cache`);
 *   a key claimed elsewhere is waited for, never executed twice; a failed execution releases the claim.
 * - `skip`: no skill call; output = the key's stored result, else the recorded output; only where
 *   neither exists does the step execute.
 * - `check`: output as `execute`, then compared by full hash with the recorded output (ignore_paths
 *   removed from both) and a JSON Patch diff on mismatch.
 * The same key with another fingerprint raises IdempotencyViolationError in every behavior.
 */
export class ReplayEnforcer {
  private readonly logger = new Logger(ReplayEnforcer.name);

  constructor(
    private readonly store: StepIdempotencyStore,
    private readonly options: ReplayEnforcerOptions,
  ) {}

  hashOutput(data: unknown): string {
    return hashOutput(data);
  }

  async enforceStep(step: EnforcedStep, execute: StepExecutor, tenantId: string, durable?: CompletedKeyLookup): Promise<ReplayResult> {
    const fingerprint = stepFingerprint(step.skill, step.params);
    if (step.behavior === 'skip') {
      const skipped = await this.skip(step, fingerprint, tenantId, durable);
      if (skipped) return skipped;
      return this.executeKeyed(step, execute, fingerprint, tenantId, durable);
    }
    const result = await this.executeKeyed(step, execute, fingerprint, tenantId, durable);
    return step.behavior === 'check' ? this.check(step, result) : result;
  }

  /**
   * Enforces a whole trace in order. With onMismatch 'fail' the first mismatch raises
   * ReplayMismatchError; with 'continue' every result (mismatches included) is returned.
   */
  async enforceTrace(
    trace: readonly EnforcedStep[],
    executor: StepExecutor,
    tenantId: string,
    onMismatch: 'fail' | 'continue' = 'fail',
  ): Promise<ReplayResult[]> {
    const results: ReplayResult[] = [];
    for (const step of trace) {
      const result = await this.enforceStep(step, executor, tenantId);
      if (result.mismatch && onMismatch === 'fail') {
        throw new ReplayMismatchError(step.index, result.mismatch.expected_hash, result.mismatch.actual_hash, result.mismatch.diff);
      }
      results.push(result);
    }
    return results;
  }

  private async skip(
    step: EnforcedStep,
    fingerprint: string,
    tenantId: string,
    durable?: CompletedKeyLookup,
  ): Promise<ReplayResult | null> {
    if (step.idempotency_key) {
      const stored = (await this.store.get(tenantId, step.idempotency_key)) ?? (await durable?.(step.idempotency_key)) ?? null;
      if (stored) {
        if (stored.fingerprint !== fingerprint) throw new IdempotencyViolationError(step.idempotency_key);
        return result({ skipped: true, from_cache: true, output_data: stored.output, output_hash: stored.output_hash });
      }
    }
    if (step.recorded) {
      const { value, hash } = toHashedJson(step.recorded.output);
      return result({ skipped: true, from_cache: true, output_data: value, output_hash: hash });
    }
    return null;
  }

  private check(step: EnforcedStep, actual: ReplayResult): ReplayResult {
    const ignore = step.ignore_paths ?? [];
    if (!step.recorded) {
      const diff = jsonDiff(null, withoutPaths(actual.output_data, ignore));
      return { ...actual, checked: true, expected_hash: null, mismatch: { expected_hash: null, actual_hash: actual.output_hash, diff } };
    }
    const expectedHash = hashOutput(step.recorded.output);
    const expected = withoutPaths(step.recorded.output, ignore);
    const got = withoutPaths(actual.output_data, ignore);
    const same = ignore.length === 0 ? expectedHash === actual.output_hash : hashOutput(expected) === hashOutput(got);
    return {
      ...actual,
      checked: true,
      expected_hash: expectedHash,
      mismatch: same ? null : { expected_hash: expectedHash, actual_hash: actual.output_hash, diff: jsonDiff(expected, got) },
    };
  }

  private async executeKeyed(
    step: EnforcedStep,
    execute: StepExecutor,
    fingerprint: string,
    tenantId: string,
    durable?: CompletedKeyLookup,
  ): Promise<ReplayResult> {
    const key = step.idempotency_key;
    if (!key) {
      const { value, hash } = toHashedJson(await execute(step), this.options.maxOutputBytes);
      return result({ executed: true, output_data: value, output_hash: hash });
    }
    const owner = randomUUID();
    const cached = await this.acquire(tenantId, key, owner, fingerprint);
    if (cached) return cached;
    // Claimed, and the store has no result: the key may still have completed before the store lost it.
    const recorded = durable ? await durable(key) : null;
    if (recorded) {
      if (recorded.fingerprint !== fingerprint) {
        await this.store.release(tenantId, key, owner).catch(() => undefined);
        throw new IdempotencyViolationError(key);
      }
      await this.store.complete(tenantId, key, owner, recorded, this.options.ttlSeconds).catch(() => undefined); // restore the store's copy
      return result({ from_cache: true, output_data: recorded.output, output_hash: recorded.output_hash });
    }

    const renew = setInterval(
      () => {
        this.store.renew(tenantId, key, owner, this.options.leaseMs).then(
          (held) => held || this.logger.warn(`lost the claim on step key "${key}" while executing`),
          (error: unknown) => this.logger.warn(`could not renew the claim on step key "${key}": ${String(error)}`),
        );
      },
      Math.max(50, Math.floor(this.options.leaseMs / 3)),
    );
    renew.unref();
    let hashed: { value: unknown; hash: string };
    try {
      hashed = toHashedJson(await execute(step), this.options.maxOutputBytes);
    } catch (error) {
      clearInterval(renew);
      // A failed execution frees the key for a retry; if the store is down, the lease frees it.
      await this.store
        .release(tenantId, key, owner)
        .catch((e: unknown) => this.logger.warn(`could not release step key "${key}": ${String(e)}`));
      throw error;
    }
    clearInterval(renew);
    let completed: CompleteResult;
    try {
      completed = await this.store.complete(
        tenantId,
        key,
        owner,
        { output: hashed.value, output_hash: hashed.hash, fingerprint, completed_at: this.options.clock.now().toISOString() },
        this.options.ttlSeconds,
      );
    } catch (error) {
      // The side effect happened: failing the step now would make a retry repeat it. The result
      // stands (the caller records it in the trace); only the store's copy for other runs is missing.
      this.logger.warn(`step key "${key}": executed, but the result could not be stored: ${String(error)}`);
      return result({ executed: true, output_data: hashed.value, output_hash: hashed.hash });
    }
    if (!completed.stored) {
      this.logger.warn(
        `step key "${key}": the claim's lease ran out during execution; ${completed.standing ? 'another result stands' : 'the result was not stored'}`,
      );
      if (completed.standing) {
        return result({
          executed: true,
          from_cache: false,
          output_data: completed.standing.output,
          output_hash: completed.standing.output_hash,
        });
      }
    }
    return result({ executed: true, output_data: hashed.value, output_hash: hashed.hash });
  }

  /** Claims the key, or returns its stored result; waits (bounded) while another owner holds it. */
  private async acquire(tenantId: string, key: string, owner: string, fingerprint: string): Promise<ReplayResult | null> {
    const deadline = this.options.clock.now().getTime() + this.options.waitMs;
    for (let attempt = 0; ; attempt++) {
      const claim = await this.store.claim(tenantId, key, owner, this.options.leaseMs);
      if (claim.status === 'claimed') return null;
      if (claim.status === 'completed') {
        if (claim.result.fingerprint !== fingerprint) throw new IdempotencyViolationError(key);
        return result({ from_cache: true, output_data: claim.result.output, output_hash: claim.result.output_hash });
      }
      if (this.options.clock.now().getTime() >= deadline) throw new StepClaimTimeoutError(key);
      await sleep(Math.min(25 * 2 ** Math.min(attempt, 5), 500));
    }
  }
}

function result(fields: Partial<ReplayResult> & Pick<ReplayResult, 'output_data' | 'output_hash'>): ReplayResult {
  return { executed: false, skipped: false, checked: false, from_cache: false, expected_hash: null, mismatch: null, ...fields };
}
