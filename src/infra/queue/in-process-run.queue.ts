import { Logger } from '@nestjs/common';
import type { ConsumerOptions, QueueDepth, RunJobHandler, RunQueue } from './run-queue.port.js';
import { loggableError } from '../logging/loggable-error.js';

const ERROR_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * Embedded mode's queue: the same handler, called in this process. Jobs are deduplicated by run id
 * like BullMQ's job ids; a handler error (database down) is retried with backoff, and anything lost
 * with the process (it is in memory) is re-enqueued by the stranded-run sweep at the next start.
 */
export class InProcessRunQueue implements RunQueue {
  private readonly logger = new Logger(InProcessRunQueue.name);
  private readonly waiting: string[] = [];
  private readonly known = new Set<string>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly active = new Map<string, Promise<void>>();
  private readonly errors = new Map<string, number>();
  private handler: RunJobHandler | null = null;
  private concurrency = 1;
  private stopping = false;

  async enqueue(runId: string): Promise<void> {
    if (this.known.has(runId) || this.stopping) return;
    this.known.add(runId);
    this.waiting.push(runId);
    this.pump();
  }

  /** In memory: lost with the process; the sweep fires a due wait's timeout after a restart. */
  async schedule(runId: string, tag: string, at: Date): Promise<void> {
    const id = `${runId}-${tag}`;
    if (this.timers.has(id) || this.stopping) return;
    const fire = () => {
      // The run's own job still in hand (it just parked the run): look again shortly, as BullMQ's separate job id would.
      if (this.active.has(runId)) return void this.timers.set(id, setTimeout(fire, 100).unref());
      this.timers.delete(id);
      void this.enqueue(runId);
    };
    this.timers.set(id, setTimeout(fire, Math.max(0, at.getTime() - Date.now())).unref());
  }

  async startConsuming(handler: RunJobHandler, options: ConsumerOptions): Promise<void> {
    this.handler = handler;
    this.concurrency = options.concurrency;
    this.stopping = false;
    this.pump();
  }

  async stopConsuming(): Promise<void> {
    this.stopping = true;
    for (const timer of [...this.delayed.values(), ...this.timers.values()]) clearTimeout(timer);
    this.delayed.clear();
    this.timers.clear();
    await Promise.allSettled([...this.active.values()]);
  }

  async depth(): Promise<QueueDepth> {
    return { waiting: this.waiting.length, active: this.active.size, delayed: this.delayed.size };
  }

  private pump(): void {
    while (this.handler && !this.stopping && this.active.size < this.concurrency && this.waiting.length > 0) {
      const runId = this.waiting.shift()!;
      const job = this.run(this.handler, runId).finally(() => {
        this.active.delete(runId);
        this.pump();
      });
      this.active.set(runId, job);
    }
  }

  private async run(handler: RunJobHandler, runId: string): Promise<void> {
    let delayMs: number | undefined;
    try {
      delayMs = (await handler(runId)).retryInMs;
      this.errors.delete(runId);
    } catch (error) {
      const failures = (this.errors.get(runId) ?? 0) + 1;
      this.errors.set(runId, failures);
      delayMs = ERROR_BACKOFF_MS[Math.min(failures, ERROR_BACKOFF_MS.length) - 1];
      this.logger.warn(`run ${runId}: handler failed (${failures}x), retrying in ${delayMs} ms: ${loggableError(error).message}`);
    }
    if (delayMs === undefined || this.stopping) {
      this.known.delete(runId);
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(runId);
      this.waiting.push(runId);
      this.pump();
    }, delayMs);
    this.delayed.set(runId, timer);
  }
}
