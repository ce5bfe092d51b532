import { Body, Controller, Get, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { RUNS_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { CreatedRun, RunsOrchestrator } from '../../spine/orchestrator/runs.orchestrator.js';
import { AGENT_ID_PATTERN, CreateRunDto, ListRunsQueryDto, ReplayRunDto } from '../dto/runs.dto.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import { ApiKeyGuard } from '../guards/api-key.guard.js';
import { CurrentTenant } from '../guards/current-tenant.decorator.js';
import { TenantRateLimitGuard } from '../guards/tenant-rate-limit.guard.js';
import { jsonShapeProblem } from '../json-shape.js';
import { problems } from '../problem.js';
import { SIGNAL_NAME_PATTERN } from '../../shared/signals.js';
import { ApiProblem, RunPageSchema, RunSchema, SignalSchema, TraceSchema } from '../openapi.js';
import { presentRun, presentSignal, presentTrace, toStepSpecs } from '../presenters.js';

const runIdPipe = new ParseUUIDPipe({ exceptionFactory: () => problems.notFound('The run does not exist.') });

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    '1 to 255 printable ASCII characters (required when IDEMPOTENCY_KEY_REQUIRED=true). Same key + same body: the same run, Idempotent-Replayed: true. Another body: 422.',
};

@ApiTags('runs')
@ApiBearerAuth()
@ApiProblem(401, 'Missing, unknown or revoked API key.')
@ApiProblem(429, 'Rate limit of the tenant exceeded (Retry-After).')
@ApiProblem(503, 'PostgreSQL or Redis is unavailable (Retry-After).')
@Controller('v1')
@UseGuards(ApiKeyGuard, TenantRateLimitGuard)
export class RunsController {
  constructor(
    @Inject(RUNS_ORCHESTRATOR) private readonly runs: RunsOrchestrator,
    @InjectConfig('idempotency') private readonly idempotency: AppConfig['idempotency'],
  ) {}

  @Post('agents/:agentId/runs')
  @HttpCode(202)
  @ApiOperation({ operationId: 'createRun', summary: 'Submit a run (queued, executed by a worker).' })
  @ApiParam({ name: 'agentId', description: '^[A-Za-z0-9._-]{1,128}$' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiAcceptedResponse({
    type: RunSchema,
    description: 'The run (new, or the existing one with Idempotent-Replayed: true). Location: /v1/runs/{id}.',
  })
  @ApiProblem(400, 'Invalid body, agent id, Idempotency-Key, skill, params or $ref.')
  @ApiProblem(409, 'idempotency-request-in-progress (Retry-After).')
  @ApiProblem(413, 'The body exceeds MAX_BODY_BYTES.')
  @ApiProblem(422, 'idempotency-key-reused: the key was used with another body.')
  async create(
    @CurrentTenant() tenantId: string,
    @Param('agentId') agentId: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: CreateRunDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (!AGENT_ID_PATTERN.test(agentId))
      throw problems.badRequest('invalid-agent-id', 'agent_id must match ^[A-Za-z0-9._-]{1,128}$.', 'agent_id');
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
  @ApiOperation({ operationId: 'listRuns', summary: 'List runs, newest first (cursor pagination).' })
  @ApiOkResponse({ type: RunPageSchema, description: 'A page of runs and the cursor of the next one.' })
  @ApiProblem(400, 'Invalid filter, limit or cursor.')
  async list(@CurrentTenant() tenantId: string, @Query() query: ListRunsQueryDto) {
    const page = await this.runs.listRuns(tenantId, {
      agentId: query.agent_id,
      status: query.status,
      limit: query.limit ?? 20,
      cursor: query.cursor,
    });
    return { data: page.data.map(presentRun), next_cursor: page.next_cursor };
  }

  @Get('runs/:runId')
  @ApiOperation({ operationId: 'getRun', summary: 'Read a run.' })
  @ApiOkResponse({ type: RunSchema, description: 'The run.' })
  @ApiProblem(404, 'No run of this tenant has this id.')
  async get(@CurrentTenant() tenantId: string, @Param('runId', runIdPipe) runId: string) {
    return presentRun(await this.runs.getRun(tenantId, runId));
  }

  @Post('runs/:runId/cancel')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'cancelRun',
    summary: 'Cancel a queued, running, retry or waiting run (a running step may finish; no further step starts).',
  })
  @ApiAcceptedResponse({ type: RunSchema, description: 'The cancelled run.' })
  @ApiProblem(404, 'No run of this tenant has this id.')
  @ApiProblem(409, 'The run is finished.')
  async cancel(@CurrentTenant() tenantId: string, @Param('runId', runIdPipe) runId: string) {
    return presentRun(await this.runs.cancelRun(tenantId, runId));
  }

  @Get('runs/:runId/trace')
  @ApiOperation({ operationId: 'getRunTrace', summary: "The run's steps as executed (pending steps included)." })
  @ApiOkResponse({ type: TraceSchema, description: "The run's trace." })
  @ApiProblem(404, 'No run of this tenant has this id.')
  async trace(@CurrentTenant() tenantId: string, @Param('runId', runIdPipe) runId: string) {
    return presentTrace(await this.runs.getTrace(tenantId, runId));
  }

  @Post('runs/:runId/replay')
  @HttpCode(202)
  @ApiOperation({ operationId: 'replayRun', summary: 'Replay a finished run step by step (execute | skip | check per step).' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiBody({ type: ReplayRunDto, required: false })
  @ApiAcceptedResponse({ type: RunSchema, description: 'The replay run (replay_of = the original).' })
  @ApiProblem(
    400,
    'Unknown behavior, step index or from_step out of range; an input that is not an object; an override of an unknown step, with unknown fields, a patch that is not an object or patched params that are invalid for the skill (errors named overrides.<index>.params...); skip for an overridden step; an unknown compare mode or option, a bad pointer or a threshold outside 0..1.',
  )
  @ApiProblem(404, 'No run of this tenant has this id.')
  @ApiProblem(409, 'The original run is not finished, or idempotency-request-in-progress (Retry-After).')
  @ApiProblem(413, 'The body exceeds MAX_BODY_BYTES.')
  @ApiProblem(422, 'idempotency-key-reused: the key was used with another body.')
  async replay(
    @CurrentTenant() tenantId: string,
    @Param('runId', runIdPipe) runId: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Body() body: ReplayRunDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const key = this.idempotencyKey(idempotencyKey);
    // input and overrides are free-form JSON: taken as sent (the validation pipe may drop keys such as `constructor`).
    const raw = (req.body ?? {}) as { input?: unknown; overrides?: unknown };
    const request = { ...body, input: raw.input, overrides: raw.overrides };
    const created = await this.runs.replayRun({ tenantId, runId, idempotencyKey: key, body: req.body ?? {}, request });
    return this.accepted(created, res);
  }

  @Post('runs/:runId/signals/:name')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'sendSignal',
    summary: "Send a signal to a run (any JSON body: the payload, the output of the run's `wait` step for this name).",
    description:
      'Kept with the run, one per name: the same payload again -> 202 (no change), another -> 409 signal-already-sent. A signal sent before the run reaches its wait step is consumed when it gets there. A waiting run is queued again at once.',
  })
  @ApiParam({ name: 'name', description: '^[A-Za-z0-9_.-]{1,64}$' })
  @ApiHeader({
    ...IDEMPOTENCY_HEADER,
    description:
      '1 to 255 printable ASCII characters. Same key + same signal: 202, Idempotent-Replayed: true. Another name or payload: 422.',
  })
  @ApiBody({ required: false, description: 'Any JSON value (the payload); no body: null.', schema: {} })
  @ApiAcceptedResponse({ type: SignalSchema, description: 'The signal as stored.' })
  @ApiProblem(400, 'Invalid signal name, Idempotency-Key or JSON body.')
  @ApiProblem(404, 'No run of this tenant has this id.')
  @ApiProblem(409, 'signal-already-sent (another payload under this name), or run-finished (a new signal to a finished run).')
  @ApiProblem(413, 'The body exceeds MAX_BODY_BYTES.')
  @ApiProblem(415, 'The body is not JSON.')
  @ApiProblem(422, 'idempotency-key-reused: the key was used for another signal.')
  async signal(
    @CurrentTenant() tenantId: string,
    @Param('runId', runIdPipe) runId: string,
    @Param('name') name: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (!SIGNAL_NAME_PATTERN.test(name))
      throw problems.badRequest('invalid-signal-name', 'The signal name must match ^[A-Za-z0-9_.-]{1,64}$.', 'name');
    if (hasNonJsonBody(req)) throw problems.unsupportedMediaType('The signal payload must be JSON (Content-Type: application/json).');
    // The payload is free-form (any key but __proto__), nested at most MAX_JSON_DEPTH levels.
    const payload: unknown = req.body ?? null;
    const shape = jsonShapeProblem({ payload });
    if (shape) throw problems.validation([shape], 'The signal payload has a shape the API does not accept.');
    // A signal is idempotent by its name, so IDEMPOTENCY_KEY_REQUIRED (run creation) does not apply here.
    const key = idempotencyKey === undefined ? null : this.idempotencyKey(idempotencyKey);
    const sent = await this.runs.sendSignal({ tenantId, runId, name, payload, idempotencyKey: key });
    if (sent.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return presentSignal(sent.signal);
  }

  private idempotencyKey(header: string | undefined): string | null {
    return idempotencyKeyOf(header, this.idempotency.keyRequired);
  }

  private accepted(created: CreatedRun, res: Response) {
    res.setHeader('Location', `/v1/runs/${created.run.id}`);
    if (created.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return presentRun(created.run);
  }
}

/** A body that is not JSON (a content type other than JSON, or bytes without a content type); an empty body is none. */
function hasNonJsonBody(req: Request): boolean {
  const length = req.headers['content-length'];
  const empty = req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
  if (empty) return false;
  return req.headers['content-type'] === undefined || !req.is(['application/json', 'application/*+json']);
}
