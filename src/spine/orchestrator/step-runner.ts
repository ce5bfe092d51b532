import { linkedAbort } from '../../shared/abort.js';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { REPLAY_ENFORCER, TRACE_STORE_DRIVER } from '../../domains/logs/drivers/logs-drivers.tokens.js';
import {
  type EnforcedStep,
  type Judge,
  type KeyClaim,
  type ReplayEnforcer,
  type ReplayResult,
  result,
  StepClaimLostError,
  stepFingerprint,
} from '../../domains/logs/drivers/replay-enforcer.driver.js';
import type { StoredStepResult } from '../../domains/logs/drivers/step-idempotency-store.port.js';
import { type StepAttempt, type StepRow, succeededRow, type TraceStoreDriver } from '../../domains/logs/drivers/trace-store.driver.js';
import { CLOCK, type Clock } from '../../infra/clock.js';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { METRICS, type Metrics } from '../../infra/metrics/metrics.js';
import { hashOutput, toHashedJson } from '../../shared/canonical-json.js';
import { assertOutputDepth } from '../../shared/json-depth.js';
import { comparatorFor, JudgeFailedError, judgeMessages, parseJudgeVerdict } from '../../shared/comparators.js';
import { redactText, redactValue } from '../../shared/redaction.js';
import { RunErrorType, STEP_ERROR_CODES, StepErrorCode, StepFailure } from '../../shared/run-errors.js';
import { parseWaitParams, WAIT_SKILL } from '../../shared/signals.js';
import type { StepError } from '../../shared/step.types.js';
import type { SkillRegistry } from '../../skills/skill-registry.js';
import { SkillError, type SkillHandler } from '../../skills/skill.interface.js';
import { SKILL_REGISTRY } from '../../skills/skills.tokens.js';
import type { RunStoreDriver } from '../drivers/run-store.driver.js';
import { RUN_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import type { RunRecord } from '../run.types.js';
import { SECRETS_ORCHESTRATOR } from './orchestrator.tokens.js';
import { resolveRefs } from './plan.js';
import { behaviorFor, type ReplayOptions } from './replay-options.js';
import type { SecretsOrchestrator } from './secrets.orchestrator.js';
import type { StepSecrets } from './step-secrets.js';

/** What a replay run knows of its original. */
export interface ReplayContext {
  options: ReplayOptions;
  /** Output of each step of the original run that succeeded, by index. */
  recorded: Map<number, unknown>;
  /** The recorded hash of each of those outputs (a skipped step takes it as it is, instead of hashing again). */
  recordedHashes?: Map<number, string>;
}

/**
 * One execution attempt of a run, as the run loop holds it. `attempt` (the run's attempts count when
 * this attempt took it) is the fencing token: every write of the attempt is conditioned on it.
 */
export interface RunAttempt {
  run: RunRecord;
  attempt: number;
  /** Aborted when this attempt lost the run (its lease ran out, or a later attempt took it). */
  lost: AbortSignal;
  /** Aborted when the attempt must stop waiting: the run was lost or the process shuts down. */
  halt: AbortSignal;
  /** True while the attempt's run lease is verifiably held (a synchronous check, for the moment before a send). */
  isHeld: () => boolean;
  /** Aborted when the process shuts down past its grace period. */
  shutdown: AbortSignal;
  replay: ReplayContext | null;
  /** Outputs of the steps before the current one (what `$ref` pointers read). */
  outputs: unknown[];
  /** Earlier executions of each step (from the trace), so retries count on. */
  previousAttempts: Map<number, number>;
  /**
   * Checked steps whose output an earlier attempt executed and recorded before comparing it (the trace
   * row holds it, unfinished): this attempt compares that output again and never executes the step again.
   */
  executedUnchecked: Map<number, { output: unknown; output_hash: string }>;
  /**
   * Rows of finished steps not written yet: pure steps (and skipped ones) are recorded with the attempt's
   * next durable write (see `StepRunner`). Dropped if the attempt is lost: they simply run again.
   */
  deferred: StepRow[];
}

/**
 * Deferred step rows are written on their own once this many wait, once their text (outputs, params)
 * passes MAX_DEFERRED_BYTES, or once the oldest waited MAX_DEFER_MS: what an attempt holds in memory and
 * what a crash makes run again stay small. The row bound is below the default MAX_STEPS (100), so it applies.
 */
export const MAX_DEFERRED_ROWS = 50;
export const MAX_DEFERRED_BYTES = 4 * 1024 * 1024;
export const MAX_DEFER_MS = 250;

/** Each deferred row's text size in bytes, computed once. */
const rowBytes = new WeakMap<StepRow, number>();
function bytesOf(row: StepRow): number {
  let bytes = rowBytes.get(row);
  if (bytes === undefined) {
    bytes = 0;
    for (const value of Object.values(row)) if (typeof value === 'string') bytes += Buffer.byteLength(value);
    rowBytes.set(row, bytes);
  }
  return bytes;
}

/** Whether the deferred rows must be written now (see MAX_DEFERRED_ROWS), the newest finished at `now`. */
export function deferredFlushDue(rows: readonly StepRow[], now: Date): boolean {
  if (rows.length === 0) return false;
  if (rows.length >= MAX_DEFERRED_ROWS) return true;
  if (now.getTime() - (rows[0].finished_at as Date).getTime() >= MAX_DEFER_MS) return true;
  let bytes = 0;
  for (const row of rows) if ((bytes += bytesOf(row)) >= MAX_DEFERRED_BYTES) return true;
  return false;
}

export type StepOutcome =
  | { kind: 'succeeded'; result: ReplayResult }
  | { kind: 'failed'; error: StepError & { retryable: boolean } }
  /** The attempt no longer holds the run: nothing was (or may be) written; the run loop stops. */
  | { kind: 'lost' }
  /** A shutdown interrupted the step: the run goes back to the queue without using up an attempt. */
  | { kind: 'interrupted' }
  /** A `wait` step found no signal: the run is now `waiting` (this attempt ended) until its signal or `until`. */
  | { kind: 'waiting'; signal: string; until: Date };

/**
 * The step runner: the one place where a step is looked up, claimed, executed and recorded, in that
 * order (DBOS's runStep is the model):
 * 1. lookup: a `skip` step takes the key's stored result or the original's recorded output;
 * 2. claim: a keyed step claims its key (or takes its stored result; waits while another owner runs it);
 * 3. start: the `running` trace row is written only while this attempt still holds the run (fenced);
 *    a keyed step renews its claim right before the skill starts, and the skill's signal is aborted the
 *    moment the claim or the run is lost, so nothing is sent without a verifiably held claim;
 * 4. execute the skill; 5. record: the key's result (owner-fenced), then the trace row (attempt-fenced).
 * Pure steps (the skill declares `pure`: no side effect, so running it again after a crash is harmless; no
 * idempotency key) and skipped steps write no `running` row, and their finished row is deferred: it is written
 * in the same statement as the attempt's next durable write (a side-effect step's start, a failure, the
 * run's end), or on its own past MAX_DEFERRED_ROWS / MAX_DEFERRED_BYTES / MAX_DEFER_MS. Every write stays fenced by the attempt.
 * A crash loses only deferred rows, whose steps the next attempt runs again; a side-effect step's rows are
 * written before the run moves on, as before.
 * Secrets (lines marked `[secrets]`): `$secret` values are read only in 4, after `$ref` resolution and
 * just before the skill runs (a skipped or cached step reads none); the key's fingerprint is over the
 * params with `$ref`s resolved and `$secret`s unresolved (a skip checks none: it sends nothing); params,
 * output and errors are recorded masked and redacted.
 */
@Injectable()
export class StepRunner {
  private readonly logger = new Logger(StepRunner.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(TRACE_STORE_DRIVER) private readonly traces: TraceStoreDriver,
    @Inject(RUN_STORE_DRIVER) private readonly runs: RunStoreDriver,
    @Inject(REPLAY_ENFORCER) private readonly enforcer: ReplayEnforcer,
    @Inject(SKILL_REGISTRY) private readonly skills: SkillRegistry,
    @InjectConfig('stepClaims') private readonly claims: AppConfig['stepClaims'],
    @InjectConfig('limits') private readonly limits: AppConfig['limits'],
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS) private readonly metrics: Metrics,
    @Inject(SECRETS_ORCHESTRATOR) private readonly secrets: SecretsOrchestrator,
  ) {}

  async run(attempt: RunAttempt, index: number): Promise<StepOutcome> {
    const { run, replay } = attempt;
    const spec = run.steps[index];
    const document = documentOf(attempt);
    const behavior = replay ? behaviorFor(replay.options, index, spec.replay_behavior) : 'execute';
    // A pure step's rows are deferred (see the class comment); a keyed step is never deferred.
    const pure = this.skills.get(spec.skill)?.pure === true && !spec.idempotency_key && spec.skill !== WAIT_SKILL;
    const record: StepAttempt = {
      runId: run.id,
      runAttempt: attempt.attempt,
      index,
      // A replay's trace records the behavior this replay applied to the step.
      spec: replay ? { ...spec, replay_behavior: behavior } : spec,
      params: spec.params,
      attempt: (attempt.previousAttempts.get(index) ?? 0) + 1,
      startedAt: this.clock.now(),
    };
    // [secrets] No I/O here: values are read only if the skill runs; masks everything recorded of the step.
    const secrets = this.secrets.forStep(run.tenant_id, run.steps, spec.params);
    let claim: KeyClaim | null = null;
    /** The executed output once it is on the trace row: a failure from then on keeps it there. */
    let kept: ReplayResult | null = null;
    try {
      // `$ref` resolved, `$secret` still unresolved: what the key's fingerprint is computed over.
      const resolved = resolveRefs(spec.params, document) as Record<string, unknown>;
      // [secrets] The trace records params masked ("[secret:<name>]") and redacted.
      record.params = secrets.record(spec.params, resolved);
      if (spec.idempotency_key) record.fingerprint = stepFingerprint(spec.skill, resolved);
      const recorded = replay?.recorded.has(index) ? { output: replay.recorded.get(index), hash: replay.recordedHashes?.get(index) } : null;
      const step: EnforcedStep = {
        index,
        skill: spec.skill,
        params: resolved,
        idempotency_key: spec.idempotency_key,
        behavior,
        recorded,
        ignore_paths: replay?.options.ignore_paths ?? [],
        // The skill's volatile paths are ignored by `check` unless the replay is strict: those stored with
        // the replay when it was created (so a deploy in between does not change its rules), else the skill's.
        volatile_paths:
          replay && !replay.options.strict ? (replay.options.volatile_paths?.[spec.skill] ?? this.skills.volatilePaths(spec.skill)) : [],
        unrecorded_paths: recorded && behavior === 'check' ? this.skills.unrecordedPaths(spec.skill, recorded.output) : [],
        comparator: comparatorFor(replay?.options.compare, index),
      };
      const judge = this.judge(attempt, step, secrets);
      const durable = (key: string) => this.completedKeyFromTrace(run.tenant_id, key);

      // 0. An output this step executed in an earlier attempt, recorded before its check was done (a
      // shutdown or crash during a judge call): compared again, never executed again.
      const unchecked = attempt.executedUnchecked.get(index);
      if (unchecked && behavior === 'check') {
        const executed = result({ executed: true, output_data: unchecked.output, output_hash: unchecked.output_hash });
        kept = executed;
        return await this.recordSuccess(attempt, record, await this.compared(step, executed, judge), false);
      }

      // 1. lookup
      if (behavior === 'skip') {
        const skipped = await this.enforcer.skipped(step, run.tenant_id, durable);
        if (skipped) return await this.recordSuccess(attempt, record, skipped, !step.idempotency_key);
      }
      // A wait step takes its signal, or parks the run (no claim: a signal is consumed by its own run only).
      if (spec.skill === WAIT_SKILL) return await this.waitForSignal(attempt, record, step, judge);
      // 2. claim
      if (step.idempotency_key) {
        const acquired = await this.enforcer.acquire(
          { ...step, idempotency_key: step.idempotency_key },
          run.tenant_id,
          durable,
          attempt.halt,
        );
        if ('cached' in acquired)
          return await this.recordSuccess(attempt, record, await this.compared(step, acquired.cached, judge), false);
        claim = acquired.claim;
      }
      // 3. start, fenced (a step that waited for a claim re-checks here that the run is still this attempt's);
      // a pure step writes no running row (its start is not a side effect).
      if (!pure) {
        if (!(await this.traces.markRunning(this.dataSource.manager, record, attempt.deferred))) {
          await claim?.release();
          return { kind: 'lost' };
        }
        attempt.deferred = [];
        record.started = true;
      }
      if (claim && !(await claim.renew())) throw new StepClaimLostError(claim.key);
      // 4. execute
      const { output, raw } = await this.execute(step, attempt, claim, document, spec.params, secrets, pure);
      // STEP_MAX_OUTPUT_BYTES: a larger output fails the step (not retryable) before anything of it is recorded.
      const hashed = toHashedJson(output, this.limits.maxStepOutputBytes);
      // Steps prefetched after this one read its output as the skill gave it: if masking or redaction
      // changed it, they read another document than the run's, and run again on their own instead.
      const chain = chains.get(attempt);
      if (chain?.outputs.has(index + 1) && hashOutput(raw) !== hashed.hash) chain.outputs.clear();
      // 5. record
      const executed = claim
        ? await claim.complete(hashed)
        : result({ executed: true, output_data: hashed.value, output_hash: hashed.hash });
      claim = null;
      if (behavior === 'check' && !pure) {
        // The side effect happened: its output goes on the step's row before the comparison (a judge call
        // may take a minute), so a shutdown or crash meanwhile resumes with the comparison (step 0). A pure
        // step has no side effect to protect (and no running row): it would simply run again.
        if (!(await this.traces.markExecuted(this.dataSource.manager, record, executed))) return { kind: 'lost' };
        kept = executed;
      }
      return await this.recordSuccess(attempt, record, await this.compared(step, executed, judge), pure);
    } catch (error) {
      await claim?.release();
      if (attempt.lost.aborted) return { kind: 'lost' };
      // An interrupted check leaves its recorded output in place for the next attempt to compare.
      if (attempt.shutdown.aborted) return { kind: 'interrupted' };
      const stepError = secrets.error(classify(error)); // [secrets] masked before it is recorded or logged
      if (stepError.type === RunErrorType.InternalError) {
        this.logger.error(secrets.text(`run ${run.id} step ${index}: ${String((error as Error)?.stack ?? error)}`));
      }
      const finishedAt = this.clock.now();
      this.observe(spec.skill, 'failed', record.startedAt, finishedAt);
      // A failed check keeps the executed output on the row: shown with the error, and compared again
      // (not executed again) by a retry.
      if (!(await this.traces.markFailed(this.dataSource.manager, record, stepError, finishedAt, attempt.deferred, kept ?? undefined)))
        return { kind: 'lost' };
      attempt.deferred = [];
      return { kind: 'failed', error: stepError };
    }
  }

  /**
   * A `wait` step, decided under the run row's lock (the signal endpoint stores a signal under the same
   * lock, so none slips in between): the stored signal's payload is the step's output; else, past the
   * wait's deadline, the step fails (signal_timeout); else the step is marked running and the run becomes
   * `waiting` (this attempt ends, the run holds no worker). The deadline is set when the run first reaches
   * the step and kept across attempts, so a restart neither extends nor loses it.
   */
  private async waitForSignal(attempt: RunAttempt, record: StepAttempt, step: EnforcedStep, judge: Judge): Promise<StepOutcome> {
    const params = parseWaitParams(step.params);
    if ('path' in params) throw new StepFailure(StepErrorCode.InvalidParams, params.message);
    const now = this.clock.now();
    const decided = await this.dataSource.transaction(async (manager) => {
      const run = await this.runs.lockHeld(manager, record.runId, record.runAttempt);
      if (!run) return { kind: 'lost' } as const;
      const sameWait = run.wait_step === record.index && run.wait_signal === params.signal ? run.wait_until : null;
      // A resumed wait counts from when the run first reached it.
      if (sameWait) record.startedAt = new Date(Math.min(now.getTime(), sameWait.getTime() - params.timeout_ms));
      const signal = await this.runs.findSignal(manager, run.id, params.signal);
      if (signal) return { kind: 'signal', payload: signal.payload } as const;
      if (sameWait && sameWait.getTime() <= now.getTime()) return { kind: 'timeout' } as const;
      const until = sameWait ?? new Date(now.getTime() + params.timeout_ms);
      if (!(await this.traces.markRunning(manager, record, attempt.deferred))) return { kind: 'lost' } as const;
      if (!(await this.runs.park(manager, run.id, record.runAttempt, { signal: params.signal, step: record.index, until }, now))) {
        return { kind: 'lost' } as const;
      }
      return { kind: 'waiting', until } as const;
    });
    switch (decided.kind) {
      case 'lost':
        return { kind: 'lost' };
      case 'waiting':
        attempt.deferred = [];
        return { kind: 'waiting', signal: params.signal, until: decided.until };
      case 'timeout':
        throw new StepFailure(StepErrorCode.SignalTimeout, `No signal "${params.signal}" arrived within ${params.timeout_ms} ms.`);
      case 'signal': {
        const hashed = toHashedJson(decided.payload);
        return this.recordSuccess(
          attempt,
          record,
          await this.compared(step, result({ executed: true, output_data: hashed.value, output_hash: hashed.hash }), judge),
          false,
        );
      }
    }
  }

  /**
   * Runs the skill with a signal aborted when the shutdown's grace ends, the run is lost or the key's
   * claim is lost; `mayStartSideEffect` is the synchronous check a skill makes right before it sends.
   * [secrets] The step's secrets are read and substituted here, just before the skill runs (`written`:
   * the params as written in the plan); the output comes back masked and redacted, ready to be hashed.
   */
  private async execute(
    step: EnforcedStep,
    attempt: RunAttempt,
    claim: KeyClaim | null,
    document: RunDocument,
    written: unknown,
    secrets: StepSecrets,
    pure: boolean,
  ): Promise<{ output: unknown; raw: unknown }> {
    const handler = this.skills.get(step.skill);
    if (!handler) throw new SkillError(StepErrorCode.UnknownSkill, `skill "${step.skill}" is not registered in this worker`);
    // An unkeyed step stops with the attempt (`halt`: the run lost or the shutdown's grace over); a keyed
    // step also when its claim is lost. (A signal linked per step cost ~0.1 ms a step in profiles.)
    const claimLost = claim ? new AbortController() : null;
    const stopKeepAlive = claim?.keepAlive(() => claimLost!.abort(new StepClaimLostError(claim.key)));
    const linked = claimLost
      ? linkedAbort([attempt.shutdown, attempt.lost, claimLost.signal])
      : { signal: attempt.halt, dispose: () => {} };
    const signal = linked.signal;
    let raw: unknown;
    try {
      const output = await secrets.execute(written, step.params, async (params, secretValues) => {
        const prefetched = pure ? await this.prefetched(attempt, step, handler, signal) : NOT_PREFETCHED;
        raw =
          prefetched !== NOT_PREFETCHED
            ? prefetched
            : await handler.execute(structuredClone(params), {
                tenantId: attempt.run.tenant_id,
                runId: attempt.run.id,
                stepIndex: step.index,
                idempotencyKey: step.idempotency_key,
                document,
                signal,
                mayStartSideEffect: () => !signal.aborted && attempt.isHeld() && (claim ? claim.isHeld() : true),
                secretValues,
              });
        // Before anything recurses into it (masking, redaction, hashing): a clean, non-retryable failure.
        assertOutputDepth(raw);
        return raw;
      });
      return { output, raw };
    } finally {
      linked.dispose();
      stopKeepAlive?.();
    }
  }

  /**
   * A pure step's output from a chain: a skill that can (`executeChain`) runs this step and the consecutive
   * steps after it that it can run the same way (same skill, pure, no key, not skipped, params it accepts;
   * at most MAX_CHAIN) in one call; the outputs wait for their steps, which record them as usual. A chain
   * that spent its time budget (`stopped`) goes on with another call from the first step it did not run. A chain
   * stopped by an error is not tried again before the step where it stopped, which runs on its own (so it
   * fails as it would alone); a chain lost to a limit (the sandbox process died) ends chains for the
   * attempt. NOT_PREFETCHED: run the step as usual.
   */
  private async prefetched(attempt: RunAttempt, step: EnforcedStep, handler: SkillHandler, signal: AbortSignal): Promise<unknown> {
    if (!handler.executeChain || !handler.chainable) return NOT_PREFETCHED;
    let chain = chains.get(attempt);
    if (!chain) chains.set(attempt, (chain = { outputs: new Map(), resumeAt: 0 }));
    if (!chain.outputs.has(step.index)) {
      if (step.index < chain.resumeAt) return NOT_PREFETCHED;
      const { run, replay } = attempt;
      const params: Array<Record<string, unknown>> = [];
      for (let j = step.index; j < run.steps.length && params.length < MAX_CHAIN; j++) {
        const spec = run.steps[j];
        const behavior = replay ? behaviorFor(replay.options, j, spec.replay_behavior) : 'execute';
        if (spec.skill !== step.skill || spec.idempotency_key || behavior === 'skip' || !handler.chainable(spec.params)) break;
        params.push(spec.params);
      }
      if (params.length < 2) return NOT_PREFETCHED;
      const { outputs, lost, stopped } = await handler.executeChain(params, documentOf(attempt), signal);
      outputs.forEach((output, k) => chain.outputs.set(step.index + k, output));
      // Stopped by its time budget: the next step starts another chain; stopped by an error: the failing
      // step runs on its own; lost (a limit): no more chains in this attempt.
      if (outputs.length < params.length) {
        chain.resumeAt = lost ? Infinity : stopped ? step.index + outputs.length : step.index + outputs.length + 1;
      }
      if (!chain.outputs.has(step.index)) return NOT_PREFETCHED;
    }
    const output = chain.outputs.get(step.index);
    chain.outputs.delete(step.index);
    return output;
  }

  private async compared(step: EnforcedStep, executed: ReplayResult, judge: Judge): Promise<ReplayResult> {
    return step.behavior === 'check' ? this.enforcer.check(step, executed, judge) : executed;
  }

  /**
   * The judge of a `judge` comparison: `llm.chat` (the registered skill, so LLM_BASE_URL and LLM_API_KEY)
   * asked with the rubric and both outputs. The outputs it sees are as recorded (secrets masked when they
   * were recorded) and redacted once more here. Its tokens are counted in a metric, not in the run's
   * `usage` (which is the cost of the plan's own steps). Any failure, or an answer that is not exactly
   * `{ "pass": boolean, "reason": string }`, throws JudgeFailedError: never a pass.
   */
  private judge(attempt: RunAttempt, step: EnforcedStep, secrets: StepSecrets): Judge {
    return async (comparator, expected, actual) => {
      const handler = this.skills.get(JUDGE_SKILL);
      if (!handler) throw new JudgeFailedError(`the judge needs the ${JUDGE_SKILL} skill, which is not registered in this worker`);
      const signal = linkedAbort([attempt.shutdown, attempt.lost]);
      let output: unknown;
      try {
        output = await handler.execute(
          {
            model: comparator.model,
            messages: judgeMessages(comparator.rubric, redactValue(expected), redactValue(actual)),
            temperature: 0,
          },
          {
            tenantId: attempt.run.tenant_id,
            runId: attempt.run.id,
            stepIndex: step.index,
            idempotencyKey: null,
            document: { input: null, steps: [] },
            signal: signal.signal,
            mayStartSideEffect: () => !signal.signal.aborted && attempt.isHeld(),
            secretValues: [],
          },
        );
      } catch (error) {
        if (attempt.lost.aborted || attempt.shutdown.aborted) throw error; // the run loop handles these
        this.metrics.judgeCalls.inc({ outcome: 'failed' });
        throw new JudgeFailedError(
          `the judge (${JUDGE_SKILL}, model ${comparator.model}) failed: ${(error as Error)?.message ?? String(error)}`,
        );
      } finally {
        signal.dispose();
      }
      const usage = handler.usage?.(output);
      if (usage) {
        this.metrics.judgeTokens.inc({ kind: 'prompt' }, usage.prompt_tokens);
        this.metrics.judgeTokens.inc({ kind: 'completion' }, usage.completion_tokens);
      }
      let verdict;
      try {
        verdict = parseJudgeVerdict((output as { content?: unknown } | null)?.content);
      } catch (error) {
        this.metrics.judgeCalls.inc({ outcome: 'unparsable' });
        throw error;
      }
      this.metrics.judgeCalls.inc({ outcome: verdict.pass ? 'pass' : 'fail' });
      return { pass: verdict.pass, reason: secrets.text(redactText(verdict.reason.slice(0, JUDGE_REASON_MAX))) };
    };
  }

  /**
   * Records a step's success: at once (with the deferred rows before it, in one statement), or, for a
   * pure or skipped step (`deferrable`), with the attempt's next durable write.
   */
  private async recordSuccess(
    attempt: RunAttempt,
    record: StepAttempt,
    stepResult: ReplayResult,
    deferrable: boolean,
  ): Promise<StepOutcome> {
    const finishedAt = this.clock.now();
    this.observe(record.spec.skill, 'succeeded', record.startedAt, finishedAt);
    if (deferrable) {
      attempt.deferred.push(succeededRow(record, stepResult, finishedAt));
      if (deferredFlushDue(attempt.deferred, finishedAt)) {
        if (!(await this.traces.writeSteps(this.dataSource.manager, record, attempt.deferred))) return { kind: 'lost' };
        attempt.deferred = [];
      }
    } else {
      if (!(await this.traces.markSucceeded(this.dataSource.manager, record, stepResult, finishedAt, attempt.deferred))) {
        return { kind: 'lost' };
      }
      attempt.deferred = [];
    }
    const { comparison } = stepResult;
    if (comparison) this.metrics.replayComparisons.inc({ mode: comparison.mode, passed: String(comparison.passed) });
    return { kind: 'succeeded', result: stepResult };
  }

  private observe(skill: string, outcome: 'succeeded' | 'failed', startedAt: Date, finishedAt: Date): void {
    this.metrics.stepDuration.observe({ skill, outcome }, (finishedAt.getTime() - startedAt.getTime()) / 1000);
  }

  /** The trace's record of a completed step key within STEP_IDEMPOTENCY_TTL_SECONDS, as the store would hold it. */
  private async completedKeyFromTrace(tenantId: string, key: string): Promise<StoredStepResult | null> {
    const since = new Date(this.clock.now().getTime() - this.claims.ttlSeconds * 1000);
    const row = await this.traces.findCompletedKey(this.dataSource.manager, tenantId, key, since);
    if (!row) return null;
    return {
      output: row.output,
      output_hash: row.output_hash,
      fingerprint: row.fingerprint ?? stepFingerprint(row.skill, row.params), // [secrets] params are recorded masked
      completed_at: row.finished_at.toISOString(),
    };
  }
}

type RunDocument = { input: unknown; steps: Array<{ output: unknown }> };

const documents = new WeakMap<RunAttempt, RunDocument>();

/** At most this many steps run in one chain (see `StepRunner.prefetched`). */
export const MAX_CHAIN = 100;
const NOT_PREFETCHED = Symbol('not prefetched');
/** Each attempt's prefetched outputs by step index, and the index before which no chain is tried again. */
const chains = new WeakMap<RunAttempt, { outputs: Map<number, unknown>; resumeAt: number }>();

/**
 * `{ input, steps: [{ output }] }` as the current step sees it (what `$ref` pointers and transforms read),
 * kept per attempt and extended as outputs are added, so a long run does not rebuild it at every step.
 */
function documentOf(attempt: RunAttempt): RunDocument {
  let document = documents.get(attempt);
  if (!document || document.steps.length > attempt.outputs.length) {
    document = { input: attempt.run.input, steps: [] };
    documents.set(attempt, document);
  }
  for (let i = document.steps.length; i < attempt.outputs.length; i++) document.steps.push({ output: attempt.outputs[i] });
  return document;
}

/** The skill a `judge` comparison asks. */
const JUDGE_SKILL = 'llm.chat';
/** A judge's reason is recorded up to this many characters. */
const JUDGE_REASON_MAX = 1000;

/** Maps what a step threw to the trace's error and whether a retry may help (STEP_ERROR_CODES). */
export function classify(error: unknown): StepError & { retryable: boolean } {
  if (error instanceof StepFailure) return { ...STEP_ERROR_CODES[error.code], message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { ...STEP_ERROR_CODES[StepErrorCode.Internal], message: `unexpected error: ${message.slice(0, 500)}` };
}
