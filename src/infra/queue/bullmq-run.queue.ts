import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { type ConnectionOptions, DelayedError, type Job, type Queue, Worker } from 'bullmq';
import type { ConsumerOptions, QueueDepth, RunJobHandler, RunQueue } from './run-queue.port.js';
import { loggableError } from '../logging/loggable-error.js';
import { orAfter } from '../timeout.js';
import { TenantBacklog } from './tenant-backlog.js';

export interface RunJobData {
  runId: string;
  /** The run's tenant (fair share). Absent on jobs added before fair share existed. */
  tenantId?: string;
}

/** Longest wait for an add: past it the enqueue fails (the caller logs it; the sweep enqueues the run later). */
export const ENQUEUE_TIMEOUT_MS = 1_000;

class EnqueueTimeoutError extends Error {
  constructor() {
    super(`Redis did not take the job within ${ENQUEUE_TIMEOUT_MS} ms`);
    this.name = 'EnqueueTimeoutError';
  }
}

/**
 * BullMQ queue. Job id = run id (BullMQ ignores an add for an id it holds). A run that asks to be
 * retried is moved to `delayed` under the same job id; a job whose worker died is taken again by
 * BullMQ's stalled-job check (lockDuration). Handler errors (a dependency down) use BullMQ's
 * attempts with exponential backoff; failed and completed jobs are removed so the sweep can re-add.
 *
 * Fair share: every job is prioritized with its rank in its tenant's backlog (TenantBacklog), so the
 * k-th pending job of a tenant is taken after every other tenant's (k-1)-th: a tenant with 10,000
 * queued runs does not hold back another tenant's first run. A job keeps its priority through
 * `moveToDelayed` (retries, busy leases); a stalled job goes back to BullMQ's wait list, which is
 * served before prioritized jobs (it was already taken once).
 */
export class BullmqRunQueue implements RunQueue {
  private readonly logger = new Logger(BullmqRunQueue.name);
  private worker: Worker<RunJobData> | null = null;
  private readonly backlog: TenantBacklog;

  constructor(
    private readonly queue: Queue<RunJobData>,
    /** The workers' connection (blocking commands: no retry limit), apart from the producer's fail-fast one. */
    private readonly workerConnection: ConnectionOptions,
  ) {
    this.backlog = new TenantBacklog(() => this.queue.getBackend().client, `${queue.opts.prefix}:${queue.name}`);
  }

  async enqueue(runId: string, tenantId: string): Promise<void> {
    await this.add(runId, tenantId, runId, 0);
  }

  async schedule(runId: string, tenantId: string, tag: string, at: Date): Promise<void> {
    await this.add(runId, tenantId, `${runId}-${tag}`, Math.max(0, at.getTime() - Date.now()));
  }

  /**
   * Bounded: the producer connection has no offline queue (fails at once while Redis is down) and an
   * add that gets no answer (a Redis that stopped answering) gives up after ENQUEUE_TIMEOUT_MS. An add
   * that still lands later is harmless: the job id is the run id (or the run id and a tag).
   * A job due now joins its tenant's backlog; a timer due later (a wait's timeout) is ranked after
   * the backlog without joining it (a run waiting for days holds no place).
   */
  private async add(runId: string, tenantId: string, jobId: string, delay: number): Promise<void> {
    const add = this.backlog.priority(tenantId, jobId, delay === 0).then((priority) =>
      this.queue.add(
        'run',
        { runId, tenantId },
        {
          jobId,
          delay,
          priority,
          attempts: 8,
          backoff: { type: 'exponential', delay: 1_000 },
          removeOnComplete: true,
          removeOnFail: true,
        },
      ),
    );
    // a late failure after the timeout is ignored: the timeout was already reported
    await orAfter(add, ENQUEUE_TIMEOUT_MS, () => Promise.reject(new EnqueueTimeoutError()));
  }

  async startConsuming(handler: RunJobHandler, options: ConsumerOptions): Promise<void> {
    const processor = async (job: Job<RunJobData>, token?: string) => {
      const outcome = await handler(job.data.runId);
      if (outcome.retryInMs !== undefined && token) {
        await job.moveToDelayed(Date.now() + outcome.retryInMs, token);
        throw new DelayedError();
      }
      // Before the job completes: a crash in between re-runs the job (stalled), which leaves again.
      await this.leaveBacklog(job);
    };
    this.worker = new Worker<RunJobData>(this.queue.name, processor, {
      connection: this.workerConnection,
      prefix: this.queue.opts.prefix,
      name: `${hostname()}:${process.pid}`, // an active job's processedBy names the process that holds it
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: Math.max(1_000, Math.floor(options.lockDurationMs / 2)),
      maxStalledCount: 100, // a re-taken run resumes from its first unfinished step: safe to repeat
    });
    this.worker.on('error', (error) => this.logger.warn(`worker error: ${loggableError(error).message}`));
    this.worker.on('failed', (job, error) => {
      this.logger.warn(`run ${job?.data.runId}: job failed: ${loggableError(error).message}`);
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) void this.leaveBacklog(job); // failed for good
    });
    await this.worker.waitUntilReady();
  }

  /** Best effort: a finish that is not recorded stops counting after BACKLOG_MAX_AGE_MS. */
  private async leaveBacklog(job: Job<RunJobData>): Promise<void> {
    if (!job.data.tenantId || !job.id) return;
    await this.backlog.leave(job.data.tenantId, job.id).catch((error: unknown) => {
      this.logger.warn(`run ${job.data.runId}: could not leave its tenant's backlog: ${loggableError(error).message}`);
    });
  }

  async stopConsuming(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
  }

  async depth(): Promise<QueueDepth> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0 };
  }
}
