import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { SECRET_NAME_PATTERN } from '../../shared/param-refs.js';
import { SECRETS_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { SecretsOrchestrator } from '../../spine/orchestrator/secrets.orchestrator.js';
import { PutSecretDto } from '../dto/secrets.dto.js';
import { ApiKeyGuard } from '../guards/api-key.guard.js';
import { CurrentTenant } from '../guards/current-tenant.decorator.js';
import { TenantRateLimitGuard } from '../guards/tenant-rate-limit.guard.js';
import { ApiProblem, SecretListSchema } from '../openapi.js';
import { problems } from '../problem.js';

const NAME_PARAM = { name: 'name', description: '^[A-Za-z0-9_.-]{1,128}$' };

/** Tenant secrets: referenced from step params as { "$secret": "<name>" }; values go in, never out. */
@ApiTags('secrets')
@ApiBearerAuth()
@ApiProblem(401, 'Missing, unknown or revoked API key.')
@ApiProblem(429, 'Rate limit of the tenant exceeded (Retry-After).')
@ApiProblem(503, 'secrets-disabled: SECRETS_KEY is not set (production mode); or PostgreSQL is unavailable (Retry-After).')
@Controller('v1/secrets')
@UseGuards(ApiKeyGuard, TenantRateLimitGuard)
export class SecretsController {
  constructor(@Inject(SECRETS_ORCHESTRATOR) private readonly secrets: SecretsOrchestrator) {}

  @Put(':name')
  @HttpCode(204)
  @ApiOperation({ operationId: 'putSecret', summary: 'Create or replace a secret (stored encrypted; the value is never returned).' })
  @ApiParam(NAME_PARAM)
  @ApiNoContentResponse({ description: 'Created or replaced.' })
  @ApiProblem(400, 'Invalid name or value.')
  @ApiProblem(413, 'The body exceeds MAX_BODY_BYTES.')
  async put(@CurrentTenant() tenantId: string, @Param('name') name: string, @Body() body: PutSecretDto): Promise<void> {
    if (!SECRET_NAME_PATTERN.test(name)) {
      throw problems.badRequest('invalid-secret-name', 'A secret name must match ^[A-Za-z0-9_.-]{1,128}$.', 'name');
    }
    await this.secrets.put(tenantId, name, body.value);
  }

  @Get()
  @ApiOperation({ operationId: 'listSecrets', summary: "The tenant's secrets: names and dates, never values." })
  @ApiOkResponse({ type: SecretListSchema })
  async list(@CurrentTenant() tenantId: string) {
    const secrets = await this.secrets.list(tenantId);
    return { data: secrets.map((s) => ({ name: s.name, created_at: s.created_at, updated_at: s.updated_at })) };
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deleteSecret',
    summary: 'Delete a secret. Runs whose later steps name it fail those steps with secret_missing.',
  })
  @ApiParam(NAME_PARAM)
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiProblem(404, 'The tenant has no secret of that name.')
  async delete(@CurrentTenant() tenantId: string, @Param('name') name: string): Promise<void> {
    if (!SECRET_NAME_PATTERN.test(name)) throw problems.notFound(`Secret "${name.slice(0, 140)}" does not exist.`);
    await this.secrets.delete(tenantId, name);
  }
}
