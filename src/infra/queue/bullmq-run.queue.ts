import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { type ConnectionOptions, DelayedError, type Job, type Queue, Worker } from 'bullmq';
import type { ConsumerOptions, QueueDepth, RunJobHandler, RunQueue } from './run-queue.port.js';
import { loggableError } from '../logging/loggable-error.js';
import { orAfter } from '../timeout.js';

export interface RunJobData {
  runId: string;
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
 */
export class BullmqRunQueue implements RunQueue {
  private readonly logger = new Logger(BullmqRunQueue.name);
  private worker: Worker<RunJobData> | null = null;

  constructor(
    private readonly queue: Queue<RunJobData>,
    /** The workers' connection (blocking commands: no retry limit), apart from the producer's fail-fast one. */
    private readonly workerConnection: ConnectionOptions,
  ) {}

  async enqueue(runId: string): Promise<void> {
    await this.add(runId, runId, 0);
  }

  async schedule(runId: string, tag: string, at: Date): Promise<void> {
    await this.add(runId, `${runId}-${tag}`, Math.max(0, at.getTime() - Date.now()));
  }

  /**
   * Bounded: the producer connection has no offline queue (fails at once while Redis is down) and an
   * add that gets no answer (a Redis that stopped answering) gives up after ENQUEUE_TIMEOUT_MS. An add
   * that still lands later is harmless: the job id is the run id (or the run id and a tag).
   */
  private async add(runId: string, jobId: string, delay: number): Promise<void> {
    const add = this.queue.add(
      'run',
      { runId },
      {
        jobId,
        delay,
        attempts: 8,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: true,
        removeOnFail: true,
      },
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
    this.worker.on('failed', (job, error) => this.logger.warn(`run ${job?.data.runId}: job failed: ${loggableError(error).message}`));
    await this.worker.waitUntilReady();
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
