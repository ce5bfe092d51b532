import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Global, Inject, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { RUN_QUEUE, type RunQueue } from '../queue/run-queue.port.js';

/** Sampling resolution of the event-loop delay monitor. */
const EVENT_LOOP_RESOLUTION_MS = 10;

/** The service's Prometheus instruments, one registry per process (scrape every process). */
@Injectable()
export class Metrics implements OnModuleDestroy {
  readonly registry = new Registry();
  private readonly eventLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });

  readonly runsCreated = new Counter({
    name: 'agentruns_runs_created_total',
    help: 'Runs created (kind: run or replay).',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly idempotentReplays = new Counter({
    name: 'agentruns_idempotent_replays_total',
    help: 'Requests answered with an existing run (Idempotent-Replayed: true).',
    registers: [this.registry],
  });
  readonly idempotencyKeyReused = new Counter({
    name: 'agentruns_idempotency_key_reused_total',
    help: 'Requests refused with 422: the key was used with another body.',
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: 'agentruns_run_duration_seconds',
    help: "From a run's start to its end (status: succeeded, failed).",
    labelNames: ['status'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: 'agentruns_step_duration_seconds',
    help: 'One step execution (outcome: succeeded, failed).',
    labelNames: ['skill', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly replayVerdicts = new Counter({
    name: 'agentruns_replay_verdicts_total',
    help: 'Finished replays by verdict (match, mismatch).',
    labelNames: ['verdict'],
    registers: [this.registry],
  });
  readonly replayComparisons = new Counter({
    name: 'agentruns_replay_step_comparisons_total',
    help: 'Checked replay steps by comparator mode (exact, numeric, text, schema, judge) and whether the comparison passed (true, false).',
    labelNames: ['mode', 'passed'],
    registers: [this.registry],
  });
  readonly judgeCalls = new Counter({
    name: 'agentruns_replay_judge_calls_total',
    help: 'Calls of the judge of `judge` comparisons by outcome (pass, fail, failed: the call failed, unparsable: no strict verdict).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly judgeTokens = new Counter({
    name: 'agentruns_replay_judge_tokens_total',
    help: "Tokens the judge of `judge` comparisons used (kind: prompt, completion); not part of any run's usage.",
    labelNames: ['kind'],
    registers: [this.registry],
  });

  readonly replayBatchesCreated = new Counter({
    name: 'agentruns_replay_batches_created_total',
    help: 'Replay batches created (POST /v1/replays that made a new batch).',
    registers: [this.registry],
  });
  readonly replayBatchItems = new Counter({
    name: 'agentruns_replay_batch_items_total',
    help: 'Items of replay batches that reached their verdict (match, mismatch, failed, cancelled).',
    labelNames: ['verdict'],
    registers: [this.registry],
  });
  readonly replayBatchRunsStarted = new Counter({
    name: 'agentruns_replay_batch_runs_started_total',
    help: 'Replay runs started for items of replay batches.',
    registers: [this.registry],
  });
  readonly replayBatchesRunning = new Gauge({
    name: 'agentruns_replay_batches_running',
    help: 'Replay batches still running, counted in the database when /metrics is scraped.',
    registers: [this.registry],
  });

  readonly signals = new Counter({
    name: 'agentruns_signals_total',
    help: 'Signals received (outcome: resumed a waiting run, stored for later, duplicate of a stored one).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly waitingRuns = new Gauge({
    name: 'agentruns_runs_waiting',
    help: 'Runs waiting for a signal (holding no worker), set when /metrics is scraped.',
    registers: [this.registry],
  });

  constructor(@Inject(RUN_QUEUE) queue: RunQueue) {
    collectDefaultMetrics({ register: this.registry, prefix: 'agentruns_process_' });
    this.eventLoop.enable();
    const eventLoop = this.eventLoop;
    new Gauge({
      name: 'agentruns_event_loop_delay_seconds',
      help:
        'Delay of the main event loop (perf_hooks monitorEventLoopDelay, sampled every 10 ms) since the previous scrape, ' +
        'by quantile (1 = max). Tenant code never runs on this loop; a high p99 means something blocks it.',
      labelNames: ['quantile'],
      registers: [this.registry],
      collect() {
        if (eventLoop.count === 0) return; // nothing sampled since the last scrape: keep the last values
        // The monitor measures each 10 ms tick's interval; the delay is what exceeds the 10 ms.
        const delay = (ns: number) => Math.max(0, ns / 1e9 - EVENT_LOOP_RESOLUTION_MS / 1000);
        for (const q of [0.5, 0.9, 0.99]) this.set({ quantile: String(q) }, delay(eventLoop.percentile(q * 100)));
        this.set({ quantile: '1' }, delay(eventLoop.max));
        eventLoop.reset();
      },
    });
    new Gauge({
      name: 'agentruns_queue_depth',
      help: 'Run jobs in the queue by state (waiting, active, delayed).',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        try {
          const depth = await queue.depth();
          for (const [state, count] of Object.entries(depth)) this.set({ state }, Number(count));
        } catch {
          // the queue is unreachable: leave the last values
        }
      },
    });
  }

  onModuleDestroy(): void {
    this.eventLoop.disable();
  }
}

export const METRICS = Symbol('METRICS');

@Global()
@Module({ providers: [Metrics, { provide: METRICS, useExisting: Metrics }], exports: [METRICS] })
export class MetricsModule {}
