import { Queue } from 'bullmq';
import { TEST_REDIS_URL } from './env.js';

/** The runs queue of a test environment, as the app names it (REDIS_PREFIX + ':bull'). */
export function runsQueue(redisPrefix: string): Queue {
  return new Queue('runs', { connection: { url: TEST_REDIS_URL }, prefix: `${redisPrefix}:bull` });
}

/** The worker (`host:pid`, BullMQ's processedBy) that holds the active job of a run, or null when none does. */
export async function jobHolder(queue: Queue, runId: string): Promise<string | null> {
  const job = (await queue.getActive()).find((j) => j.id === runId);
  return job?.processedBy ?? null;
}
