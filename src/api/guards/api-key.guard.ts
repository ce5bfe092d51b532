import { type CanActivate, type ExecutionContext, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import { TENANTS_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { TenantsOrchestrator } from '../../spine/orchestrator/tenants.orchestrator.js';
import { problems } from '../problem.js';

export type AuthenticatedRequest = Request & { tenantId: string };

/** Extracts the secret of an `Authorization: Bearer <secret>` header, or null. */
export function bearerToken(req: Request): string | null {
  const header = req.header('authorization');
  if (!header) return null;
  const match = /^Bearer[ \t]+([\x21-\x7e]{1,512})[ \t]*$/i.exec(header);
  return match ? match[1] : null;
}

/** Guards /v1: a live API key is required; the request carries its tenant from here on. */
@Injectable()
export class ApiKeyGuard implements CanActivate, OnModuleInit {
  constructor(@Inject(TENANTS_ORCHESTRATOR) private readonly tenants: TenantsOrchestrator) {}

  /** The API authenticates: its process listens for revoked keys from boot on (see TenantsOrchestrator). */
  onModuleInit(): void {
    this.tenants.watchRevocations();
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const secret = bearerToken(req);
    if (!secret) throw problems.unauthorized('An API key is required: Authorization: Bearer <api_key>.');
    const tenantId = await this.tenants.authenticate(secret);
    if (!tenantId) throw problems.unauthorized('The API key is unknown or revoked.');
    req.tenantId = tenantId;
    return true;
  }
}
