import { IsNull, type EntityManager } from 'typeorm';
import { queryRows } from '../../infra/database/sql.js';
import { ApiKeyEntity } from '../entities/api-key.entity.js';
import { TenantEntity } from '../entities/tenant.entity.js';

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  createdAt: Date;
}

/** Tenants and their API keys. Never opens a transaction: it works in the manager it is handed. */
export class TenantStoreDriver {
  async insertTenant(manager: EntityManager, id: string, name: string): Promise<TenantEntity> {
    const repo = manager.getRepository(TenantEntity);
    await repo.insert({ id, name });
    return repo.findOneByOrFail({ id });
  }

  async tenantExists(manager: EntityManager, id: string): Promise<boolean> {
    return manager.getRepository(TenantEntity).existsBy({ id });
  }

  async insertApiKey(manager: EntityManager, id: string, tenantId: string, keyHash: string): Promise<ApiKeyRecord> {
    const repo = manager.getRepository(ApiKeyEntity);
    await repo.insert({ id, tenantId, keyHash, revokedAt: null });
    const row = await repo.findOneByOrFail({ id });
    return { id: row.id, tenantId: row.tenantId, createdAt: row.createdAt };
  }

  /** The tenant of a live (not revoked) key with this hash, or null. */
  async findTenantIdByKeyHash(manager: EntityManager, keyHash: string): Promise<string | null> {
    const rows: Array<{ tenant_id: string }> = await queryRows(
      manager,
      'SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [keyHash],
    );
    return rows[0]?.tenant_id ?? null;
  }

  /** Revokes a key; false when no live key has this id. */
  async revokeApiKey(manager: EntityManager, id: string, at: Date): Promise<boolean> {
    const result = await manager.getRepository(ApiKeyEntity).update({ id, revokedAt: IsNull() }, { revokedAt: at });
    return (result.affected ?? 0) > 0;
  }

  async apiKeyExists(manager: EntityManager, id: string): Promise<boolean> {
    return manager.getRepository(ApiKeyEntity).existsBy({ id });
  }
}
