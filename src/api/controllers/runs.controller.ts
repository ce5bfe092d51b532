import { Body, Controller, Get, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AppConfig } from '../../infra/config/app.config.js';
import { APP_CONFIG } from '../../infra/config/config.tokens.js';
import { RUNS_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { CreatedRun, RunsOrchestrator } from '../../spine/orchestrator/runs.orchestrator.js';
import { AGENT_ID_PATTERN, CreateRunDto, IDEMPOTENCY_KEY_PATTERN, ListRunsQueryDto, ReplayRunDto } from '../dto/runs.dto.js';
import { ApiKeyGuard } from '../guards/api-key.guard.js';
import { CurrentTenant } from '../guards/current-tenant.decorator.js';
import { problems } from '../problem.js';
import { presentRun, presentTrace, toStepSpecs } from '../presenters.js';

const runIdPipe = new ParseUUIDPipe({ exceptionFactory: () => problems.notFound('The run does not exist.') });

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class RunsController {
  constructor(
    @Inject(RUNS_ORCHESTRATOR) private readonly runs: RunsOrchestrator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('agents/:agentId/runs')
  @HttpCode(202)
  async create(
    @CurrentTenant() tenantId: string,
    @Param('agentId') agentId: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: CreateRunDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (!AGENT_ID_PATTERN.test(agentId)) throw problems.badRequest('invalid-agent-id', 'agent_id must match ^[A-Za-z0-9._-]{1,128}$.', 'agent_id');
    const key = this.idempotencyKey(idempotencyKey);
    const created = await this.runs.createRun({
      tenantId,
      agentId,
      idempotencyKey: key,
      body: req.body,
      input: (req.body as { input?: unknown }).input ?? {},
      steps: toStepSpecs((req.body as { steps?: unknown }).steps, body.steps),
      metadata: (req.body as { metadata?: unknown }).metadata ?? {},
    });
    return this.accepted(created, res);
  }

  @Get('runs')
  async list(@CurrentTenant() tenantId: string, @Query() query: ListRunsQueryDto) {
    const page = await this.runs.listRuns(tenantId, { agentId: query.agent_id, status: query.status, limit: query.limit ?? 20, cursor: query.cursor });
    return { data: page.data.map(presentRun), next_cursor: page.next_cursor };
  }

  @Get('runs/:runId')
  async get(@CurrentTenant() tenantId: string, @Param('runId', runIdPipe) runId: string) {
    return presentRun(await this.runs.getRun(tenantId, runId));
  }

  @Post('runs/:runId/cancel')
  @HttpCode(202)
  async cancel(@CurrentTenant() tenantId: string, @Param('runId', runIdPipe) runId: string) {
    return presentRun(await this.runs.cancelRun(tenantId, runId));
  }

  @Get('runs/:runId/trace')
  async trace(@CurrentTenant() tenantId: string, @Param('runId', runIdPipe) runId: string) {
    return presentTrace(await this.runs.getTrace(tenantId, runId));
  }

  @Post('runs/:runId/replay')
  @HttpCode(202)
  async replay(
    @CurrentTenant() tenantId: string,
    @Param('runId', runIdPipe) runId: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: ReplayRunDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const key = this.idempotencyKey(idempotencyKey);
    const created = await this.runs.replayRun({ tenantId, runId, idempotencyKey: key, body: req.body ?? {}, request: body });
    return this.accepted(created, res);
  }

  private idempotencyKey(header: string | undefined): string | null {
    if (header === undefined) {
      if (this.config.IDEMPOTENCY_KEY_REQUIRED) {
        throw problems.badRequest('idempotency-key-required', 'The Idempotency-Key header is required.', 'Idempotency-Key');
      }
      return null;
    }
    if (!IDEMPOTENCY_KEY_PATTERN.test(header)) {
      throw problems.badRequest('invalid-idempotency-key', 'Idempotency-Key must be 1 to 255 printable ASCII characters.', 'Idempotency-Key');
    }
    return header;
  }

  private accepted(created: CreatedRun, res: Response) {
    res.setHeader('Location', `/v1/runs/${created.run.id}`);
    if (created.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return presentRun(created.run);
  }
}
