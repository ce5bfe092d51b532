import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { METRICS, type Metrics } from '../../infra/metrics/metrics.js';
import { REPLAY_BATCHES_ORCHESTRATOR, RUNS_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { ReplayBatchesOrchestrator } from '../../spine/orchestrator/replay-batches.orchestrator.js';
import type { RunsOrchestrator } from '../../spine/orchestrator/runs.orchestrator.js';

/** Prometheus text exposition of this process's registry. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    @Inject(RUNS_ORCHESTRATOR) private readonly runs: RunsOrchestrator,
    @Inject(REPLAY_BATCHES_ORCHESTRATOR) private readonly batches: ReplayBatchesOrchestrator,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(): Promise<string> {
    // Waiting runs hold no worker and no job: they are counted in the database (one indexed count).
    await this.runs.countWaitingRuns().then(
      (count) => this.metrics.waitingRuns.set(count),
      () => undefined, // the database is down: leave the last value
    );
    await this.batches.countRunningBatches().then(
      (count) => this.metrics.replayBatchesRunning.set(count),
      () => undefined,
    );
    return this.metrics.registry.metrics();
  }
}
