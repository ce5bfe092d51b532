import { Type } from 'class-transformer';
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
import { REPLAY_BEHAVIORS, type ReplayBehavior } from '../../domains/logs/trace.types.js';
import { RUN_STATUSES, type RunStatus } from '../../spine/entities/run.entity.js';

export const AGENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** Idempotency keys (request and step): 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
/** Hard ceiling on the array before MAX_STEPS (configurable) is checked by the orchestrator. */
const STEPS_CEILING = 10_000;

export class StepDto {
  @IsString()
  @Length(1, 200)
  @Matches(/^[^\p{Cc}]+$/u, { message: 'name must not contain control characters' })
  name!: string;

  @IsString()
  @Length(1, 128)
  skill!: string;

  @IsOptional()
  @IsObject({ message: 'params must be an object' })
  params?: Record<string, unknown>;

  @IsOptional()
  @IsIn(REPLAY_BEHAVIORS, { message: `replay_behavior must be one of ${REPLAY_BEHAVIORS.join(', ')}` })
  replay_behavior?: ReplayBehavior;

  @IsOptional()
  @IsString()
  @Matches(IDEMPOTENCY_KEY_PATTERN, { message: 'idempotency_key must be 1 to 255 printable ASCII characters' })
  idempotency_key?: string;
}

export class CreateRunDto {
  @IsOptional()
  @IsObject({ message: 'input must be an object' })
  input?: Record<string, unknown>;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(STEPS_CEILING)
  @ValidateNested({ each: true })
  @Type(() => StepDto)
  steps!: StepDto[];

  @IsOptional()
  @IsObject({ message: 'metadata must be an object' })
  metadata?: Record<string, unknown>;
}

export class ListRunsQueryDto {
  @IsOptional()
  @IsString()
  @Matches(AGENT_ID_PATTERN, { message: 'agent_id must match ^[A-Za-z0-9._-]{1,128}$' })
  agent_id?: string;

  @IsOptional()
  @IsIn(RUN_STATUSES, { message: `status must be one of ${RUN_STATUSES.join(', ')}` })
  status?: RunStatus;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

export class ReplayRunDto {
  @IsOptional()
  @IsIn(REPLAY_BEHAVIORS, { message: `default_behavior must be one of ${REPLAY_BEHAVIORS.join(', ')}` })
  default_behavior?: ReplayBehavior;

  @IsOptional()
  @IsObject({ message: 'behaviors must be an object of step index to behavior' })
  behaviors?: Record<string, unknown>;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  from_step?: number;

  @IsOptional()
  @IsIn(['fail', 'continue'], { message: 'on_mismatch must be one of fail, continue' })
  on_mismatch?: 'fail' | 'continue';

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(1024, { each: true })
  ignore_paths?: string[];
}
