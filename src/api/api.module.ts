import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { OrchestratorModule } from '../spine/orchestrator/orchestrator.module.js';
import { AdminController } from './controllers/admin.controller.js';
import { RunsController } from './controllers/runs.controller.js';
import { ProblemDetailsFilter } from './filters/problem-details.filter.js';
import { AdminGuard } from './guards/admin.guard.js';
import { ApiKeyGuard } from './guards/api-key.guard.js';

/** L2: HTTP only. Reaches the service through orchestrator tokens, nothing else. */
@Module({
  imports: [OrchestratorModule],
  controllers: [AdminController, RunsController],
  providers: [ApiKeyGuard, AdminGuard, { provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class ApiModule {}
