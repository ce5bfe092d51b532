import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { COMPARE_LIMITS, COMPARE_MODES } from '../../shared/comparators.js';
import { IDEMPOTENCY_KEY_PATTERN, REPLAY_BEHAVIORS, type ReplayBehavior } from '../../shared/step.types.js';
import { RUN_STATUSES, type RunStatus } from '../../shared/run.types.js';
import { ReplayStepOverrideSchema } from './replay-overrides.dto.js';

export const AGENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export { IDEMPOTENCY_KEY_PATTERN };
/** Hard ceiling on the array before MAX_STEPS (configurable) is checked by the orchestrator. */
const STEPS_CEILING = 10_000;

export class StepDto {
  @ApiPropertyOptional({ example: 'fetch-order', minLength: 1, maxLength: 200, description: "Default: the skill's name." })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/^[^\p{Cc}]+$/u, { message: 'name must not contain control characters' })
  name?: string;

  @ApiProperty({ example: 'http.request', description: 'A registered skill: http.request, transform, llm.chat, delay, or a custom one.' })
  @IsString()
  @Length(1, 128)
  skill!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { url: 'https://api.example.com/orders/42', method: 'GET' },
    description:
      'Skill params. Any { "$ref": "<JSON Pointer>" } is replaced before the step runs by the value at that pointer in { input, steps: [{ output }] } (earlier steps only).',
  })
  @IsOptional()
  @IsObject({ message: 'params must be an object' })
  params?: Record<string, unknown>;

  @ApiPropertyOptional({
    enum: REPLAY_BEHAVIORS,
    default: 'execute',
    description: 'Behavior of this step when the run is replayed and the replay names none.',
  })
  @IsOptional()
  @IsIn(REPLAY_BEHAVIORS, { message: `replay_behavior must be one of ${REPLAY_BEHAVIORS.join(', ')}` })
  replay_behavior?: ReplayBehavior;

  @ApiPropertyOptional({
    example: 'order-42-charge',
    description: 'Step idempotency key: the side effect happens at most once per tenant and key (STEP_IDEMPOTENCY_TTL_SECONDS).',
  })
  @IsOptional()
  @IsString()
  @Matches(IDEMPOTENCY_KEY_PATTERN, { message: 'idempotency_key must be 1 to 255 printable ASCII characters' })
  idempotency_key?: string;
}

export class CreateRunDto {
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { order_id: 42 } })
  @IsOptional()
  @IsObject({ message: 'input must be an object' })
  input?: Record<string, unknown>;

  @ApiProperty({ type: [StepDto], minItems: 1, description: '1 to MAX_STEPS (default 100) steps, run in order.' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(STEPS_CEILING)
  @ValidateNested({ each: true })
  @Type(() => StepDto)
  steps!: StepDto[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { source: 'checkout' } })
  @IsOptional()
  @IsObject({ message: 'metadata must be an object' })
  metadata?: Record<string, unknown>;
}

/** `?status=` (empty) means no filter, as an omitted parameter does (the raw value is read: @Type already made '' a 0). */
export const emptyAsAbsent = () =>
  Transform(({ value, obj, key }: { value: unknown; obj: Record<string, unknown>; key: string }) => (obj[key] === '' ? undefined : value));

export class ListRunsQueryDto {
  @ApiPropertyOptional({ pattern: '^[A-Za-z0-9._-]{1,128}$' })
  @emptyAsAbsent()
  @IsOptional()
  @IsString()
  @Matches(AGENT_ID_PATTERN, { message: 'agent_id must match ^[A-Za-z0-9._-]{1,128}$' })
  agent_id?: string;

  @ApiPropertyOptional({ enum: RUN_STATUSES })
  @emptyAsAbsent()
  @IsOptional()
  @IsIn(RUN_STATUSES, { message: `status must be one of ${RUN_STATUSES.join(', ')}` })
  status?: RunStatus;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @emptyAsAbsent()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'Opaque cursor: next_cursor of the previous page.' })
  @emptyAsAbsent()
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

const POINTER_LIST = { type: 'array', items: { type: 'string', maxLength: COMPARE_LIMITS.pointerLength } } as const;
const comparatorSchema = (mode: string, description: string, properties: Record<string, object> = {}, required: string[] = []) => ({
  type: 'object',
  title: mode,
  description,
  required: ['mode', ...required],
  additionalProperties: false,
  properties: { mode: { type: 'string', enum: [mode] }, ...properties },
});

/** The comparators of `compare` (API.md, What-if replays), one schema per mode; the orchestrator validates them. */
export const COMPARATOR_SCHEMA = {
  oneOf: [
    comparatorSchema('exact', 'SHA-256 of canonical JSON (the default).'),
    comparatorSchema('numeric', 'Numbers equal within abs or within rel (relative to the larger magnitude); everything else exact.', {
      abs: { type: 'number', minimum: 0 },
      rel: { type: 'number', minimum: 0 },
    }),
    comparatorSchema(
      'text',
      'The strings at paths (default: the whole output, when it is a string) reach min_similarity (normalised Levenshtein similarity, 1 = identical); the rest exact. score = the lowest similarity.',
      {
        min_similarity: { type: 'number', minimum: 0, maximum: 1 },
        paths: { ...POINTER_LIST, minItems: 1, maxItems: COMPARE_LIMITS.textPaths },
      },
      ['min_similarity'],
    ),
    comparatorSchema(
      'schema',
      "Same shape: same keys and JSON types, recursively; values free. Arrays may differ in length; each new element has the shape of the original's first element.",
    ),
    comparatorSchema(
      'judge',
      'llm.chat (LLM_BASE_URL) is asked whether the new output meets the rubric, given the original; its verdict must be exactly {"pass": boolean, "reason": string}, else the step fails (judge_failed).',
      {
        model: { type: 'string', minLength: 1, maxLength: COMPARE_LIMITS.model },
        rubric: { type: 'string', minLength: 1, maxLength: COMPARE_LIMITS.rubric },
      },
      ['model', 'rubric'],
    ),
  ],
};

@ApiExtraModels(ReplayStepOverrideSchema)
export class ReplayRunDto {
  @ApiPropertyOptional({
    enum: REPLAY_BEHAVIORS,
    description: "Behavior of steps that `behaviors` does not name; else each step's recorded replay_behavior.",
  })
  @IsOptional()
  @IsIn(REPLAY_BEHAVIORS, { message: `default_behavior must be one of ${REPLAY_BEHAVIORS.join(', ')}` })
  default_behavior?: ReplayBehavior;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string', enum: [...REPLAY_BEHAVIORS] }, example: { '2': 'check' } })
  @IsOptional()
  @IsObject({ message: 'behaviors must be an object of step index to behavior' })
  behaviors?: Record<string, unknown>;

  @ApiPropertyOptional({ minimum: 0, description: 'Steps before this index behave as skip (fork from a step).' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  from_step?: number;

  @ApiPropertyOptional({ enum: ['fail', 'continue'], default: 'fail' })
  @IsOptional()
  @IsIn(['fail', 'continue'], { message: 'on_mismatch must be one of fail, continue' })
  on_mismatch?: 'fail' | 'continue';

  @ApiPropertyOptional({
    type: [String],
    example: ['/headers/date', '/body/generated_at'],
    description: 'RFC 6901 pointers removed from both outputs before a check compares them.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(1024, { each: true })
  ignore_paths?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { order: 43 },
    description:
      "What-if: replaces the original run's input for this replay (`$ref`s to /input/... see it). The replay run's `input` shows it.",
  })
  @IsOptional()
  @IsObject({ message: 'input must be an object' })
  input?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(ReplayStepOverrideSchema) },
    example: { '2': { params: { model: 'gpt-4.1-mini' } } },
    description:
      "What-if: by step index, a merge patch of the step's params and/or a new idempotency_key. An overridden step is never skipped: behaviors[i] = skip for it, or a from_step past it, is a 400; under default_behavior skip (or a recorded skip) it executes. Under check it is compared with the original output.",
  })
  @IsOptional()
  @IsObject({ message: 'overrides must be an object of step index to { params?, idempotency_key? }' })
  overrides?: Record<string, unknown>;

  @ApiPropertyOptional({
    default: false,
    description:
      "true: `check` also compares the skills' volatile output paths (http.request: /headers/date, /headers/age, ...), which it ignores otherwise.",
  })
  @IsOptional()
  @IsBoolean({ message: 'strict must be a boolean' })
  strict?: boolean;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: COMPARATOR_SCHEMA,
    example: { '2': { mode: 'text', min_similarity: 0.8, paths: ['/content'] }, '*': { mode: 'exact' } },
    description: `How each \`check\` step is compared: compare["<index>"], else compare["*"], else exact. Modes: ${COMPARE_MODES.join(', ')}. Unknown mode, option, index or a bad pointer or threshold: 400.`,
  })
  @IsOptional()
  @IsObject({ message: 'compare must be an object of step index (or "*") to comparator' })
  compare?: Record<string, unknown>;
}
