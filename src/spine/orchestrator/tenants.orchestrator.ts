import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CLOCK, type Clock } from '../../infra/clock.js';
import { TENANT_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import type { TenantStoreDriver } from '../drivers/tenant-store.driver.js';
import { SpineErrorCode, SpineException } from '../spine.exception.js';
import { generateApiKey, hashApiKey } from './api-key-secret.js';

export interface CreatedTenant {
  id: string;
  name: string;
  api_key: string;
  created_at: Date;
}

export interface CreatedApiKey {
  id: string;
  api_key: string;
  created_at: Date;
}

/** Tenants and API keys: creation, revocation and authentication of a presented key. */
@Injectable()
export class TenantsOrchestrator {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(TENANT_STORE_DRIVER) private readonly tenants: TenantStoreDriver,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** One transaction: the tenant and its first key exist together or not at all. */
  async createTenant(name: string): Promise<CreatedTenant> {
    const secret = generateApiKey();
    return this.dataSource.transaction(async (manager) => {
      const tenant = await this.tenants.insertTenant(manager, randomUUID(), name);
      await this.tenants.insertApiKey(manager, randomUUID(), tenant.id, hashApiKey(secret));
      return { id: tenant.id, name: tenant.name, api_key: secret, created_at: tenant.created_at };
    });
  }

  async createApiKey(tenantId: string): Promise<CreatedApiKey> {
    const secret = generateApiKey();
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.tenants.tenantExists(manager, tenantId))) {
        throw new SpineException(SpineErrorCode.TenantNotFound, `Tenant ${tenantId} does not exist.`);
      }
      const key = await this.tenants.insertApiKey(manager, randomUUID(), tenantId, hashApiKey(secret));
      return { id: key.id, api_key: secret, created_at: key.created_at };
    });
  }

  /** Revocation takes effect at once: authentication reads the database on every request. */
  async revokeApiKey(keyId: string): Promise<void> {
    const manager = this.dataSource.manager;
    if (await this.tenants.revokeApiKey(manager, keyId, this.clock.now())) return;
    if (await this.tenants.apiKeyExists(manager, keyId)) return; // already revoked: idempotent
    throw new SpineException(SpineErrorCode.ApiKeyNotFound, `API key ${keyId} does not exist.`);
  }

  /** The tenant id of a live key, or null for an unknown or revoked one. */
  async authenticate(secret: string): Promise<string | null> {
    return this.tenants.findTenantIdByKeyHash(this.dataSource.manager, hashApiKey(secret));
  }
}
