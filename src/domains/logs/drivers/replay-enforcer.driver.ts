import { randomUUID } from 'node:crypto';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { Clock } from '../../../infra/clock.js';
import type { ReplayBehavior, StepMismatch } from '../../../shared/step.types.js';
import { jsonDiff } from '../../../shared/json-pointer.js';
import { type CheckJob, type CheckOutcome, runCheck } from '../../../shared/check-comparison.js';
import {
  type Comparator,
  type Comparison,
  EXACT,
  JudgeFailedError,
  type JudgeComparator,
  type JudgeVerdict,
  type Verdict,
} from '../../../shared/comparators.js';
import { canonicalJson, hashOutput, sha256Hex, toHashedJson } from '../../../shared/canonical-json.js';
import { assertOutputDepth } from '../../../shared/json-depth.js';
import { StepErrorCode, StepFailure } from '../../../shared/run-errors.js';
import type { CompleteResult, StepIdempotencyStore, StoredStepResult } from './step-idempotency-store.port.js';

export type { ReplayBehavior };

/** A `check` step whose new output differs from the recorded one. */
export class ReplayMismatchError extends StepFailure {
  constructor(
    readonly stepIndex: number,
    readonly expectedHash: string | null,
    readonly actualHash: string,
    readonly diff: unknown[] = [],
  ) {
    super(
      StepErrorCode.ReplayMismatch,
      `Step ${stepIndex}: output hash ${actualHash} differs from the recorded ${expectedHash ?? '(no recorded output)'}`,
    );
    this.name = 'ReplayMismatchError';
  }
}

/** A step idempotency key reused by a step with another skill or other params. */
export class IdempotencyViolationError extends StepFailure {
  constructor(readonly key: string) {
    super(
      StepErrorCode.IdempotencyViolation,
      `Step idempotency key "${key}" was already used by a step with another skill or other params.`,
    );
    this.name = 'IdempotencyViolationError';
  }
}

/** The key stayed claimed by a step running elsewhere for longer than STEP_CLAIM_WAIT_MS (retryable). */
export class StepClaimTimeoutError extends StepFailure {
  constructor(readonly key: string) {
    super(StepErrorCode.StepKeyBusy, `Step idempotency key "${key}" is still being executed elsewhere; giving up waiting for now.`);
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
  /** Set exactly when a checked step's comparison did not pass. */
  mismatch: StepMismatch | null;
  /** How a checked step was compared; null for steps that were not checked. */
  comparison: Comparison | null;
}

/** A step as the enforcer sees it: resolved params, its behavior, and what the original run recorded. */
export interface EnforcedStep {
  index: number;
  skill: string;
  params: Record<string, unknown>;
  idempotency_key: string | null;
  behavior: ReplayBehavior;
  /**
   * The original run's recorded output of this step, when there is one (replays), and the hash recorded
   * with it (the SHA-256 of its canonical JSON, as the trace holds it; computed here when absent).
   */
  recorded?: { output: unknown; hash?: string } | null;
  /** RFC 6901 pointers removed from both sides before a `check` compares them. */
  ignore_paths?: readonly string[];
  /** The skill's volatile output paths, removed like ignore_paths (empty for a `strict` replay). */
  volatile_paths?: readonly string[];
  /**
   * Paths of the recorded output that the skill no longer records (`SkillHandler.unrecordedPaths`):
   * removed from both sides like ignore_paths, also in a `strict` replay.
   */
  unrecorded_paths?: readonly string[];
  /** How a `check` compares (default exact). */
  comparator?: Comparator;
}

/**
 * Asks a judge (an LLM) whether the new output meets the rubric, given the original one. Provided by
 * the caller (the step runner calls llm.chat through the skill registry): the enforcer makes no call.
 * Throws JudgeFailedError when no verdict can be had.
 */
export type Judge = (comparator: JudgeComparator, expected: unknown, actual: unknown) => Promise<JudgeVerdict>;

export interface ReplayEnforcerOptions {
  ttlSeconds: number;
  leaseMs: number;
  waitMs: number;
  clock: Clock;
  /** Largest executed output in bytes of canonical JSON (StepOutputTooLargeError past it); default no cap. */
  maxOutputBytes?: number;
  /** Runs the comparisons of large outputs off the event loop (a worker-thread pool); absent: all inline. */
  comparisons?: ComparisonRunner;
}

/**
 * Outputs whose JSON texts together are at most this many characters are compared inline (a
 * comparison of that size takes a few milliseconds, a text comparison at most ~(8,192)^2 character
 * pairs); larger ones go to the comparison pool, where a second of work delays no other run.
 */
export const COMPARE_INLINE_MAX_CHARS = 16_384;

/** Where large comparisons run: `runCheck` on the JSON texts of both outputs, in another thread. */
export interface ComparisonRunner {
  run(job: Omit<CheckJob, 'expected' | 'actual'> & { expected: string; actual: string }): Promise<CheckOutcome>;
}

/** Runs a step's skill; `signal` is aborted when the step must stop (its claim was lost). */
export type StepExecutor = (step: EnforcedStep, signal: AbortSignal) => Promise<unknown>;

/**
 * A durable record of completed keys (the trace in PostgreSQL), asked when the store has no result
 * for a key: Redis may lose data, the trace does not. Returns the stored result or null.
 */
export type CompletedKeyLookup = (key: string) => Promise<StoredStepResult | null>;

/** SHA-256 of canonical { skill, params }: what a step idempotency key is bound to. */
export function stepFingerprint(skill: string, params: unknown): string {
  return sha256Hex(canonicalJson({ skill, params }));
}

/** The outcome of asking for a step key: its stored result (the step does not run), or the claim to run it. */
export type KeyAcquisition = { cached: ReplayResult } | { claim: KeyClaim };

/**
 * A step key claimed by this process. The side effect may start only while the claim is verifiably
 * held: `renew()` right before it starts, `heldUntil` is how long that renewal is good for (a lease
 * counted from before the renewal was sent, so it is never later than the store's own expiry).
 */
export class KeyClaim {
  /** Epoch ms until which the claim is known to be held (0: not known to be held). */
  heldUntil = 0;
  private readonly logger = new Logger(KeyClaim.name);

  constructor(
    private readonly store: StepIdempotencyStore,
    private readonly options: ReplayEnforcerOptions,
    readonly tenantId: string,
    readonly key: string,
    readonly owner: string,
    readonly fingerprint: string,
    claimedAt: number,
  ) {
    this.heldUntil = claimedAt + options.leaseMs;
  }

  /** Extends the lease; false when another owner holds the key now (this process lost it). */
  async renew(): Promise<boolean> {
    const sentAt = this.options.clock.now().getTime();
    const held = await this.store.renew(this.tenantId, this.key, this.owner, this.options.leaseMs);
    this.heldUntil = held ? sentAt + this.options.leaseMs : 0;
    return held;
  }

  /** True while the last renewal's lease has not run out (a synchronous check, for the moment before a send). */
  isHeld(): boolean {
    return this.options.clock.now().getTime() < this.heldUntil;
  }

  /**
   * Renews every lease/3 while `work` runs; when the claim is lost (another owner, or the lease ran out
   * because renewals failed) `onLost` is called once, so the work can be aborted.
   */
  keepAlive(onLost: () => void): () => void {
    let lost = false;
    const loseOnce = () => {
      if (!lost) {
        lost = true;
        onLost();
      }
    };
    const timer = setInterval(
      () => {
        if (!this.isHeld()) return loseOnce();
        this.renew().then(
          (held) => held || loseOnce(),
          (error: unknown) => this.logger.warn(`could not renew the claim on step key "${this.key}": ${String(error)}`),
        );
      },
      Math.max(50, Math.floor(this.options.leaseMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Stores the executed result under the key and drops the claim (owner-fenced: a claim that ran out
   * and was taken by another owner stores nothing). Returns the result that stands for the key.
   */
  async complete(hashed: { value: unknown; hash: string }): Promise<ReplayResult> {
    let completed: CompleteResult;
    try {
      completed = await this.store.complete(
        this.tenantId,
        this.key,
        this.owner,
        {
          output: hashed.value,
          output_hash: hashed.hash,
          fingerprint: this.fingerprint,
          completed_at: this.options.clock.now().toISOString(),
        },
        this.options.ttlSeconds,
      );
    } catch (error) {
      // The side effect happened: failing the step now would make a retry repeat it. The result
      // stands (the trace records it); only the store's copy for other runs is missing.
      this.logger.warn(`step key "${this.key}": executed, but the result could not be stored: ${String(error)}`);
      return result({ executed: true, output_data: hashed.value, output_hash: hashed.hash });
    }
    if (!completed.stored) {
      this.logger.warn(
        `step key "${this.key}": the claim's lease ran out during execution; ${completed.standing ? 'another result stands' : 'the result was not stored'}`,
      );
      if (completed.standing) {
        return result({ executed: true, output_data: completed.standing.output, output_hash: completed.standing.output_hash });
      }
    }
    return result({ executed: true, output_data: hashed.value, output_hash: hashed.hash });
  }

  /** Drops the claim if this owner still holds it (a failed execution: a retry may execute again). */
  async release(): Promise<void> {
    this.heldUntil = 0;
    await this.store
      .release(this.tenantId, this.key, this.owner)
      .catch((e: unknown) => this.logger.warn(`could not release step key "${this.key}": ${String(e)}`));
  }
}

/**
 * The step idempotency and replay rules; the step runner (spine orchestrator) composes them with the
 * trace, and `enforceStep` composes them without one (the contract the unit tests pin):
 * - `execute`: the skill runs unless its key already completed (then the stored output, `from_cache`);
 *   a key claimed elsewhere is waited for, never executed twice; a failed execution releases the claim.
 * - `skip`: no skill call; output = the key's stored result, else the recorded output; only where
 *   neither exists does the step execute. A skip takes the key's result whatever the step's params now
 *   (a what-if replay's new input may change them): nothing is sent, so there is nothing to protect.
 * - `check`: output as `execute`, then compared with the recorded output (ignore_paths and the skill's
 *   volatile paths removed from both) by the step's comparator (default: full hash), with a JSON Patch
 *   diff on mismatch.
 * The same key with another fingerprint raises IdempotencyViolationError wherever the skill would run
 * (`execute`, `check`), never in a `skip` that takes a result.
 */
export class ReplayEnforcer {
  constructor(
    private readonly store: StepIdempotencyStore,
    private readonly options: ReplayEnforcerOptions,
  ) {}

  hashOutput(data: unknown): string {
    return hashOutput(data);
  }

  async enforceStep(
    step: EnforcedStep,
    execute: StepExecutor,
    tenantId: string,
    durable?: CompletedKeyLookup,
    judge?: Judge,
  ): Promise<ReplayResult> {
    if (step.behavior === 'skip') {
      const skipped = await this.skipped(step, tenantId, durable);
      if (skipped) return skipped;
    }
    const executed = await this.executeKeyed(step, execute, tenantId, durable);
    return step.behavior === 'check' ? this.check(step, executed, judge) : executed;
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

  /**
   * A `skip` step's output without running it: the key's stored result, else the recorded output; null if
   * neither. No fingerprint check: the skill is not called, so no side effect is repeated (API.md `skip`).
   */
  async skipped(step: EnforcedStep, tenantId: string, durable?: CompletedKeyLookup): Promise<ReplayResult | null> {
    if (step.idempotency_key) {
      const stored = (await this.store.get(tenantId, step.idempotency_key)) ?? (await durable?.(step.idempotency_key)) ?? null;
      if (stored) {
        return result({ skipped: true, from_cache: true, output_data: stored.output, output_hash: stored.output_hash });
      }
    }
    if (step.recorded) {
      // A recorded output was normalised and hashed when it was recorded: its recorded hash stands.
      if (step.recorded.hash)
        return result({ skipped: true, from_cache: true, output_data: step.recorded.output, output_hash: step.recorded.hash });
      const { value, hash } = toHashedJson(step.recorded.output);
      return result({ skipped: true, from_cache: true, output_data: value, output_hash: hash });
    }
    return null;
  }

  /**
   * A `check` step's comparison of its output with the recorded one: ignore_paths and the skill's
   * volatile paths that hold a value on either side, and the paths the skill no longer records, are
   * removed from both, then the step's comparator decides (exact: SHA-256 of canonical JSON).
   * `mismatch` (JSON Patch of what differs after the removal) is set exactly when the comparison did
   * not pass. A judge comparison calls `judge`. The work runs in the comparison pool (a worker thread)
   * when the outputs are large, inline otherwise (see `runCheck`).
   */
  async check(step: EnforcedStep, actual: ReplayResult, judge?: Judge): Promise<ReplayResult> {
    const comparator = step.comparator ?? EXACT;
    const job: CheckJob = {
      expected: step.recorded?.output ?? null,
      recorded: Boolean(step.recorded),
      expectedHash: step.recorded?.hash,
      actual: actual.output_data,
      actualHash: actual.output_hash,
      candidates: [...(step.ignore_paths ?? []), ...(step.volatile_paths ?? [])],
      unrecorded: step.unrecorded_paths ?? [],
      comparator,
    };
    const outcome = await this.runCheck(job);
    let verdict: Verdict;
    let diff: unknown[] | null;
    switch (outcome.kind) {
      case 'judge-refused':
        throw new JudgeFailedError(outcome.reason);
      case 'judge': {
        if (!judge) throw new JudgeFailedError('no judge is available to this comparison');
        const { pass, reason } = await judge(comparator as JudgeComparator, outcome.expected, outcome.actual);
        verdict = { passed: pass, score: null, reason };
        diff = pass ? null : jsonDiff(outcome.expected, outcome.actual); // both within JUDGE_OUTPUT_MAX_CHARS
        break;
      }
      default:
        verdict = outcome.verdict;
        diff = outcome.diff;
    }
    return {
      ...actual,
      checked: true,
      expected_hash: outcome.expectedHash,
      mismatch: verdict.passed ? null : { expected_hash: outcome.expectedHash, actual_hash: actual.output_hash, diff: diff ?? [] },
      comparison: { mode: comparator.mode, ...verdict, ignored_paths: outcome.ignored },
    };
  }

  /**
   * The comparison work, off the event loop when the outputs are large (more than
   * COMPARE_INLINE_MAX_CHARS of JSON together) and a pool is configured; inline otherwise.
   */
  private async runCheck(job: CheckJob): Promise<CheckOutcome> {
    const pool = this.options.comparisons;
    if (!pool) return runCheck(job);
    const expected = job.recorded ? JSON.stringify(job.expected) : 'null';
    if (expected.length > COMPARE_INLINE_MAX_CHARS) await setImmediate(); // two serialisations of ~1 MB: one per turn
    const actual = JSON.stringify(job.actual);
    if (expected.length + actual.length <= COMPARE_INLINE_MAX_CHARS) return runCheck(job);
    return pool.run({ ...job, expected, actual });
  }

  /**
   * For a keyed step: its stored result (from the store, or from the durable record when the store lost
   * it), or the claim to execute it. A key claimed elsewhere is waited for (bounded by waitMs, and by
   * `signal`), never executed twice.
   */
  async acquire(
    step: EnforcedStep & { idempotency_key: string },
    tenantId: string,
    durable?: CompletedKeyLookup,
    signal?: AbortSignal,
  ): Promise<KeyAcquisition> {
    const key = step.idempotency_key;
    const fingerprint = stepFingerprint(step.skill, step.params);
    const owner = randomUUID();
    const deadline = this.options.clock.now().getTime() + this.options.waitMs;
    for (let attempt = 0; ; attempt++) {
      const claimedAt = this.options.clock.now().getTime();
      const claim = await this.store.claim(tenantId, key, owner, this.options.leaseMs);
      if (claim.status === 'completed') {
        if (claim.result.fingerprint !== fingerprint) throw new IdempotencyViolationError(key);
        return { cached: result({ from_cache: true, output_data: claim.result.output, output_hash: claim.result.output_hash }) };
      }
      if (claim.status === 'claimed') {
        const held = new KeyClaim(this.store, this.options, tenantId, key, owner, fingerprint, claimedAt);
        // Claimed, and the store has no result: the key may still have completed before the store lost it.
        const recorded = durable
          ? await durable(key).catch(async (error: unknown) => {
              await held.release();
              throw error;
            })
          : null;
        if (!recorded) return { claim: held };
        if (recorded.fingerprint !== fingerprint) {
          await held.release();
          throw new IdempotencyViolationError(key);
        }
        await this.store.complete(tenantId, key, owner, recorded, this.options.ttlSeconds).catch(() => undefined); // restore the store's copy
        return { cached: result({ from_cache: true, output_data: recorded.output, output_hash: recorded.output_hash }) };
      }
      if (this.options.clock.now().getTime() >= deadline) throw new StepClaimTimeoutError(key);
      await sleep(Math.min(25 * 2 ** Math.min(attempt, 5), 500), undefined, signal ? { signal } : undefined);
    }
  }

  private async executeKeyed(
    step: EnforcedStep,
    execute: StepExecutor,
    tenantId: string,
    durable?: CompletedKeyLookup,
  ): Promise<ReplayResult> {
    const key = step.idempotency_key;
    if (!key) {
      const { value, hash } = this.hashed(await execute(step, new AbortController().signal));
      return result({ executed: true, output_data: value, output_hash: hash });
    }
    const acquired = await this.acquire({ ...step, idempotency_key: key }, tenantId, durable);
    if ('cached' in acquired) return acquired.cached;
    const { claim } = acquired;
    const lost = new AbortController();
    const stop = claim.keepAlive(() => lost.abort(new StepClaimLostError(key)));
    let hashed: { value: unknown; hash: string };
    try {
      hashed = this.hashed(await execute(step, lost.signal));
    } catch (error) {
      // A failed execution frees the key for a retry; if the store is down, the lease frees it.
      await claim.release();
      throw error;
    } finally {
      stop();
    }
    return claim.complete(hashed);
  }

  /** An executed output as stored: at most MAX_OUTPUT_DEPTH levels deep, within maxOutputBytes, hashed. */
  private hashed(output: unknown): { value: unknown; hash: string } {
    assertOutputDepth(output);
    return toHashedJson(output, this.options.maxOutputBytes);
  }
}

/** A claim lost while its step ran or was about to start (its lease ran out): retryable. */
export class StepClaimLostError extends StepFailure {
  constructor(readonly key: string) {
    super(
      StepErrorCode.StepClaimLost,
      `Lost the claim on step key "${key}" before the step could finish; it was not started or its result is unknown.`,
    );
    this.name = 'StepClaimLostError';
  }
}

export function result(fields: Partial<ReplayResult> & Pick<ReplayResult, 'output_data' | 'output_hash'>): ReplayResult {
  return {
    executed: false,
    skipped: false,
    checked: false,
    from_cache: false,
    expected_hash: null,
    mismatch: null,
    comparison: null,
    ...fields,
  };
}
