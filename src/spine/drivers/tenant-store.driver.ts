import type { EntityManager } from 'typeorm';
import { queryRows, sql } from '../../infra/database/sql.js';
import { API_KEYS, TENANTS, type ApiKeyRecord, type TenantRecord } from './spine.tables.js';

/** Tenants and their API keys. Never opens a transaction: it works in the manager it is handed. */
export class TenantStoreDriver {
  /** `created_at` is the database's now() (the transaction's start). */
  async insertTenant(manager: EntityManager, id: string, name: string): Promise<TenantRecord> {
    const rows = await queryRows<TenantRecord>(manager, sql`${TENANTS.insert({ id, name })} RETURNING ${TENANTS.columns()}`);
    return rows[0];
  }

  async tenantExists(manager: EntityManager, id: string): Promise<boolean> {
    const rows = await queryRows(manager, sql`SELECT 1 FROM tenants WHERE id = ${id}`);
    return rows.length > 0;
  }

  async insertApiKey(manager: EntityManager, id: string, tenantId: string, keyHash: string): Promise<ApiKeyRecord> {
    const rows = await queryRows<ApiKeyRecord>(
      manager,
      sql`${API_KEYS.insert({ id, tenant_id: tenantId, key_hash: keyHash, revoked_at: null })} RETURNING ${API_KEYS.columns()}`,
    );
    return rows[0];
  }

  /** The live (not revoked) key with this hash (its id and tenant), or null. */
  async findLiveKeyByHash(manager: EntityManager, keyHash: string): Promise<Pick<ApiKeyRecord, 'id' | 'tenant_id'> | null> {
    const rows = await queryRows<Pick<ApiKeyRecord, 'id' | 'tenant_id'>>(
      manager,
      sql`SELECT id, tenant_id FROM api_keys WHERE key_hash = ${keyHash} AND revoked_at IS NULL`,
      { prepared: true },
    );
    return rows[0] ?? null;
  }

  /** Revokes a key; false when no live key has this id. */
  async revokeApiKey(manager: EntityManager, id: string, at: Date): Promise<boolean> {
    const rows = await queryRows(manager, sql`UPDATE api_keys SET revoked_at = ${at} WHERE id = ${id} AND revoked_at IS NULL RETURNING id`);
    return rows.length > 0;
  }

  async apiKeyExists(manager: EntityManager, id: string): Promise<boolean> {
    const rows = await queryRows(manager, sql`SELECT 1 FROM api_keys WHERE id = ${id}`);
    return rows.length > 0;
  }
}
