import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { METRICS, type Metrics } from '../../infra/metrics/metrics.js';
import { RUN_QUEUE, type RunQueue } from '../../infra/queue/run-queue.port.js';
import { RunErrorType } from '../../shared/run-errors.js';
import type { ItemOutcome, ReplayBatchStoreDriver, SettleableRun } from '../drivers/replay-batch-store.driver.js';
import type { RunStoreDriver } from '../drivers/run-store.driver.js';
import { REPLAY_BATCH_STORE_DRIVER, RUN_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import type { ReplayBatchRecord } from '../replay-batch.types.js';
import type { FieldError } from '../spine.exception.js';
import { isReplayable } from './replay-options.js';
import { ReplayPlanner } from './replay-planner.js';

/** What a transaction did to batches, acted on after it commits (enqueue, metrics). */
export interface BatchProgress {
  /** Replay runs created for items: each gets its job after commit (a lost one is found by the stranded-run sweep). */
  started: Array<{ runId: string; tenantId: string }>;
  /** Verdicts items reached. */
  verdicts: Array<ItemOutcome['state']>;
}

export const noProgress = (): BatchProgress => ({ started: [], verdicts: [] });

/**
 * The verdict an item takes from its finished replay run: the replay's own verdict (a replay that failed
 * on its mismatch is a `mismatch`), `failed` with the run's error when it failed for another reason,
 * `cancelled` when it was cancelled; `first_mismatch_step` is the replay's first mismatching step.
 */
export function itemOutcome(run: Pick<SettleableRun, 'status' | 'error' | 'replay'>): ItemOutcome {
  const report = run.replay as { verdict?: unknown; mismatches?: Array<{ step_index?: unknown }> } | null;
  const indexes = (report?.mismatches ?? []).map((m) => m.step_index).filter((i): i is number => typeof i === 'number');
  const first = indexes.length > 0 ? Math.min(...indexes) : null;
  switch (run.status) {
    case 'succeeded':
      return { state: report?.verdict === 'mismatch' || first !== null ? 'mismatch' : 'match', first_mismatch_step: first, reason: null };
    case 'failed':
      if (run.error?.type === RunErrorType.ReplayMismatch) {
        return { state: 'mismatch', first_mismatch_step: first ?? run.error.step_index ?? null, reason: null };
      }
      return {
        state: 'failed',
        first_mismatch_step: first,
        reason: run.error ? `${run.error.type}: ${run.error.message}` : 'The replay run failed.',
      };
    default:
      return { state: 'cancelled', first_mismatch_step: first, reason: 'The replay run was cancelled.' };
  }
}

/** The reason of an item whose run the replay options do not fit. */
export function misfitReason(errors: readonly FieldError[]): string {
  return `The replay options do not fit this run: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`;
}

/**
 * Moves replay batches forward, inside the caller's transaction: records the verdict of an item whose
 * replay run finished, and starts the next pending items (a replay run each, made by `ReplayPlanner`
 * as the single replay makes one) while fewer than REPLAY_BATCH_CONCURRENCY of the batch's replay runs are active.
 *
 * Every change of a batch's items happens under its row lock (`lockBatch`), taken before any run row of
 * the batch: finishes, cancels and the sweep of one batch serialise, so two of them can never both see a
 * free slot and start the same item, and the counts add up at every commit. An item is `running` exactly
 * when its replay run exists (same statement order, same transaction), and `runs(batch_id, replay_of)` is
 * unique: no crash can leave an item started twice.
 */
@Injectable()
export class ReplayBatchAdvancer {
  private readonly logger = new Logger(ReplayBatchAdvancer.name);

  constructor(
    @Inject(REPLAY_BATCH_STORE_DRIVER) private readonly batches: ReplayBatchStoreDriver,
    @Inject(RUN_STORE_DRIVER) private readonly runs: RunStoreDriver,
    @Inject(RUN_QUEUE) private readonly queue: RunQueue,
    private readonly planner: ReplayPlanner,
    @InjectConfig('replayBatches') private readonly config: AppConfig['replayBatches'],
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {}

  /** Locks a batch's row. Call it before touching any of its runs' rows (the lock order of every batch path). */
  lockBatch(manager: EntityManager, batchId: string, options: { skipLocked?: boolean } = {}): Promise<ReplayBatchRecord | null> {
    return this.batches.lock(manager, batchId, options);
  }

  /**
   * A replay run of `batch` (locked) finished or was cancelled in this transaction: its item takes the
   * verdict and the batch moves on. `reason` replaces the outcome's reason (a cancel by the batch).
   */
  async settle(
    manager: EntityManager,
    batch: ReplayBatchRecord,
    run: SettleableRun,
    at: Date,
    progress: BatchProgress,
    reason?: string,
  ): Promise<void> {
    const outcome = itemOutcome(run);
    if (reason !== undefined) outcome.reason = reason;
    if (await this.batches.settleByReplayRun(manager, run.id, outcome, at)) progress.verdicts.push(outcome.state);
    await this.advance(manager, batch, at, progress);
  }

  /**
   * Starts pending items of `batch` (locked) while fewer than REPLAY_BATCH_CONCURRENCY run; completes the
   * batch once nothing is pending or running. An item whose run the options do not fit fails with a reason
   * and takes no slot.
   */
  async advance(manager: EntityManager, batch: ReplayBatchRecord, at: Date, progress: BatchProgress): Promise<void> {
    if (batch.status !== 'running') return;
    const limit = this.config.concurrency;
    let running = await this.batches.countRunning(manager, batch.id);
    while (running < limit) {
      const next = await this.batches.nextPending(manager, batch.id, limit - running);
      if (next.length === 0) break;
      for (const { position, run_id, original } of next) {
        const prepared = original ? await this.planner.prepare(original, batch.replay, manager) : null;
        let misfit: string | null = null;
        if (!original || !prepared) misfit = `Run ${run_id} no longer exists (purged after RUN_RETENTION_DAYS).`;
        else if (!prepared.fields) misfit = misfitReason([...prepared.errors, ...prepared.secretErrors]);
        else if (!isReplayable(original))
          misfit = `Run ${original.id} is ${original.status}; only succeeded or failed runs can be replayed.`;
        if (misfit !== null || !prepared?.fields) {
          const outcome: ItemOutcome = { state: 'failed', first_mismatch_step: null, reason: misfit };
          if (await this.batches.settlePending(manager, batch.id, position, outcome, at)) progress.verdicts.push('failed');
          continue;
        }
        const run = await this.runs.insertRun(manager, {
          ...prepared.fields,
          id: randomUUID(),
          idempotency_key: null,
          batch_id: batch.id,
          created_at: at,
        });
        await this.batches.markStarted(manager, batch.id, position, run.id, at);
        progress.started.push({ runId: run.id, tenantId: run.tenant_id });
        running++;
      }
    }
    // running < limit here means the loop found nothing pending: with nothing running either, the batch is done.
    if (running === 0) await this.batches.finish(manager, batch.id, 'completed', at);
    else await this.batches.touch(manager, batch.id, at);
  }

  /**
   * The sweep's repair of `batch` (locked): items whose replay run finished without settling them take
   * their verdict, then the batch moves on (starts what it may, or completes).
   */
  async repair(manager: EntityManager, batch: ReplayBatchRecord, at: Date, progress: BatchProgress): Promise<void> {
    for (const run of await this.batches.findSettleable(manager, batch.id)) {
      const outcome = itemOutcome(run);
      if (await this.batches.settleByReplayRun(manager, run.id, outcome, at)) progress.verdicts.push(outcome.state);
    }
    await this.advance(manager, batch, at, progress);
  }

  /** After commit: a job for each replay run started, and the metrics. A failed enqueue is left to the stranded-run sweep. */
  async publish(progress: BatchProgress): Promise<void> {
    for (const verdict of progress.verdicts) this.metrics.replayBatchItems.inc({ verdict });
    for (const { runId, tenantId } of progress.started) {
      this.metrics.replayBatchRunsStarted.inc();
      this.metrics.runsCreated.inc({ kind: 'replay' });
      try {
        await this.queue.enqueue(runId, tenantId);
      } catch (error) {
        this.logger.warn(`replay run ${runId}: enqueue failed, the sweep will enqueue it: ${String(error)}`);
      }
    }
  }
}
