import { Logger } from '@nestjs/common';
import type { ConsumerOptions, QueueDepth, RunJobHandler, RunQueue } from './run-queue.port.js';
import { loggableError } from '../logging/loggable-error.js';

const ERROR_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * Embedded mode's queue: the same handler, called in this process. Jobs are deduplicated by run id
 * like BullMQ's job ids; a handler error (database down) is retried with backoff, and anything lost
 * with the process (it is in memory) is re-enqueued by the stranded-run sweep at the next start.
 *
 * Fair share: each tenant has its own FIFO of runs due, and the queue takes from the tenants in turn
 * (round robin), so a tenant's backlog delays another tenant's run by at most one run per tenant
 * ahead of it in the turn, plus the runs in hand.
 */
export class InProcessRunQueue implements RunQueue {
  private readonly logger = new Logger(InProcessRunQueue.name);
  /** Runs due, per tenant (FIFO), and the tenants that have any, in turn order. */
  private readonly waiting = new Map<string, string[]>();
  private readonly turn: string[] = [];
  /** Run id -> its tenant, for every run the queue holds (waiting, delayed or in hand). */
  private readonly known = new Map<string, string>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly active = new Map<string, Promise<void>>();
  private readonly errors = new Map<string, number>();
  private handler: RunJobHandler | null = null;
  private concurrency = 1;
  private stopping = false;

  async enqueue(runId: string, tenantId: string): Promise<void> {
    if (this.known.has(runId) || this.stopping) return;
    this.known.set(runId, tenantId);
    this.push(runId, tenantId);
    this.pump();
  }

  /** In memory: lost with the process; the sweep fires a due wait's timeout after a restart. */
  async schedule(runId: string, tenantId: string, tag: string, at: Date): Promise<void> {
    const id = `${runId}-${tag}`;
    if (this.timers.has(id) || this.stopping) return;
    const fire = () => {
      // The run's own job still in hand (it just parked the run): look again shortly, as BullMQ's separate job id would.
      if (this.active.has(runId)) return void this.timers.set(id, setTimeout(fire, 100).unref());
      this.timers.delete(id);
      void this.enqueue(runId, tenantId);
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
    let waiting = 0;
    for (const runs of this.waiting.values()) waiting += runs.length;
    return { waiting, active: this.active.size, delayed: this.delayed.size };
  }

  /** Appends the run to its tenant's FIFO; a tenant with nothing due joins the end of the turn. */
  private push(runId: string, tenantId: string): void {
    const runs = this.waiting.get(tenantId);
    if (runs) return void runs.push(runId);
    this.waiting.set(tenantId, [runId]);
    this.turn.push(tenantId);
  }

  /** The next run due: the first run of the tenant whose turn it is; that tenant goes to the end of the turn. */
  private next(): string | undefined {
    const tenantId = this.turn.shift();
    if (tenantId === undefined) return undefined;
    const runs = this.waiting.get(tenantId)!;
    const runId = runs.shift()!;
    if (runs.length > 0) this.turn.push(tenantId);
    else this.waiting.delete(tenantId);
    return runId;
  }

  private pump(): void {
    while (this.handler && !this.stopping && this.active.size < this.concurrency && this.turn.length > 0) {
      const runId = this.next()!;
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
      this.push(runId, this.known.get(runId)!);
      this.pump();
    }, delayMs);
    this.delayed.set(runId, timer);
  }
}
