import { Body, Controller, Delete, HttpCode, Inject, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TENANTS_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { TenantsOrchestrator } from '../../spine/orchestrator/tenants.orchestrator.js';
import { CreateTenantDto } from '../dto/admin.dto.js';
import { AdminGuard } from '../guards/admin.guard.js';
import { ApiProblem, CreatedApiKeySchema, CreatedTenantSchema } from '../openapi.js';
import { problems } from '../problem.js';

const uuidPipe = new ParseUUIDPipe({ exceptionFactory: () => problems.notFound() });

@ApiTags('admin')
@ApiBearerAuth()
@ApiProblem(401, 'Missing or wrong ADMIN_TOKEN.')
@ApiProblem(404, 'ADMIN_TOKEN is not set, or the tenant/key does not exist.')
@ApiProblem(503, 'PostgreSQL is unavailable (Retry-After).')
@Controller('admin')
@UseGuards(AdminGuard)
export class AdminController {
  constructor(@Inject(TENANTS_ORCHESTRATOR) private readonly tenants: TenantsOrchestrator) {}

  @Post('tenants')
  @HttpCode(201)
  @ApiOperation({ operationId: 'createTenant', summary: 'Create a tenant and its first API key (shown once).' })
  @ApiCreatedResponse({ type: CreatedTenantSchema, description: 'The tenant and its first API key.' })
  @ApiProblem(400, 'Invalid or malformed body.')
  @ApiProblem(413, 'The body exceeds MAX_BODY_BYTES.')
  createTenant(@Body() body: CreateTenantDto) {
    return this.tenants.createTenant(body.name);
  }

  @Post('tenants/:tenantId/api-keys')
  @HttpCode(201)
  @ApiOperation({ operationId: 'createApiKey', summary: 'Create another API key for a tenant (shown once).' })
  @ApiCreatedResponse({ type: CreatedApiKeySchema, description: 'The new API key.' })
  createApiKey(@Param('tenantId', uuidPipe) tenantId: string) {
    return this.tenants.createApiKey(tenantId);
  }

  @Delete('api-keys/:keyId')
  @HttpCode(204)
  @ApiOperation({ operationId: 'revokeApiKey', summary: 'Revoke an API key, at once.' })
  @ApiNoContentResponse({
    description: 'Revoked (also when it already was): every API process refuses the key from now on (each confirmed it).',
  })
  @ApiProblem(
    503,
    'PostgreSQL is unavailable, or revocation-unconfirmed: revoked, but not every API process confirmed it in time; retry (Retry-After).',
  )
  async revokeApiKey(@Param('keyId', uuidPipe) keyId: string): Promise<void> {
    await this.tenants.revokeApiKey(keyId);
  }
}
