import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CLOCK, type Clock } from '../../infra/clock.js';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { RUN_QUEUE, type RunQueue } from '../../infra/queue/run-queue.port.js';
import type { IdempotencyDriver } from '../drivers/idempotency.driver.js';
import type { ReplayBatchStoreDriver } from '../drivers/replay-batch-store.driver.js';
import type { RunStoreDriver } from '../drivers/run-store.driver.js';
import { IDEMPOTENCY_DRIVER, REPLAY_BATCH_STORE_DRIVER, RUN_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import { noProgress, ReplayBatchAdvancer } from './replay-batch-advancer.js';
import { purgeCutoff } from './retention.js';

const SWEEP_BATCH = 500;
const PURGE_BATCH = 1_000;
/** Runs deleted per statement (each with its trace: up to MAX_STEPS rows per run). */
export const RETENTION_BATCH = 200;
/** A sweep stops purging runs after this long; the next sweep goes on. */
const RETENTION_BUDGET_MS = 5_000;

/**
 * Periodic upkeep the workers run: re-enqueue runs whose job was lost, move replay batches a crash left
 * behind, delete expired request keys and runs past retention.
 */
@Injectable()
export class MaintenanceOrchestrator {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(RUN_STORE_DRIVER) private readonly runs: RunStoreDriver,
    @Inject(IDEMPOTENCY_DRIVER) private readonly idempotency: IdempotencyDriver,
    @Inject(REPLAY_BATCH_STORE_DRIVER) private readonly batches: ReplayBatchStoreDriver,
    private readonly advancer: ReplayBatchAdvancer,
    @Inject(RUN_QUEUE) private readonly queue: RunQueue,
    @InjectConfig('worker') private readonly worker: AppConfig['worker'],
    @InjectConfig('replayBatches') private readonly replayBatches: AppConfig['replayBatches'],
    @InjectConfig('retention') private readonly retention: AppConfig['retention'],
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * RUN_RETENTION_DAYS: deletes the runs that finished longer ago (with their traces and signals),
   * `batch` at a time, each batch one statement and its own transaction, until none is left or
   * RETENTION_BUDGET_MS has passed. Safe on every worker at once (SKIP LOCKED). Returns how many went.
   */
  async purgeExpiredRuns(batch = RETENTION_BATCH): Promise<number> {
    const started = performance.now();
    let purged = 0;
    for (;;) {
      const before = purgeCutoff(this.clock.now(), this.retention.runDays);
      if (!before) return 0;
      const deleted = await this.runs.purgeFinished(this.dataSource.manager, before, batch);
      purged += deleted.length;
      if (deleted.length < batch || performance.now() - started > RETENTION_BUDGET_MS) return purged;
    }
  }

  /** Deletes expired request idempotency keys of runs and replay batches (what they created stays), a batch at a time. */
  async purgeExpiredKeys(): Promise<number> {
    const now = this.clock.now();
    const runs = await this.idempotency.purgeExpired(this.dataSource.manager, now, PURGE_BATCH);
    return runs + (await this.batches.purgeExpiredKeys(this.dataSource.manager, now, PURGE_BATCH));
  }

  /**
   * Moves running replay batches that cannot move by themselves: an item whose replay run finished
   * without taking its verdict, free slots with items pending, nothing left to run (each lasts past a
   * commit only after a crash or a lost statement). Batches locked by a finish in progress are skipped.
   */
  async sweepReplayBatches(): Promise<number> {
    const ids = await this.batches.findStuck(this.dataSource.manager, this.replayBatches.concurrency, SWEEP_BATCH);
    let moved = 0;
    for (const id of ids) {
      const progress = noProgress();
      const at = this.clock.now();
      const repaired = await this.dataSource.transaction(async (manager) => {
        const batch = await this.advancer.lockBatch(manager, id, { skipLocked: true });
        if (!batch || batch.status !== 'running') return false;
        await this.advancer.repair(manager, batch, at, progress);
        return true;
      });
      await this.advancer.publish(progress);
      if (repaired) moved++;
    }
    return moved;
  }

  /**
   * Re-enqueues queued/retry runs not updated for SWEEP_STALE_AFTER_MS and running runs whose lease
   * expired (a no-op for runs whose job exists: job id = run id).
   */
  async sweepStrandedRuns(): Promise<number> {
    const now = this.clock.now();
    const before = new Date(now.getTime() - this.worker.sweepStaleAfterMs);
    const stale = await this.runs.findStale(this.dataSource.manager, before, now, SWEEP_BATCH);
    for (const run of stale) await this.queue.enqueue(run.id, run.tenant_id);
    return stale.length;
  }
}
