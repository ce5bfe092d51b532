import { ApiPropertyOptional } from '@nestjs/swagger';

/**
 * One entry of a replay's `overrides` (for the OpenAPI document: the orchestrator checks the map, whose
 * keys are step indexes, and names its errors `overrides.<index>...`).
 */
export class ReplayStepOverrideSchema {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { model: 'gpt-4.1-mini' },
    description:
      "An RFC 7396 JSON Merge Patch of the step's params as written in the original plan: a member replaces, null removes, arrays are replaced whole; `$ref` and `$secret` the patch does not touch stay. The patched params are checked as on create.",
  })
  params?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'order-43-charge',
    description:
      "Replaces the step's idempotency key (1 to 255 printable ASCII); null removes it. Patched params under the original key fail with idempotency_violation: the key still protects its side effect.",
  })
  idempotency_key?: string | null;
}
