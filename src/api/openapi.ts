import type { INestApplication } from '@nestjs/common';
import {
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  DocumentBuilder,
  getSchemaPath,
  type OpenAPIObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { COMPARE_MODES } from '../shared/comparators.js';
import { REPLAY_BEHAVIORS } from '../shared/step.types.js';
import { RUN_STATUSES } from '../shared/run.types.js';
import { RUN_ERROR_TYPES, RunErrorType } from '../shared/run-errors.js';
import { BATCH_VERDICTS, REPLAYABLE_STATUSES } from '../spine/replay-batch.types.js';
import { ReplayRunDto } from './dto/runs.dto.js';

/** Response schemas of the contract (../shared/docs/API.md), for the OpenAPI document only. */
export class ProblemSchema {
  @ApiProperty({ example: 'idempotency-key-reused' }) type!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ example: 422 }) status!: number;
  @ApiProperty() detail!: string;
  @ApiPropertyOptional() instance?: string;
  @ApiPropertyOptional({ description: 'The X-Request-Id of the request.' }) request_id?: string;
  @ApiPropertyOptional({ type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } })
  errors?: Array<{ field: string; message: string }>;
}

/** An RFC 9457 error response: `application/problem+json` with the Problem schema. */
export function ApiProblem(status: number, description: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemSchema) } } } });
}

/** An operation that needs no credentials: `security: []` in the document. */
export function ApiPublicOperation(operation: { operationId: string; summary: string }): MethodDecorator {
  return ApiOperation({ ...operation, security: [] });
}

/** The body of /health/live and /health/ready (@nestjs/terminus). */
export class HealthSchema {
  @ApiProperty({ enum: ['ok', 'error'] }) status!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Checks that are up.' }) info?: unknown;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Checks that are down.' }) error?: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Every check by name.' }) details!: unknown;
}

/**
 * Any JSON value, null included, so typed clients see `unknown`-like values, not `{}`. OpenAPI 3.0 has no
 * null type and wants `nullable` beside a `type` (Redocly's nullable-type-sibling), so null is allowed
 * on one branch.
 */
const JSON_VALUE = {
  oneOf: [
    { type: 'object', additionalProperties: true, nullable: true },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
  ],
};

export class JsonPatchOperationSchema {
  @ApiProperty({ enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] }) op!: string;
  @ApiProperty({ description: 'RFC 6901 JSON Pointer.' }) path!: string;
  @ApiPropertyOptional({ description: 'Source pointer of move and copy.' }) from?: string;
  @ApiPropertyOptional({ ...JSON_VALUE, description: 'New value of add, replace and test.' }) value?: unknown;
}

export class StepMismatchSchema {
  @ApiProperty({ nullable: true, type: String, description: 'Hash of the whole original output.' }) expected_hash!: string | null;
  @ApiProperty({ description: 'Hash of the whole new output.' }) actual_hash!: string;
  @ApiProperty({
    type: [JsonPatchOperationSchema],
    description: "RFC 6902 JSON Patch from the original output to the new one (ignore_paths and the skill's volatile paths removed).",
  })
  diff!: JsonPatchOperationSchema[];
}

export class ReplayMismatchSchema extends StepMismatchSchema {
  @ApiProperty() step_index!: number;
}

export class ReplaySummarySchema {
  @ApiProperty() executed!: number;
  @ApiProperty() skipped!: number;
  @ApiProperty() checked!: number;
  @ApiProperty() from_cache!: number;
  @ApiProperty() mismatches!: number;
}

export class ReplayReportSchema {
  @ApiProperty({ enum: ['match', 'mismatch'] }) verdict!: string;
  @ApiProperty({ type: ReplaySummarySchema }) summary!: ReplaySummarySchema;
  @ApiProperty({ type: [ReplayMismatchSchema] }) mismatches!: ReplayMismatchSchema[];
}

export class StepErrorSchema {
  @ApiProperty({ example: 'step_failed' }) type!: string;
  @ApiProperty() message!: string;
}

export class RunErrorSchema {
  @ApiProperty({
    example: RunErrorType.StepFailed,
    description: Object.entries(RUN_ERROR_TYPES)
      .map(([type, meaning]) => `\`${type}\`: ${meaning}`)
      .join('; '),
  })
  type!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional() step_index?: number;
}

export class UsageSchema {
  @ApiProperty() prompt_tokens!: number;
  @ApiProperty() completion_tokens!: number;
  @ApiProperty() total_tokens!: number;
}

export class WaitingForSchema {
  @ApiProperty() signal!: string;
  @ApiProperty() step_index!: number;
  @ApiProperty({ format: 'date-time', description: 'Past this time the wait step fails (signal_timeout).' }) until!: string;
}

export class RunSchema {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() agent_id!: string;
  @ApiProperty({ enum: RUN_STATUSES }) status!: string;
  @ApiProperty({ nullable: true, type: String }) idempotency_key!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) input!: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata!: unknown;
  @ApiProperty({ ...JSON_VALUE, description: 'Output of the last step, or null.' }) output!: unknown;
  @ApiProperty({ nullable: true, type: RunErrorSchema }) error!: RunErrorSchema | null;
  @ApiProperty() attempts!: number;
  @ApiProperty({ nullable: true, format: 'uuid', type: String }) replay_of!: string | null;
  @ApiProperty({
    nullable: true,
    type: ReplayReportSchema,
    description:
      'The replay report of a finished replay run: when it succeeded, or failed having found a mismatch (verdict mismatch). Null otherwise: not a replay, not finished, or failed for another reason before any mismatch (no verdict; see status and error).',
  })
  replay!: ReplayReportSchema | null;
  @ApiProperty({
    nullable: true,
    type: UsageSchema,
    description: 'Token usage summed over the executed steps; null when none reports usage.',
  })
  usage!: UsageSchema | null;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) started_at!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finished_at!: string | null;
  @ApiPropertyOptional({ type: WaitingForSchema, description: 'What a `waiting` run waits for (present only while it waits).' })
  waiting_for?: WaitingForSchema;
}

export class SignalSchema {
  @ApiProperty({ format: 'uuid' }) run_id!: string;
  @ApiProperty() signal!: string;
  @ApiProperty({ format: 'date-time' }) received_at!: string;
}

export class RunPageSchema {
  @ApiProperty({ type: [RunSchema] }) data!: RunSchema[];
  @ApiProperty({ nullable: true, type: String }) next_cursor!: string | null;
}

export class ComparisonSchema {
  @ApiProperty({ enum: COMPARE_MODES, description: 'The comparator applied (compare["<index>"], else compare["*"], else exact).' })
  mode!: string;
  @ApiProperty({ description: 'Whether the new output passed; `mismatch` is set exactly when it did not.' }) passed!: boolean;
  @ApiProperty({
    nullable: true,
    type: Number,
    minimum: 0,
    maximum: 1,
    description: '`text`: the lowest normalised Levenshtein similarity over the compared strings; null for other modes.',
  })
  score!: number | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "Why the comparison did not pass (numeric, text, schema), or the judge's reason; null otherwise.",
  })
  reason!: string | null;
  @ApiProperty({
    type: [String],
    description:
      "RFC 6901 pointers left out of this step's comparison: the replay's ignore_paths, (unless strict) the skill's volatile paths, and paths the skill no longer records, that held a value in either output.",
  })
  ignored_paths!: string[];
}

export class StepSchema {
  @ApiProperty() index!: number;
  @ApiProperty() name!: string;
  @ApiProperty() skill!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'Params as resolved for this execution ($ref replaced; a $secret reads "[secret:<name>]"; credential headers and query parameters read "[redacted]").',
  })
  params!: unknown;
  @ApiProperty({ enum: REPLAY_BEHAVIORS }) replay_behavior!: string;
  @ApiProperty({ nullable: true, type: String }) idempotency_key!: string | null;
  @ApiProperty({ enum: ['pending', 'running', 'succeeded', 'failed', 'cancelled'] }) status!: string;
  @ApiProperty(JSON_VALUE) output!: unknown;
  @ApiProperty({
    nullable: true,
    type: String,
    pattern: '^[0-9a-f]{64}$',
    description: 'SHA-256 of the RFC 8785 canonical JSON of output.',
  })
  output_hash!: string | null;
  @ApiProperty() executed!: boolean;
  @ApiProperty() skipped!: boolean;
  @ApiProperty() checked!: boolean;
  @ApiProperty() from_cache!: boolean;
  @ApiProperty({ nullable: true, type: String }) expected_hash!: string | null;
  @ApiProperty({ nullable: true, type: StepMismatchSchema }) mismatch!: StepMismatchSchema | null;
  @ApiProperty({ nullable: true, type: StepErrorSchema }) error!: StepErrorSchema | null;
  @ApiProperty() attempts!: number;
  @ApiProperty({
    nullable: true,
    type: UsageSchema,
    description: 'Token usage of this execution (llm.chat); null for other skills, skipped and cached steps.',
  })
  usage!: UsageSchema | null;
  @ApiProperty({
    nullable: true,
    type: ComparisonSchema,
    description: 'How a checked step of a replay was compared; null for steps that were not checked.',
  })
  comparison!: ComparisonSchema | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) started_at!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) finished_at!: string | null;
  @ApiProperty({ nullable: true, type: Number }) duration_ms!: number | null;
}

export class TraceSchema {
  @ApiProperty({ format: 'uuid' }) run_id!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) replay_of!: string | null;
  @ApiProperty({ type: [StepSchema] }) steps!: StepSchema[];
}

export class ReplayBatchCountsSchema {
  @ApiProperty({ description: 'Items not started yet, or whose replay run is still active.' }) pending!: number;
  @ApiProperty() match!: number;
  @ApiProperty() mismatch!: number;
  @ApiProperty({ description: 'Replay runs that failed for another reason than a mismatch, and runs the options do not fit.' })
  failed!: number;
  @ApiProperty() cancelled!: number;
}

export class ReplayBatchFilterSchema {
  @ApiPropertyOptional() agent_id?: string;
  @ApiProperty({ type: 'array', items: { type: 'string', enum: [...REPLAYABLE_STATUSES] } }) status!: string[];
  @ApiPropertyOptional({ format: 'date-time' }) created_after?: string;
  @ApiPropertyOptional({ format: 'date-time' }) created_before?: string;
  @ApiPropertyOptional({ type: [String], format: 'uuid' }) run_ids?: string[];
  @ApiProperty() limit!: number;
}

export class ReplayBatchSchema {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['running', 'completed', 'cancelled'] }) status!: string;
  @ApiProperty({ description: 'Runs the filter selected (frozen when the batch was created).' }) total!: number;
  @ApiProperty({ type: ReplayBatchCountsSchema, description: 'Items by verdict; they add up to total.' }) counts!: ReplayBatchCountsSchema;
  @ApiProperty({ type: ReplayBatchFilterSchema, description: 'The filter, defaults applied.' }) filter!: ReplayBatchFilterSchema;
  @ApiProperty({ type: ReplayRunDto, description: 'The replay options as sent.' }) replay!: ReplayRunDto;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finished_at!: string | null;
}

export class ReplayBatchPageSchema {
  @ApiProperty({ type: [ReplayBatchSchema] }) data!: ReplayBatchSchema[];
  @ApiProperty({ nullable: true, type: String }) next_cursor!: string | null;
}

export class ReplayBatchItemSchema {
  @ApiProperty({ format: 'uuid', description: 'The original run.' }) run_id!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'Its replay run, once started.' })
  replay_run_id!: string | null;
  @ApiProperty({
    enum: [...RUN_STATUSES, 'pending', 'match', 'mismatch'],
    description:
      "The replay run's status; without one (not started yet, options that do not fit the run, or purged by RUN_RETENTION_DAYS), the item's verdict.",
  })
  status!: string;
  @ApiProperty({ enum: BATCH_VERDICTS }) verdict!: string;
  @ApiProperty({ nullable: true, type: Number, description: "Index of the replay's first mismatching step." })
  first_mismatch_step!: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why the item failed or was cancelled.' }) reason!: string | null;
}

export class ReplayBatchItemPageSchema {
  @ApiProperty({ type: [ReplayBatchItemSchema] }) data!: ReplayBatchItemSchema[];
  @ApiProperty({ nullable: true, type: String }) next_cursor!: string | null;
}

export class SecretSummarySchema {
  @ApiProperty({ example: 'stripe-live', pattern: '^[A-Za-z0-9_.-]{1,128}$' }) name!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
}

export class SecretListSchema {
  @ApiProperty({ type: [SecretSummarySchema], description: 'Sorted by name. Values are never returned.' }) data!: SecretSummarySchema[];
}

export class CreatedTenantSchema {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'Shown once; stored only as a hash.' }) api_key!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
}

export class CreatedApiKeySchema {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'Shown once; stored only as a hash.' }) api_key!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
}

/**
 * The OpenAPI document of the app's routes. Needs the module graph only, not running providers, so
 * `npm run lint:openapi` builds it from an app created with `preview: true` (no database).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('agent-runs')
    .setDescription(
      'Idempotent AI agent runs with step traces and replay. Errors are RFC 9457 application/problem+json; every response carries X-Request-Id. ' +
        'Idempotency-Key (run creation and replay): scope tenant + agent_id + key; same key and body (RFC 8785 canonical JSON) replays the run with ' +
        'Idempotent-Replayed: true; another body answers 422; a cancelled run is replayed too (send a new key to run the request again); keys expire after IDEMPOTENCY_TTL_SECONDS. ' +
        'Replay batches (POST /v1/replays) take an Idempotency-Key with the same rules, scope tenant + key. ' +
        'Rate limit: RATE_LIMIT_PER_SECOND requests per tenant (429 with Retry-After). ' +
        'Secrets: { "$secret": "<name>" } anywhere in step params is replaced by the tenant secret just before the skill runs; a secret\'s value ' +
        'reads "[secret:<name>]" wherever a step is recorded or returned, and credential headers and query parameters read "[redacted]".',
    )
    .setVersion('1')
    .addServer('/', 'The server this document is served from')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key (/v1) or ADMIN_TOKEN (/admin)' })
    .build();
  return SwaggerModule.createDocument(app, config, { extraModels: [ProblemSchema] });
}

/** Serves the OpenAPI UI at /docs and the document at /openapi.json. */
export function setUpOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
