import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { RUN_QUEUE, type RunQueue } from '../queue/run-queue.port.js';

/** The service's Prometheus instruments, one registry per process (scrape every process). */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

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
}

export const METRICS = Symbol('METRICS');

@Global()
@Module({ providers: [Metrics, { provide: METRICS, useExisting: Metrics }], exports: [METRICS] })
export class MetricsModule {}
