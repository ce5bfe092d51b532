import { Body, Controller, Get, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { REPLAY_BATCHES_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { ReplayBatchesOrchestrator } from '../../spine/orchestrator/replay-batches.orchestrator.js';
import { type BatchFilter, REPLAYABLE_STATUSES } from '../../spine/replay-batch.types.js';
import {
  CreateReplayBatchDto,
  DEFAULT_BATCH_LIMIT,
  ListReplayBatchesQueryDto,
  ListReplayBatchItemsQueryDto,
  type ReplayBatchFilterDto,
} from '../dto/replays.dto.js';
import { CurrentTenant } from '../guards/current-tenant.decorator.js';
import { ApiKeyGuard } from '../guards/api-key.guard.js';
import { TenantRateLimitGuard } from '../guards/tenant-rate-limit.guard.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import { ApiProblem, ReplayBatchItemPageSchema, ReplayBatchPageSchema, ReplayBatchSchema } from '../openapi.js';
import { presentBatch, presentBatchItem } from '../presenters.js';
import { problems } from '../problem.js';

const batchIdPipe = new ParseUUIDPipe({ exceptionFactory: () => problems.notFound('The replay batch does not exist.') });

@ApiTags('replays')
@ApiBearerAuth()
@ApiProblem(401, 'Missing, unknown or revoked API key.')
@ApiProblem(429, 'Rate limit of the tenant exceeded (Retry-After).')
@ApiProblem(503, 'PostgreSQL or Redis is unavailable (Retry-After).')
@Controller('v1/replays')
@UseGuards(ApiKeyGuard, TenantRateLimitGuard)
export class ReplaysController {
  constructor(
    @Inject(REPLAY_BATCHES_ORCHESTRATOR) private readonly batches: ReplayBatchesOrchestrator,
    @InjectConfig('idempotency') private readonly idempotency: AppConfig['idempotency'],
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    operationId: 'createReplayBatch',
    summary: 'Replay many finished runs with one set of replay options; one report (a verdict per run).',
    description:
      'The items are the finished runs the filter selects, newest first, frozen now. At most REPLAY_BATCH_CONCURRENCY replay runs of the batch are active at once; the others wait their turn, so a batch never fills the queue ahead of other runs.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      '1 to 255 printable ASCII characters (required when IDEMPOTENCY_KEY_REQUIRED=true); scope: tenant + key. Same key + same body: the same batch, Idempotent-Replayed: true. Another body: 422.',
  })
  @ApiBody({ type: CreateReplayBatchDto, required: false })
  @ApiAcceptedResponse({ type: ReplayBatchSchema, description: 'The batch (no match: total 0, completed). Location: /v1/replays/{id}.' })
  @ApiProblem(400, 'Invalid filter or replay options (field errors), or Idempotency-Key.')
  @ApiProblem(409, 'idempotency-request-in-progress (Retry-After).')
  @ApiProblem(413, 'The body exceeds MAX_BODY_BYTES.')
  @ApiProblem(422, 'idempotency-key-reused: the key was used with another body.')
  async create(
    @CurrentTenant() tenantId: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: CreateReplayBatchDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const raw: unknown = req.body === undefined ? {} : req.body;
    // JSON null parses, and the validation pipe sees no fields in it: the body must be an object (or none).
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw problems.validation([{ field: 'body', message: 'the body must be a JSON object' }], 'The request body must be a JSON object.');
    }
    const key = idempotencyKeyOf(idempotencyKey, this.idempotency.keyRequired);
    const created = await this.batches.createBatch({
      tenantId,
      idempotencyKey: key,
      body: raw,
      filter: toBatchFilter(body.filter),
      replay: (raw as { replay?: Record<string, unknown> }).replay ?? {},
    });
    res.setHeader('Location', `/v1/replays/${created.batch.id}`);
    if (created.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return presentBatch(created.batch);
  }

  @Get()
  @ApiOperation({ operationId: 'listReplayBatches', summary: 'List replay batches, newest first (cursor pagination).' })
  @ApiOkResponse({ type: ReplayBatchPageSchema, description: 'A page of batches and the cursor of the next one.' })
  @ApiProblem(400, 'Invalid limit or cursor.')
  async list(@CurrentTenant() tenantId: string, @Query() query: ListReplayBatchesQueryDto) {
    const page = await this.batches.listBatches(tenantId, { limit: query.limit ?? 20, cursor: query.cursor });
    return { data: page.data.map(presentBatch), next_cursor: page.next_cursor };
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getReplayBatch', summary: 'Read a replay batch: status and counts by verdict.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: ReplayBatchSchema, description: 'The batch.' })
  @ApiProblem(404, 'No replay batch of this tenant has this id.')
  async get(@CurrentTenant() tenantId: string, @Param('id', batchIdPipe) id: string) {
    return presentBatch(await this.batches.getBatch(tenantId, id));
  }

  @Get(':id/items')
  @ApiOperation({
    operationId: 'listReplayBatchItems',
    summary: "A batch's items in its order (newest original first), filtered by verdict.",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: ReplayBatchItemPageSchema, description: 'A page of items and the cursor of the next one.' })
  @ApiProblem(400, 'Invalid verdict, limit or cursor.')
  @ApiProblem(404, 'No replay batch of this tenant has this id.')
  async items(@CurrentTenant() tenantId: string, @Param('id', batchIdPipe) id: string, @Query() query: ListReplayBatchItemsQueryDto) {
    const page = await this.batches.listItems(tenantId, id, { verdict: query.verdict, limit: query.limit ?? 20, cursor: query.cursor });
    return { data: page.data.map(presentBatchItem), next_cursor: page.next_cursor };
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'cancelReplayBatch',
    summary: 'Cancel a running batch: pending items never start, active replay runs are cancelled.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiAcceptedResponse({ type: ReplayBatchSchema, description: 'The cancelled batch.' })
  @ApiProblem(404, 'No replay batch of this tenant has this id.')
  @ApiProblem(409, 'replay-batch-finished: the batch is completed or cancelled.')
  async cancel(@CurrentTenant() tenantId: string, @Param('id', batchIdPipe) id: string) {
    return presentBatch(await this.batches.cancelBatch(tenantId, id));
  }
}

/** The filter with its defaults (both replayable statuses, 100 runs) and its times as ISO 8601 UTC. */
function toBatchFilter(dto: ReplayBatchFilterDto | undefined): BatchFilter {
  // Built in the contract's order, which the stored JSON (and so every echo of the filter) keeps.
  return {
    ...(dto?.agent_id !== undefined ? { agent_id: dto.agent_id } : {}),
    status: [...(dto?.status ?? REPLAYABLE_STATUSES)],
    ...(dto?.created_after !== undefined ? { created_after: toUtc(dto.created_after, 'created_after') } : {}),
    ...(dto?.created_before !== undefined ? { created_before: toUtc(dto.created_before, 'created_before') } : {}),
    ...(dto?.run_ids !== undefined ? { run_ids: dto.run_ids.map((id) => id.toLowerCase()) } : {}),
    limit: dto?.limit ?? DEFAULT_BATCH_LIMIT,
  };
}

function toUtc(value: string, field: string): string {
  const ms = Date.parse(value);
  const date = new Date(ms);
  if (Number.isNaN(ms) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) {
    throw problems.validation([{ field: `filter.${field}`, message: `${field} is not a date-time this API can use` }]);
  }
  return date.toISOString();
}
