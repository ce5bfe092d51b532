import type { INestApplication } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { REPLAY_BEHAVIORS } from '../shared/step.types.js';
import { RUN_STATUSES } from '../shared/run.types.js';

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

/** Any JSON value (object, array, string, number, boolean; `nullable` adds null), so typed clients see `unknown`-like values, not `{}`. */
const JSON_VALUE = {
  oneOf: [
    { type: 'object', additionalProperties: true },
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
  @ApiPropertyOptional({ ...JSON_VALUE, nullable: true, description: 'New value of add, replace and test.' }) value?: unknown;
}

export class StepMismatchSchema {
  @ApiProperty({ nullable: true, type: String, description: 'Hash of the whole original output.' }) expected_hash!: string | null;
  @ApiProperty({ description: 'Hash of the whole new output.' }) actual_hash!: string;
  @ApiProperty({
    type: [JsonPatchOperationSchema],
    description: 'RFC 6902 JSON Patch from the original output to the new one (ignore_paths removed).',
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
    example: 'step_failed',
    description: 'step_failed | replay_mismatch | idempotency_violation | cancelled | attempts_exhausted | internal_error',
  })
  type!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional() step_index?: number;
}

export class RunSchema {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() agent_id!: string;
  @ApiProperty({ enum: RUN_STATUSES }) status!: string;
  @ApiProperty({ nullable: true, type: String }) idempotency_key!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) input!: unknown;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata!: unknown;
  @ApiProperty({ ...JSON_VALUE, nullable: true, description: 'Output of the last step, or null.' }) output!: unknown;
  @ApiProperty({ nullable: true, type: RunErrorSchema }) error!: RunErrorSchema | null;
  @ApiProperty() attempts!: number;
  @ApiProperty({ nullable: true, format: 'uuid', type: String }) replay_of!: string | null;
  @ApiProperty({ nullable: true, type: ReplayReportSchema, description: 'The replay report of a finished replay run; null otherwise.' })
  replay!: ReplayReportSchema | null;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) started_at!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finished_at!: string | null;
}

export class RunPageSchema {
  @ApiProperty({ type: [RunSchema] }) data!: RunSchema[];
  @ApiProperty({ nullable: true, type: String }) next_cursor!: string | null;
}

export class StepSchema {
  @ApiProperty() index!: number;
  @ApiProperty() name!: string;
  @ApiProperty() skill!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Params as resolved for this execution ($ref replaced).' })
  params!: unknown;
  @ApiProperty({ enum: REPLAY_BEHAVIORS }) replay_behavior!: string;
  @ApiProperty({ nullable: true, type: String }) idempotency_key!: string | null;
  @ApiProperty({ enum: ['pending', 'running', 'succeeded', 'failed', 'cancelled'] }) status!: string;
  @ApiProperty({ ...JSON_VALUE, nullable: true }) output!: unknown;
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
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) started_at!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) finished_at!: string | null;
  @ApiProperty({ nullable: true, type: Number }) duration_ms!: number | null;
}

export class TraceSchema {
  @ApiProperty({ format: 'uuid' }) run_id!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) replay_of!: string | null;
  @ApiProperty({ type: [StepSchema] }) steps!: StepSchema[];
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

/** The OpenAPI document of the app (also built, without a database, by scripts/openapi-types.mjs for the typed client). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('agent-runs')
    .setDescription(
      'Idempotent AI agent runs with step traces and replay. Errors are RFC 9457 application/problem+json; every response carries X-Request-Id. ' +
        'Idempotency-Key (run creation and replay): scope tenant + agent_id + key; same key and body (RFC 8785 canonical JSON) replays the run with ' +
        'Idempotent-Replayed: true; another body answers 422; a key whose run was cancelled may run the same request again; keys expire after IDEMPOTENCY_TTL_SECONDS. ' +
        'Rate limit: RATE_LIMIT_PER_SECOND requests per tenant (429 with Retry-After).',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key (/v1) or ADMIN_TOKEN (/admin)' })
    .build();
  return SwaggerModule.createDocument(app, config, { extraModels: [ProblemSchema] });
}

/** Serves the OpenAPI UI at /docs and the document at /openapi.json. */
export function setUpOpenApi(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
