export const RUN_QUEUE = Symbol('RUN_QUEUE');
export const RUNS_QUEUE_NAME = 'runs';

/**
 * BullMQ's key prefix: `<REDIS_PREFIX>:{<REDIS_PREFIX>:bull}`. The braces are a Redis Cluster hash
 * tag, so every key of the queue lands in one slot (BullMQ's scripts touch several keys at once),
 * as the step store's `{tenant}` keys do; every key still starts with `<REDIS_PREFIX>:`.
 */
export function bullmqPrefix(redisPrefix: string): string {
  return `${redisPrefix}:{${redisPrefix}:bull}`;
}

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
 *
 * Fair share: every job names its run's tenant, and a tenant's backlog never delays another tenant's
 * runs by more than the runs already in hand. BullMQ orders jobs by their rank in their tenant's
 * backlog (the k-th pending job of a tenant goes after every tenant's (k-1)-th); the in-process queue
 * serves tenants round robin (docs/architecture.md, "Fair share between tenants").
 */
export interface RunQueue {
  enqueue(runId: string, tenantId: string): Promise<void>;
  /**
   * A job for the run that becomes due at `at`, under job id `<runId>-<tag>` (deterministic: adding it
   * again is a no-op). Used for durable timers (a wait's timeout) and wake-ups, beside the run's own job.
   */
  schedule(runId: string, tenantId: string, tag: string, at: Date): Promise<void>;
  /** Starts taking jobs (worker side). Retries, delays and crash recovery are the queue's job. */
  startConsuming(handler: RunJobHandler, options: ConsumerOptions): Promise<void>;
  /** Stops taking jobs and waits for the jobs in hand to finish. */
  stopConsuming(): Promise<void>;
  depth(): Promise<QueueDepth>;
}
