import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { AppConfig } from '../infra/config/app.config.js';
import { InjectConfig } from '../infra/config/config.tokens.js';
import { RUN_QUEUE, type RunQueue } from '../infra/queue/run-queue.port.js';
import type { MaintenanceOrchestrator } from '../spine/orchestrator/maintenance.orchestrator.js';
import { MAINTENANCE_ORCHESTRATOR, RUN_EXECUTION_ORCHESTRATOR } from '../spine/orchestrator/orchestrator.tokens.js';
import type { RunExecutionOrchestrator } from '../spine/orchestrator/run-execution.orchestrator.js';

/**
 * Takes run jobs from the queue (BullMQ, or in-process when embedded) and hands each to the
 * orchestrator; also runs the periodic sweep that re-enqueues runs whose job was lost and moves replay
 * batches a crash left behind.
 */
@Injectable()
export class RunProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RunProcessor.name);
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;

  constructor(
    @Inject(RUN_QUEUE) private readonly queue: RunQueue,
    @Inject(RUN_EXECUTION_ORCHESTRATOR) private readonly orchestrator: RunExecutionOrchestrator,
    @Inject(MAINTENANCE_ORCHESTRATOR) private readonly maintenance: MaintenanceOrchestrator,
    @InjectConfig('worker') private readonly config: AppConfig['worker'],
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.startConsuming((runId) => this.orchestrator.executeRun(runId), {
      concurrency: this.config.concurrency,
      lockDurationMs: this.config.lockDurationMs,
    });
    this.sweepTimer = setInterval(() => void this.sweep(), this.config.sweepIntervalMs);
    this.sweepTimer.unref();
    void this.sweep();
  }

  /** Graceful shutdown: stop taking jobs and let the jobs in hand finish. */
  async onModuleDestroy(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.sweeping;
    await this.queue.stopConsuming();
  }

  /**
   * Re-enqueues runs whose job was lost, moves replay batches a crash left behind, deletes expired
   * idempotency keys and the runs past RUN_RETENTION_DAYS.
   */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    const run = Promise.all([
      this.maintenance.sweepStrandedRuns(),
      this.maintenance.purgeExpiredKeys(),
      this.maintenance.purgeExpiredRuns(),
      this.maintenance.sweepReplayBatches(),
    ]);
    this.sweeping = run;
    try {
      const [count, purged, expiredRuns, batches] = await run;
      if (count > 0) this.logger.log(`sweep: re-enqueued ${count} stale run(s)`);
      if (batches > 0) this.logger.log(`sweep: moved ${batches} replay batch(es) left behind`);
      if (purged > 0) this.logger.log(`sweep: deleted ${purged} expired idempotency key(s)`);
      if (expiredRuns > 0) this.logger.log(`sweep: deleted ${expiredRuns} run(s) past RUN_RETENTION_DAYS, with their traces`);
      return count;
    } catch (error) {
      this.logger.warn(`sweep failed: ${String(error)}`);
      return 0;
    } finally {
      this.sweeping = null;
    }
  }
}
