import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { OrchestratorModule } from '../spine/orchestrator/orchestrator.module.js';
import { AdminController } from './controllers/admin.controller.js';
import { HealthController } from './controllers/health.controller.js';
import { MetricsController } from './controllers/metrics.controller.js';
import { ReplaysController } from './controllers/replays.controller.js';
import { RunsController } from './controllers/runs.controller.js';
import { SecretsController } from './controllers/secrets.controller.js';
import { ProblemDetailsFilter } from './filters/problem-details.filter.js';
import { AdminGuard } from './guards/admin.guard.js';
import { ApiKeyGuard } from './guards/api-key.guard.js';
import { TenantRateLimitGuard } from './guards/tenant-rate-limit.guard.js';

/** L2: HTTP only. Reaches the service through orchestrator tokens, nothing else. */
@Module({
  imports: [OrchestratorModule, TerminusModule.forRoot({ logger: false })],
  controllers: [AdminController, RunsController, ReplaysController, SecretsController, HealthController, MetricsController],
  providers: [ApiKeyGuard, AdminGuard, TenantRateLimitGuard, { provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class ApiModule {}
