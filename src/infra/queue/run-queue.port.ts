export const RUN_QUEUE = Symbol('RUN_QUEUE');
export const RUNS_QUEUE_NAME = 'runs';

/** What handling a job asks of the queue: nothing (done), or to run it again after a delay. */
export interface RunJobOutcome {
  retryInMs?: number;
}

export type RunJobHandler = (runId: string) => Promise<RunJobOutcome>;

export interface ConsumerOptions {
  concurrency: number;
  lockDurationMs: number;
}

export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
}

/**
 * The run queue: one job per run, job id = run id, so adding a run that already has a job is a no-op
 * (what makes the stranded-run sweep safe). BullMQ on Redis in production, in-process when embedded.
 */
export interface RunQueue {
  enqueue(runId: string): Promise<void>;
  /**
   * A job for the run that becomes due at `at`, under job id `<runId>-<tag>` (deterministic: adding it
   * again is a no-op). Used for durable timers (a wait's timeout) and wake-ups, beside the run's own job.
   */
  schedule(runId: string, tag: string, at: Date): Promise<void>;
  /** Starts taking jobs (worker side). Retries, delays and crash recovery are the queue's job. */
  startConsuming(handler: RunJobHandler, options: ConsumerOptions): Promise<void>;
  /** Stops taking jobs and waits for the jobs in hand to finish. */
  stopConsuming(): Promise<void>;
  depth(): Promise<QueueDepth>;
}
