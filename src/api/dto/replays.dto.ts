import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { BATCH_VERDICTS, type BatchVerdict, REPLAYABLE_STATUSES, type ReplayableStatus } from '../../spine/replay-batch.types.js';
import { AGENT_ID_PATTERN, emptyAsAbsent, ReplayRunDto } from './runs.dto.js';

/** RFC 3339 date-time with an offset (a bare date or a local time would depend on the server's zone). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const DATE_TIME_MESSAGE = (field: string) => `${field} must be an RFC 3339 date-time with an offset, e.g. 2026-11-01T00:00:00Z`;
export const MAX_BATCH_LIMIT = 1000;
export const DEFAULT_BATCH_LIMIT = 100;

/** Which runs a batch replays: finished runs of the tenant, newest first. */
export class ReplayBatchFilterDto {
  @ApiPropertyOptional({ example: 'support-bot', pattern: '^[A-Za-z0-9._-]{1,128}$' })
  @IsOptional()
  @IsString()
  @Matches(AGENT_ID_PATTERN, { message: 'agent_id must match ^[A-Za-z0-9._-]{1,128}$' })
  agent_id?: string;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', enum: [...REPLAYABLE_STATUSES] },
    default: [...REPLAYABLE_STATUSES],
    description: 'Statuses of the runs to replay: the finished runs a replay accepts (succeeded, failed). Default: both.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(REPLAYABLE_STATUSES, {
    each: true,
    message: 'status must hold succeeded and/or failed (only finished runs that succeeded or failed can be replayed)',
  })
  status?: ReplayableStatus[];

  @ApiPropertyOptional({ format: 'date-time', description: 'Only runs created after this time (exclusive).' })
  @IsOptional()
  @IsString()
  @Matches(DATE_TIME, { message: DATE_TIME_MESSAGE('created_after') })
  @IsISO8601({ strict: true }, { message: DATE_TIME_MESSAGE('created_after') })
  created_after?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only runs created before this time (exclusive).' })
  @IsOptional()
  @IsString()
  @Matches(DATE_TIME, { message: DATE_TIME_MESSAGE('created_before') })
  @IsISO8601({ strict: true }, { message: DATE_TIME_MESSAGE('created_before') })
  created_before?: string;

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    maxItems: MAX_BATCH_LIMIT,
    description:
      "Only these runs (at most `limit` of them). Replay runs are left out unless named here; ids of runs that are not finished, or not the tenant's, select nothing.",
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_LIMIT)
  @ArrayUnique({ message: 'run_ids must not name a run twice' })
  @IsUUID('all', { each: true, message: 'run_ids must hold run ids (UUIDs)' })
  run_ids?: string[];

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_BATCH_LIMIT, default: DEFAULT_BATCH_LIMIT, description: 'Most runs in the batch.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_BATCH_LIMIT)
  limit?: number;
}

export class CreateReplayBatchDto {
  @ApiPropertyOptional({ type: ReplayBatchFilterDto, description: 'Default: the 100 newest finished runs of the tenant.' })
  @ValidateIf((_, value) => value !== undefined)
  @IsObject({ message: 'filter must be an object' })
  @ValidateNested()
  @Type(() => ReplayBatchFilterDto)
  filter?: ReplayBatchFilterDto;

  @ApiPropertyOptional({
    type: ReplayRunDto,
    description:
      'Replay options of every run: the body of POST /v1/runs/{id}/replay, validated the same way. Step indexes and from_step are checked per run: a run they do not fit is an item with verdict failed and the reason.',
  })
  @ValidateIf((_, value) => value !== undefined)
  @IsObject({ message: 'replay must be an object' })
  @ValidateNested()
  @Type(() => ReplayRunDto)
  replay?: ReplayRunDto;
}

export class ListReplayBatchesQueryDto {
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

export class ListReplayBatchItemsQueryDto extends ListReplayBatchesQueryDto {
  @ApiPropertyOptional({ enum: BATCH_VERDICTS, description: 'pending: not started yet, or its replay run is still active.' })
  @emptyAsAbsent()
  @IsOptional()
  @IsIn(BATCH_VERDICTS, { message: `verdict must be one of ${BATCH_VERDICTS.join(', ')}` })
  verdict?: BatchVerdict;
}
