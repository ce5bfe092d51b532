import { fileURLToPath } from 'node:url';
import type { OnApplicationShutdown } from '@nestjs/common';
import workerpool from 'workerpool';
import type { CheckOutcome } from '../../../shared/check-comparison.js';
import type { ComparisonRunner } from './replay-enforcer.driver.js';

/** The thread script, next to this module in src/ (tests) and in dist/ (copied by the build). */
const SCRIPT = fileURLToPath(new URL('./comparison.worker.mjs', import.meta.url));

/** Threads of the pool: comparisons of large outputs at once (more wait in its queue). */
export const COMPARISON_THREADS = 2;

/**
 * Worker threads (workerpool) that compare large outputs for replay checks. Threads, not processes as
 * for JSONata: the work is our own code on bounded inputs (outputs are at most STEP_MAX_OUTPUT_BYTES and
 * MAX_OUTPUT_DEPTH deep, text comparisons at most TEXT_COMPARE_BUDGET), so it needs no heap of its own
 * or kill switch, and strings cross to a thread without a pipe. The threads start with the first large
 * comparison, so processes that never replay start none.
 */
export class ComparisonPool implements ComparisonRunner, OnApplicationShutdown {
  private pool: workerpool.Pool | null = null;

  constructor(private readonly threads = COMPARISON_THREADS) {}

  async run(job: Parameters<ComparisonRunner['run']>[0]): Promise<CheckOutcome> {
    this.pool ??= workerpool.pool(SCRIPT, { workerType: 'thread', minWorkers: 0, maxWorkers: this.threads });
    return (await this.pool.exec('check', [job])) as CheckOutcome;
  }

  async onApplicationShutdown(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.terminate();
  }
}
