import { linkedAbort } from '../../shared/abort.js';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { TRACE_STORE_DRIVER } from '../../domains/logs/drivers/logs-drivers.tokens.js';
import type { StepOutcomeFlags, StepRow, TraceStoreDriver } from '../../domains/logs/drivers/trace-store.driver.js';
import { CLOCK, type Clock } from '../../infra/clock.js';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { METRICS, type Metrics } from '../../infra/metrics/metrics.js';
import { RUN_QUEUE, type RunJobOutcome, type RunQueue } from '../../infra/queue/run-queue.port.js';
import type { Comparison } from '../../shared/comparators.js';
import { RunErrorType } from '../../shared/run-errors.js';
import type { RunStoreDriver } from '../drivers/run-store.driver.js';
import { RUN_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import type { RunError, RunRecord } from '../run.types.js';
import { noProgress, ReplayBatchAdvancer } from './replay-batch-advancer.js';
import { type ReplayContext, type RunAttempt, StepRunner } from './step-runner.js';
import type { ReplayOptions } from './replay-options.js';

/** The lease an attempt holds on its run: `lost` aborts once it cannot be held; `isHeld` is the synchronous check. */
interface RunLease {
  lost: AbortSignal;
  isHeld: () => boolean;
  stop(): void;
}

const MAX_BACKOFF_MS = 10 * 60_000;
/** A run whose lease is held elsewhere is looked at again just after the lease ends. */
const BUSY_MARGIN_MS = 250;
/** A wait's timeout job fires just after the deadline, so the run is due when it looks. */
const WAIT_TIMEOUT_MARGIN_MS = 250;

export interface ReplaySummary {
  verdict: 'match' | 'mismatch';
  summary: { executed: number; skipped: number; checked: number; from_cache: number; mismatches: number };
  mismatches: Array<{ step_index: number; expected_hash: string | null; actual_hash: string; diff: unknown[] }>;
}

/**
 * The run loop: takes a run as a new attempt (fenced by its attempt number, held by a lease it renews),
 * resumes from the first unfinished step, hands each step to the step runner, and ends the run.
 * A worker that lost its run (stalled past its lease, cut off, or the run was cancelled) writes nothing
 * more and starts no further step.
 */
@Injectable()
export class RunExecutionOrchestrator {
  private readonly logger = new Logger(RunExecutionOrchestrator.name);
  private readonly shutdown = new AbortController();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RUN_STORE_DRIVER) private readonly runs: RunStoreDriver,
    @Inject(TRACE_STORE_DRIVER) private readonly traces: TraceStoreDriver,
    @Inject(RUN_QUEUE) private readonly queue: RunQueue,
    private readonly steps: StepRunner,
    private readonly batchAdvancer: ReplayBatchAdvancer,
    @InjectConfig('runs') private readonly config: AppConfig['runs'],
    @InjectConfig('worker') private readonly worker: AppConfig['worker'],
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {}

  /** Asks running skills to stop early (graceful shutdown past its grace period); their runs are requeued. */
  abortRunningSkills(): void {
    this.shutdown.abort();
  }

  /**
   * Executes a run from its first unfinished step: steps recorded as succeeded are never run again.
   * A retryable failure with attempts left marks the run `retry` and asks the queue to come back after
   * a backoff. A run held by another live attempt is looked at again when that attempt's lease ends.
   */
  async executeRun(runId: string): Promise<RunJobOutcome> {
    const manager = this.dataSource.manager;
    const now = this.clock.now();
    const taken = await this.runs.startAttempt(manager, runId, now, this.worker.lockDurationMs);
    if (!taken) return {}; // finished, cancelled or unknown: nothing to do
    if ('busyForMs' in taken) return { retryInMs: taken.busyForMs + BUSY_MARGIN_MS };
    const run = taken;
    const lease = this.holdLease(run, now);
    const halt = linkedAbort([lease.lost, this.shutdown.signal]);
    try {
      // A run started before (its started_at is older than this start) has a trace to resume from, whatever
      // its attempt number: a shutdown gives its attempt back (releaseAttempt), so attempt 1 can come twice.
      const resumed = run.attempts > 1 || (run.started_at !== null && run.started_at.getTime() !== now.getTime());
      return await this.runAttempt(run, lease, halt.signal, resumed);
    } finally {
      halt.dispose();
      lease.stop();
    }
  }

  private async runAttempt(run: RunRecord, lease: RunLease, halt: AbortSignal, resumed: boolean): Promise<RunJobOutcome> {
    const manager = this.dataSource.manager;
    const { lost } = lease;
    const replay = run.replay_of ? await this.loadReplayContext(run) : null;
    // A first start has no trace yet; a resumed run continues after the steps that succeeded.
    const recorded = resumed ? await this.traces.getSteps(manager, run.id) : [];
    const done = new Map(recorded.filter((s) => s.status === 'succeeded').map((s) => [s.index, s]));
    // Attempts that ended by waiting for a signal are pauses, not failures: they do not use up attempts.
    const tries = run.attempts - run.waits;
    if (tries > this.config.maxAttempts) {
      // A replay that recorded its mismatch but never managed to fail still ends with its verdict.
      const mismatch = replay?.options.on_mismatch === 'fail' ? [...done.values()].find((s) => s.mismatch) : undefined;
      if (mismatch && replay) return this.failOnMismatch(run, mismatch.index, replay, mismatch.comparison);
      const message = `The run was taken ${tries - 1} times without finishing (worker crashes).`;
      await this.fail(run, { type: RunErrorType.AttemptsExhausted, message }, 0, replay);
      return {};
    }
    const attempt: RunAttempt = {
      run,
      attempt: run.attempts,
      lost,
      halt,
      isHeld: lease.isHeld,
      shutdown: this.shutdown.signal,
      replay,
      outputs: [],
      previousAttempts: new Map(recorded.map((s) => [s.index, s.attempts])),
      executedUnchecked: new Map(
        recorded
          .filter((s) => s.status !== 'succeeded' && s.status !== 'cancelled' && s.output_hash !== null && s.executed)
          .map((s) => [s.index, { output: s.output, output_hash: s.output_hash! }]),
      ),
      deferred: [],
    };
    const fence = { runId: run.id, runAttempt: attempt.attempt };
    // How each succeeded step came by its output: the earlier attempts' rows, then this attempt's (a replay's verdict).
    const outcomes = new Map<number, StepOutcomeFlags>(done);

    for (let index = 0; index < run.steps.length; index++) {
      const finished = done.get(index);
      if (finished) {
        // A mismatch recorded by an attempt that died before failing the replay still fails it now.
        if (finished.mismatch && replay?.options.on_mismatch === 'fail')
          return this.failOnMismatch(run, index, replay, finished.comparison);
        attempt.outputs.push(finished.output);
        continue;
      }
      if (lost.aborted) return {};
      if (this.shutdown.signal.aborted) {
        // Past the shutdown's grace: start no further step, give the attempt back (steps done are kept).
        await this.traces.writeSteps(manager, fence, attempt.deferred);
        await this.runs.releaseAttempt(manager, run.id, attempt.attempt, this.clock.now());
        return { retryInMs: 0 };
      }
      const outcome = await this.steps.run(attempt, index);
      switch (outcome.kind) {
        case 'lost':
          this.logger.warn(`run ${run.id}: attempt ${attempt.attempt} lost the run (cancelled or taken over); it writes nothing more`);
          return {};
        case 'waiting':
          await this.scheduleWaitTimeout(run, index, outcome.until);
          return {};
        case 'interrupted':
          await this.traces.writeSteps(manager, fence, attempt.deferred);
          await this.runs.releaseAttempt(manager, run.id, attempt.attempt, this.clock.now());
          return { retryInMs: 0 };
        case 'failed': {
          const { error } = outcome;
          const runError: RunError = { type: error.type, message: error.message, step_index: index };
          if (error.retryable && tries < this.config.maxAttempts) {
            await this.runs.markRetry(manager, run.id, attempt.attempt, runError, this.clock.now());
            return { retryInMs: Math.min(this.config.retryBackoffMs * 2 ** (tries - 1), MAX_BACKOFF_MS) };
          }
          await this.fail(run, runError, index + 1, replay);
          return {};
        }
        case 'succeeded':
          attempt.outputs.push(outcome.result.output_data);
          outcomes.set(index, { index, ...outcome.result });
          if (outcome.result.mismatch && replay?.options.on_mismatch === 'fail') {
            return this.failOnMismatch(run, index, replay, outcome.result.comparison, attempt.deferred);
          }
      }
    }
    // The verdict of a replay from its steps' outcomes: the trace's succeeded rows once this statement is written.
    const summary = replay ? summarize([...outcomes.values()].sort((a, b) => a.index - b.index)) : undefined;
    const at = this.clock.now();
    const output = attempt.outputs[attempt.outputs.length - 1] ?? null;
    const outcome = { status: 'succeeded', output, error: null, replay: summary } as const;
    // The last deferred rows and the run's end: one statement, fenced by the run's own UPDATE.
    const finish = (tx: EntityManager) =>
      attempt.deferred.length > 0
        ? this.traces.writeSteps(tx, fence, attempt.deferred, this.runs.finishStatement(run.id, run.attempts, outcome, at))
        : this.runs.finish(tx, run.id, run.attempts, outcome, at);
    if (run.batch_id === null) {
      if (await finish(manager)) this.recordFinish(run, 'succeeded', at, summary);
      return {};
    }
    // A replay run of a batch: its item takes the verdict and the next item starts in the same transaction.
    const progress = noProgress();
    const finished = await this.dataSource.transaction(async (tx) => {
      const batch = await this.batchAdvancer.lockBatch(tx, run.batch_id!); // the batch's row before the run's (lock order)
      if (!(await finish(tx))) return false;
      if (batch)
        await this.batchAdvancer.settle(tx, batch, { id: run.id, status: 'succeeded', error: null, replay: summary ?? null }, at, progress);
      return true;
    });
    if (finished) {
      this.recordFinish(run, 'succeeded', at, summary);
      await this.batchAdvancer.publish(progress);
    }
    return {};
  }

  /**
   * The wait's durable timer: a delayed job (job id from run, step and deadline, so re-adding is a no-op)
   * that takes the run once the deadline passed and fails its wait step. If it is lost (Redis flushed,
   * the add failed), the sweep finds the overdue waiting run.
   */
  private async scheduleWaitTimeout(run: RunRecord, index: number, until: Date): Promise<void> {
    try {
      const at = new Date(until.getTime() + WAIT_TIMEOUT_MARGIN_MS);
      await this.queue.schedule(run.id, run.tenant_id, `wait-${index}-${until.getTime()}`, at);
    } catch (error) {
      this.logger.warn(`run ${run.id}: could not schedule its wait timeout, the sweep will fire it: ${String(error)}`);
    }
  }

  private async failOnMismatch(
    run: RunRecord,
    index: number,
    replay: ReplayContext,
    comparison: Comparison | null,
    deferred: readonly StepRow[] = [],
  ): Promise<RunJobOutcome> {
    const how =
      comparison && comparison.mode !== 'exact'
        ? ` (${comparison.mode} comparison${comparison.reason ? `: ${comparison.reason}` : ''})`
        : '';
    const message = `Step ${index} produced an output that differs from the original run${how}.`;
    await this.fail(run, { type: RunErrorType.ReplayMismatch, message, step_index: index }, index + 1, replay, deferred);
    return {};
  }

  /**
   * The run's lease, renewed every lease/3 while the attempt runs; `lost` aborts once it cannot be held
   * (refused: taken by another attempt; or run out locally: renewals failed). A cancel is not a loss: the
   * running step may finish (no further step can start: every start is fenced on `running`).
   * The lease ends on PostgreSQL's clock; the local deadline counts from before each statement was sent,
   * so it runs out no later than the lease itself, whatever the offset between the two clocks.
   */
  private holdLease(run: RunRecord, takenAt: Date): RunLease {
    const lost = new AbortController();
    let heldUntil = this.leaseFrom(takenAt).getTime();
    let renewing = false;
    const timer = setInterval(
      () => {
        const now = this.clock.now();
        if (now.getTime() >= heldUntil) return lost.abort(new Error('the run lease ran out'));
        if (renewing) return;
        renewing = true;
        this.runs
          .renewLease(this.dataSource.manager, run.id, run.attempts, now, this.worker.lockDurationMs)
          .then(
            (state) => {
              if (state !== 'lost') heldUntil = this.leaseFrom(now).getTime();
              else lost.abort(new Error('the run was taken by another attempt'));
            },
            (error: unknown) => this.logger.warn(`run ${run.id}: could not renew its lease: ${String(error)}`),
          )
          .finally(() => (renewing = false));
      },
      Math.max(100, Math.floor(this.worker.lockDurationMs / 3)),
    );
    timer.unref();
    return {
      lost: lost.signal,
      isHeld: () => !lost.signal.aborted && this.clock.now().getTime() < heldUntil,
      stop: () => clearInterval(timer),
    };
  }

  private leaseFrom(at: Date): Date {
    return new Date(at.getTime() + this.worker.lockDurationMs);
  }

  /**
   * Fails the run in one transaction: the deferred step rows, the failed status (fenced by the attempt), the
   * steps after `cancelFrom` cancelled, and for a replay its report. No crash or retry can end it otherwise.
   * A failed replay has a report only when it found a mismatch (verdict `mismatch`); one that failed
   * for another reason before any mismatch (a step error, judge_failed, attempts exhausted) reached no
   * verdict: its `replay` stays null, as while it ran, and `status` and `error` tell what happened.
   */
  private async fail(
    run: RunRecord,
    error: RunError,
    cancelFrom: number | null,
    replay?: ReplayContext | null,
    deferred: readonly StepRow[] = [],
  ): Promise<void> {
    const now = this.clock.now();
    const progress = noProgress();
    const failed = await this.dataSource.transaction(async (manager) => {
      // A replay run of a batch: the batch's row is locked before the run's (the lock order of every batch path).
      const batch = run.batch_id === null ? null : await this.batchAdvancer.lockBatch(manager, run.batch_id);
      // Steps that finished before the failure and were not written yet (see RunAttempt.deferred) go first.
      if (!(await this.traces.writeSteps(manager, { runId: run.id, runAttempt: run.attempts }, deferred))) return null;
      const report = replay ? await this.replaySummary(manager, run.id) : undefined;
      const summary = report?.verdict === 'mismatch' ? report : undefined;
      if (!(await this.runs.finish(manager, run.id, run.attempts, { status: 'failed', output: null, error, replay: summary }, now))) {
        return null;
      }
      if (cancelFrom !== null) await this.traces.cancelRemaining(manager, run.id, run.steps, cancelFrom, now);
      if (batch)
        await this.batchAdvancer.settle(manager, batch, { id: run.id, status: 'failed', error, replay: summary ?? null }, now, progress);
      return { summary };
    });
    if (failed) {
      this.recordFinish(run, 'failed', now, failed.summary);
      await this.batchAdvancer.publish(progress);
    }
  }

  private recordFinish(run: RunRecord, status: 'succeeded' | 'failed', at: Date, summary: ReplaySummary | undefined): void {
    const started = run.started_at ?? run.created_at;
    this.metrics.runDuration.observe({ status }, Math.max(0, (at.getTime() - started.getTime()) / 1000));
    if (summary) this.metrics.replayVerdicts.inc({ verdict: summary.verdict });
  }

  private async loadReplayContext(run: RunRecord): Promise<ReplayContext> {
    const original = await this.traces.getRecordedOutputs(this.dataSource.manager, run.replay_of!);
    const recorded = new Map<number, unknown>(original.map((s) => [s.index, s.output]));
    const recordedHashes = new Map(original.map((s) => [s.index, s.output_hash]));
    return { options: run.replay_options as ReplayOptions, recorded, recordedHashes };
  }

  /** The replay verdict, from the replay run's own trace (so it is right across resumed attempts). */
  private async replaySummary(manager: EntityManager, runId: string): Promise<ReplaySummary> {
    return summarize(await this.traces.getOutcomeFlags(manager, runId));
  }
}

/** A replay's verdict from how each of its succeeded steps came by its output. */
function summarize(ran: readonly StepOutcomeFlags[]): ReplaySummary {
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
