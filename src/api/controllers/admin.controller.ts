import { Body, Controller, Delete, HttpCode, Inject, Param, ParseUUIDPipe, Post, UseGuards } from '@nestjs/common';
import { TENANTS_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { TenantsOrchestrator } from '../../spine/orchestrator/tenants.orchestrator.js';
import { CreateTenantDto } from '../dto/admin.dto.js';
import { AdminGuard } from '../guards/admin.guard.js';
import { problems } from '../problem.js';

const uuidPipe = new ParseUUIDPipe({ exceptionFactory: () => problems.notFound() });

@Controller('admin')
@UseGuards(AdminGuard)
export class AdminController {
  constructor(@Inject(TENANTS_ORCHESTRATOR) private readonly tenants: TenantsOrchestrator) {}

  @Post('tenants')
  @HttpCode(201)
  createTenant(@Body() body: CreateTenantDto) {
    return this.tenants.createTenant(body.name);
  }

  @Post('tenants/:tenantId/api-keys')
  @HttpCode(201)
  createApiKey(@Param('tenantId', uuidPipe) tenantId: string) {
    return this.tenants.createApiKey(tenantId);
  }

  @Delete('api-keys/:keyId')
  @HttpCode(204)
  async revokeApiKey(@Param('keyId', uuidPipe) keyId: string): Promise<void> {
    await this.tenants.revokeApiKey(keyId);
  }
}
