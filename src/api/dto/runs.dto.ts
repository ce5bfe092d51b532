import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
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
import { REPLAY_BEHAVIORS, type ReplayBehavior } from '../../shared/step.types.js';
import { RUN_STATUSES, type RunStatus } from '../../shared/run.types.js';

export const AGENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** Idempotency keys (request and step): 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
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
}
