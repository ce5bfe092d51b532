/**
 * Benchmark-only endpoints, mounted beside the real API in the benchmark server (never in the app):
 *   GET  /bench/bare             no auth, no I/O
 *   POST /bench/peer/:agentId    the product's create without a key (auth, validation, plan checks, one
 *                                INSERT, enqueue) guarded by @node-idempotency/nestjs with Redis storage
 * The product endpoint POST /v1/agents/:agentId/runs is measured as it is, with a key (ours) and
 * without one (the plain single-INSERT create).
 */
import { Body, Controller, Get, HttpCode, Inject, Module, Param, Post, Req, UseGuards } from '@nestjs/common';
import nodeIdempotency from '@node-idempotency/nestjs';
import type { Request } from 'express';
import { CreateRunDto } from '../src/api/dto/runs.dto.js';
import { ApiKeyGuard } from '../src/api/guards/api-key.guard.js';
import { CurrentTenant } from '../src/api/guards/current-tenant.decorator.js';
import { TenantRateLimitGuard } from '../src/api/guards/tenant-rate-limit.guard.js';
import { presentRun, toStepSpecs } from '../src/api/presenters.js';
import { OrchestratorModule } from '../src/spine/orchestrator/orchestrator.module.js';
import { RUNS_ORCHESTRATOR } from '../src/spine/orchestrator/orchestrator.tokens.js';
import type { RunsOrchestrator } from '../src/spine/orchestrator/runs.orchestrator.js';

const { NodeIdempotencyModule, Idempotent, StorageAdapterEnum } = nodeIdempotency;

@Controller('bench')
class BenchController {
  constructor(@Inject(RUNS_ORCHESTRATOR) private readonly runs: RunsOrchestrator) {}

  @Get('bare')
  bare() {
    return { ok: true };
  }

  @Post('peer/:agentId')
  @HttpCode(202)
  @UseGuards(ApiKeyGuard, TenantRateLimitGuard)
  @Idempotent()
  async peer(@CurrentTenant() tenantId: string, @Param('agentId') agentId: string, @Body() body: CreateRunDto, @Req() req: Request) {
    const raw = req.body as { input?: unknown; steps?: unknown; metadata?: unknown };
    const created = await this.runs.createRun({
      tenantId,
      agentId,
      idempotencyKey: null,
      body: raw,
      input: raw.input ?? {},
      steps: toStepSpecs(raw.steps, body.steps),
      metadata: raw.metadata ?? {},
    });
    return presentRun(created.run);
  }
}

@Module({})
export class BenchModule {
  static forRoot(redisUrl: string) {
    return {
      module: BenchModule,
      imports: [
        OrchestratorModule,
        NodeIdempotencyModule.forRootAsync({
          storage: { adapter: StorageAdapterEnum.redis, options: { url: redisUrl } },
          cacheTTLMS: 86_400_000,
        }),
      ],
      controllers: [BenchController],
      providers: [ApiKeyGuard, TenantRateLimitGuard],
    };
  }
}
