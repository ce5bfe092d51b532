import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CLOCK, type Clock } from '../../infra/clock.js';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { RUN_QUEUE, type RunQueue } from '../../infra/queue/run-queue.port.js';
import type { IdempotencyDriver } from '../drivers/idempotency.driver.js';
import type { RunStoreDriver } from '../drivers/run-store.driver.js';
import { IDEMPOTENCY_DRIVER, RUN_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import { purgeCutoff } from './retention.js';

const SWEEP_BATCH = 500;
const PURGE_BATCH = 1_000;
/** Runs deleted per statement (each with its trace: up to MAX_STEPS rows per run). */
export const RETENTION_BATCH = 200;
/** A sweep stops purging runs after this long; the next sweep goes on. */
const RETENTION_BUDGET_MS = 5_000;

/** Periodic upkeep the workers run: re-enqueue runs whose job was lost, delete expired request keys and runs past retention. */
@Injectable()
export class MaintenanceOrchestrator {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(RUN_STORE_DRIVER) private readonly runs: RunStoreDriver,
    @Inject(IDEMPOTENCY_DRIVER) private readonly idempotency: IdempotencyDriver,
    @Inject(RUN_QUEUE) private readonly queue: RunQueue,
    @InjectConfig('worker') private readonly worker: AppConfig['worker'],
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

  /** Deletes expired request idempotency keys (their runs stay), a batch at a time. */
  async purgeExpiredKeys(): Promise<number> {
    return this.idempotency.purgeExpired(this.dataSource.manager, this.clock.now(), PURGE_BATCH);
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
