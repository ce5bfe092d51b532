import { Body, Controller, Delete, HttpCode, Inject, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { TENANTS_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { TenantsOrchestrator } from '../../spine/orchestrator/tenants.orchestrator.js';
import { CreateTenantDto } from '../dto/admin.dto.js';
import { AdminGuard } from '../guards/admin.guard.js';
import { CreatedApiKeySchema, CreatedTenantSchema, ProblemSchema } from '../openapi.js';
import { problems } from '../problem.js';

const uuidPipe = new ParseUUIDPipe({ exceptionFactory: () => problems.notFound() });

@ApiTags('admin')
@ApiBearerAuth()
@ApiResponse({ status: 401, type: ProblemSchema, description: 'Missing or wrong ADMIN_TOKEN.' })
@ApiResponse({ status: 404, type: ProblemSchema, description: 'ADMIN_TOKEN is not set, or the tenant/key does not exist.' })
@Controller('admin')
@UseGuards(AdminGuard)
export class AdminController {
  constructor(@Inject(TENANTS_ORCHESTRATOR) private readonly tenants: TenantsOrchestrator) {}

  @Post('tenants')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a tenant and its first API key (shown once).' })
  @ApiCreatedResponse({ type: CreatedTenantSchema })
  createTenant(@Body() body: CreateTenantDto) {
    return this.tenants.createTenant(body.name);
  }

  @Post('tenants/:tenantId/api-keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create another API key for a tenant (shown once).' })
  @ApiCreatedResponse({ type: CreatedApiKeySchema })
  createApiKey(@Param('tenantId', uuidPipe) tenantId: string) {
    return this.tenants.createApiKey(tenantId);
  }

  @Delete('api-keys/:keyId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key, at once.' })
  @ApiNoContentResponse()
  async revokeApiKey(@Param('keyId', uuidPipe) keyId: string): Promise<void> {
    await this.tenants.revokeApiKey(keyId);
  }
}
