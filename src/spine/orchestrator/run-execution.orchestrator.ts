import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { REPLAY_ENFORCER, TRACE_STORE_DRIVER } from '../../domains/logs/drivers/logs-drivers.tokens.js';
import { NonRepresentableJsonError, StepOutputTooLargeError } from '../../shared/canonical-json.js';
import {
  type EnforcedStep,
  IdempotencyViolationError,
  type ReplayEnforcer,
  type ReplayResult,
  StepClaimTimeoutError,
  stepFingerprint,
} from '../../domains/logs/drivers/replay-enforcer.driver.js';
import type { StoredStepResult } from '../../domains/logs/drivers/step-idempotency-store.port.js';
import type { StepAttempt, TraceStoreDriver } from '../../domains/logs/drivers/trace-store.driver.js';
import type { StepError, StepRecord } from '../../shared/step.types.js';
import { CLOCK, type Clock } from '../../infra/clock.js';
import type { AppConfig } from '../../infra/config/app.config.js';
import { APP_CONFIG } from '../../infra/config/config.tokens.js';
import { METRICS, type Metrics } from '../../infra/metrics/metrics.js';
import { RUN_QUEUE, type RunJobOutcome, type RunQueue } from '../../infra/queue/run-queue.port.js';
import type { SkillRegistry } from '../../skills/skill-registry.js';
import { type SkillContext, SkillError } from '../../skills/skill.interface.js';
import { SKILL_REGISTRY } from '../../skills/skills.tokens.js';
import type { RunStoreDriver } from '../drivers/run-store.driver.js';
import type { IdempotencyDriver } from '../drivers/idempotency.driver.js';
import { IDEMPOTENCY_DRIVER, RUN_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import type { RunRecord } from '../run.types.js';
import { RefResolutionError, resolveRefs } from './plan.js';
import { behaviorFor, type ReplayOptions } from './replay-options.js';

const MAX_BACKOFF_MS = 10 * 60_000;
/** A step still running after this long gets its `running` trace row (visible, and counted on a crash). */
const RUNNING_RECORD_DELAY_MS = 50;
const SWEEP_BATCH = 500;
const PURGE_BATCH = 1_000;

export interface ReplaySummary {
  verdict: 'match' | 'mismatch';
  summary: { executed: number; skipped: number; checked: number; from_cache: number; mismatches: number };
  mismatches: Array<{ step_index: number; expected_hash: string | null; actual_hash: string; diff: unknown[] }>;
}

interface ReplayContext {
  options: ReplayOptions;
  /** Output of each step of the original run that succeeded, by index. */
  recorded: Map<number, unknown>;
}

/** The worker-side operations: execute a run, and re-enqueue runs whose job was lost. */
@Injectable()
export class RunExecutionOrchestrator {
  private readonly logger = new Logger(RunExecutionOrchestrator.name);
  private readonly shutdown = new AbortController();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RUN_STORE_DRIVER) private readonly runs: RunStoreDriver,
    @Inject(IDEMPOTENCY_DRIVER) private readonly idempotency: IdempotencyDriver,
    @Inject(TRACE_STORE_DRIVER) private readonly traces: TraceStoreDriver,
    @Inject(REPLAY_ENFORCER) private readonly enforcer: ReplayEnforcer,
    @Inject(SKILL_REGISTRY) private readonly skills: SkillRegistry,
    @Inject(RUN_QUEUE) private readonly queue: RunQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {}

  /** Asks running skills to stop early (graceful shutdown past its grace period). */
  abortRunningSkills(): void {
    this.shutdown.abort();
  }

  /**
   * Executes a run from its first unfinished step: steps recorded as succeeded are never run again.
   * Each step runs under the replay enforcer (step idempotency keys, replay behaviors). A retryable
   * failure with attempts left marks the run `retry` and asks the queue to come back after a backoff.
   */
  async executeRun(runId: string): Promise<RunJobOutcome> {
    const manager = this.dataSource.manager;
    const run = await this.runs.startAttempt(manager, runId, this.clock.now());
    if (!run) return {}; // finished, cancelled or unknown: nothing to do
    if (run.attempts > this.config.RUN_MAX_ATTEMPTS) {
      await this.fail(
        run,
        { type: 'attempts_exhausted', message: `The run was taken ${run.attempts - 1} times without finishing (worker crashes).` },
        0,
      );
      return {};
    }
    const replay = run.replay_of ? await this.loadReplayContext(run) : null;
    // A first attempt has no trace yet; a later one resumes after the steps that succeeded.
    const recorded = run.attempts > 1 ? await this.traces.getSteps(manager, runId) : [];
    const done = new Map(recorded.filter((s) => s.status === 'succeeded').map((s) => [s.index, s]));
    const attemptsSoFar = new Map(recorded.map((s) => [s.index, s.attempts]));
    const outputs: unknown[] = [];
    let startedThisAttempt = 0;

    for (let index = 0; index < run.steps.length; index++) {
      const finished = done.get(index);
      if (finished) {
        outputs.push(finished.output);
        continue;
      }
      // Before each step but this attempt's first (startAttempt just checked): still running? (cancel)
      if (startedThisAttempt++ > 0 && !(await this.runs.heartbeat(manager, runId, this.clock.now()))) {
        await this.traces.cancelRemaining(manager, runId, run.steps, index, this.clock.now());
        return {};
      }
      const outcome = await this.executeStep(run, index, outputs, replay, attemptsSoFar.get(index) ?? 0);
      if ('error' in outcome) {
        const { error } = outcome;
        if (error.retryable && run.attempts < this.config.RUN_MAX_ATTEMPTS) {
          await this.runs.markRetry(manager, runId, { type: error.type, message: error.message, step_index: index }, this.clock.now());
          return { retryInMs: Math.min(this.config.RUN_RETRY_BACKOFF_MS * 2 ** (run.attempts - 1), MAX_BACKOFF_MS) };
        }
        await this.fail(run, { type: error.type, message: error.message, step_index: index }, index + 1, replay);
        return {};
      }
      outputs.push(outcome.result.output_data);
      if (outcome.result.mismatch && replay?.options.on_mismatch === 'fail') {
        await this.fail(
          run,
          { type: 'replay_mismatch', message: `Step ${index} produced an output that differs from the original run.`, step_index: index },
          index + 1,
          replay,
        );
        return {};
      }
    }
    const summary = replay ? await this.replaySummary(runId) : undefined;
    const at = this.clock.now();
    const finished = await this.runs.finish(
      manager,
      runId,
      { status: 'succeeded', output: outputs[outputs.length - 1] ?? null, error: null, replay: summary },
      at,
    );
    if (finished) this.recordFinish(run, 'succeeded', at, summary);
    return {};
  }

  /** Deletes expired request idempotency keys (their runs stay), a batch at a time. */
  async purgeExpiredKeys(): Promise<number> {
    return this.idempotency.purgeExpired(this.dataSource.manager, this.clock.now(), PURGE_BATCH);
  }

  /** Re-enqueues active runs not updated for SWEEP_STALE_AFTER_MS (a no-op for runs whose job exists). */
  async sweepStrandedRuns(): Promise<number> {
    const before = new Date(this.clock.now().getTime() - this.config.SWEEP_STALE_AFTER_MS);
    const ids = await this.runs.findStale(this.dataSource.manager, before, SWEEP_BATCH);
    for (const id of ids) await this.queue.enqueue(id);
    return ids.length;
  }

  private async executeStep(
    run: RunRecord,
    index: number,
    outputs: unknown[],
    replay: ReplayContext | null,
    previousAttempts: number,
  ): Promise<{ result: ReplayResult } | { error: StepError & { retryable: boolean } }> {
    const manager = this.dataSource.manager;
    const spec = run.steps[index];
    const document = { input: run.input, steps: outputs.map((output) => ({ output })) };
    const behavior = replay ? behaviorFor(replay.options, index, spec.replay_behavior) : 'execute';
    // A replay's trace records the behavior this replay applied to the step.
    const attempt: StepAttempt = {
      runId: run.id,
      index,
      spec: replay ? { ...spec, replay_behavior: behavior } : spec,
      params: spec.params,
      attempt: previousAttempts + 1,
      startedAt: this.clock.now(),
    };
    try {
      attempt.params = resolveRefs(spec.params, document);
    } catch (error) {
      const stepError = classify(error);
      await this.traces.markFailed(manager, attempt, stepError, this.clock.now());
      return { error: stepError };
    }
    const step: EnforcedStep = {
      index,
      skill: spec.skill,
      params: attempt.params as Record<string, unknown>,
      idempotency_key: spec.idempotency_key,
      behavior,
      recorded: replay?.recorded.has(index) ? { output: replay.recorded.get(index) } : null,
      ignore_paths: replay?.options.ignore_paths ?? [],
    };
    // Fast steps are written once, when they finish; a step still running after a moment is shown as running.
    let runningWrite = null as Promise<void> | null;
    const timer = setTimeout(() => {
      runningWrite = this.traces
        .markRunning(manager, attempt)
        .catch((e: unknown) => this.logger.warn(`run ${run.id} step ${index}: ${String(e)}`));
    }, RUNNING_RECORD_DELAY_MS);
    try {
      const result = await this.enforcer.enforceStep(
        step,
        (s) =>
          this.callSkill(s, { tenantId: run.tenant_id, runId: run.id, stepIndex: index, idempotencyKey: spec.idempotency_key, document }),
        run.tenant_id,
        (key) => this.completedKeyFromTrace(run.tenant_id, key),
      );
      clearTimeout(timer);
      await runningWrite;
      const finishedAt = this.clock.now();
      await this.traces.markSucceeded(manager, attempt, result, finishedAt);
      this.metrics.stepDuration.observe(
        { skill: spec.skill, outcome: 'succeeded' },
        (finishedAt.getTime() - attempt.startedAt.getTime()) / 1000,
      );
      return { result };
    } catch (error) {
      clearTimeout(timer);
      await runningWrite;
      const stepError = classify(error);
      if (stepError.type === 'internal_error')
        this.logger.error(`run ${run.id} step ${index}: ${String((error as Error)?.stack ?? error)}`);
      const finishedAt = this.clock.now();
      await this.traces.markFailed(manager, attempt, stepError, finishedAt);
      this.metrics.stepDuration.observe(
        { skill: spec.skill, outcome: 'failed' },
        (finishedAt.getTime() - attempt.startedAt.getTime()) / 1000,
      );
      return { error: stepError };
    }
  }

  /** The trace's record of a completed step key within STEP_IDEMPOTENCY_TTL_SECONDS, as the store would hold it. */
  private async completedKeyFromTrace(tenantId: string, key: string): Promise<StoredStepResult | null> {
    const since = new Date(this.clock.now().getTime() - this.config.STEP_IDEMPOTENCY_TTL_SECONDS * 1000);
    const row = await this.traces.findCompletedKey(this.dataSource.manager, tenantId, key, since);
    if (!row) return null;
    return {
      output: row.output,
      output_hash: row.output_hash,
      fingerprint: stepFingerprint(row.skill, row.params),
      completed_at: row.finished_at.toISOString(),
    };
  }

  private async callSkill(step: EnforcedStep, context: Omit<SkillContext, 'signal'>): Promise<unknown> {
    const handler = this.skills.get(step.skill);
    if (!handler) throw new SkillError(`skill "${step.skill}" is not registered in this worker`, false);
    return handler.execute(structuredClone(step.params), { ...context, signal: this.shutdown.signal });
  }

  private async fail(
    run: RunRecord,
    error: { type: string; message: string; step_index?: number },
    cancelFrom: number | null,
    replay?: ReplayContext | null,
  ): Promise<void> {
    const manager = this.dataSource.manager;
    const now = this.clock.now();
    if (cancelFrom !== null) await this.traces.cancelRemaining(manager, run.id, run.steps, cancelFrom, now);
    const summary = replay ? await this.replaySummary(run.id) : undefined;
    if (await this.runs.finish(manager, run.id, { status: 'failed', output: null, error, replay: summary }, now)) {
      this.recordFinish(run, 'failed', now, summary);
    }
  }

  private recordFinish(run: RunRecord, status: 'succeeded' | 'failed', at: Date, summary: ReplaySummary | undefined): void {
    const started = run.started_at ?? run.created_at;
    this.metrics.runDuration.observe({ status }, Math.max(0, (at.getTime() - started.getTime()) / 1000));
    if (summary) this.metrics.replayVerdicts.inc({ verdict: summary.verdict });
  }

  private async loadReplayContext(run: RunRecord): Promise<ReplayContext> {
    const original = await this.traces.getSteps(this.dataSource.manager, run.replay_of!);
    const recorded = new Map<number, unknown>(original.filter((s) => s.status === 'succeeded').map((s) => [s.index, s.output]));
    return { options: run.replay_options as ReplayOptions, recorded };
  }

  /** The replay verdict, from the replay run's own trace (so it is right across resumed attempts). */
  private async replaySummary(runId: string): Promise<ReplaySummary> {
    const steps: StepRecord[] = await this.traces.getSteps(this.dataSource.manager, runId);
    const ran = steps.filter((s) => s.status === 'succeeded');
    const mismatches = ran
      .filter((s) => s.mismatch)
      .map((s) => ({
        step_index: s.index,
        expected_hash: s.mismatch!.expected_hash,
        actual_hash: s.mismatch!.actual_hash,
        diff: s.mismatch!.diff,
      }));
    return {
      verdict: mismatches.length > 0 ? 'mismatch' : 'match',
      summary: {
        executed: ran.filter((s) => s.executed).length,
        skipped: ran.filter((s) => s.skipped).length,
        checked: ran.filter((s) => s.checked).length,
        from_cache: ran.filter((s) => s.from_cache).length,
        mismatches: mismatches.length,
      },
      mismatches,
    };
  }
}

/** Maps what a step threw to the trace's error and whether a retry may help. */
function classify(error: unknown): StepError & { retryable: boolean } {
  if (error instanceof SkillError) return { type: error.type, message: error.message, retryable: error.retryable };
  if (error instanceof IdempotencyViolationError) return { type: 'idempotency_violation', message: error.message, retryable: false };
  if (error instanceof StepClaimTimeoutError) return { type: 'step_failed', message: error.message, retryable: true };
  if (error instanceof NonRepresentableJsonError || error instanceof StepOutputTooLargeError || error instanceof RefResolutionError) {
    return { type: 'step_failed', message: error.message, retryable: false };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { type: 'internal_error', message: `unexpected error: ${message.slice(0, 500)}`, retryable: true };
}
