import type { EntityManager } from 'typeorm';
import { queryRows, sql } from '../../../infra/database/sql.js';
import type { SealedSecret } from './secret-cipher.js';
import { TENANT_SECRETS, type TenantSecretRow } from './tenant-secrets.table.js';

export type SecretSummary = Pick<TenantSecretRow, 'name' | 'created_at' | 'updated_at'>;

export interface StoredSecret extends SealedSecret {
  name: string;
}

/** Tenant secrets as sealed rows (tenant_secrets). Every statement is scoped by tenant. Works in the manager it is handed. */
export class SecretStoreDriver {
  /** Creates or replaces a secret; `created_at` stays from the first write. */
  async upsert(manager: EntityManager, tenantId: string, name: string, sealed: SealedSecret, at: Date): Promise<void> {
    const row = {
      tenant_id: tenantId,
      name,
      key_id: sealed.keyId,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
      auth_tag: sealed.tag,
      created_at: at,
      updated_at: at,
    };
    await queryRows(
      manager,
      sql`${TENANT_SECRETS.insert(row)}
       ON CONFLICT (tenant_id, name) DO UPDATE SET ${TENANT_SECRETS.setExcluded(['key_id', 'iv', 'ciphertext', 'auth_tag', 'updated_at'])}`,
    );
  }

  /** Names and dates of a tenant's secrets, by name; never the sealed values. */
  async list(manager: EntityManager, tenantId: string): Promise<SecretSummary[]> {
    return queryRows<SecretSummary>(
      manager,
      sql`SELECT ${TENANT_SECRETS.columns(['name', 'created_at', 'updated_at'])} FROM tenant_secrets
       WHERE tenant_id = ${tenantId} ORDER BY name COLLATE "C"`,
    );
  }

  /** False when the tenant has no secret of that name. */
  async delete(manager: EntityManager, tenantId: string, name: string): Promise<boolean> {
    const rows = await queryRows(manager, sql`DELETE FROM tenant_secrets WHERE tenant_id = ${tenantId} AND name = ${name} RETURNING name`);
    return rows.length > 0;
  }

  /** Which of `names` the tenant has. */
  async existingNames(manager: EntityManager, tenantId: string, names: readonly string[]): Promise<string[]> {
    const rows = await queryRows<Pick<TenantSecretRow, 'name'>>(
      manager,
      sql`SELECT name FROM tenant_secrets WHERE tenant_id = ${tenantId} AND name = ANY(${[...names]}::text[])`,
    );
    return rows.map((r) => r.name);
  }

  /** The sealed values of those of `names` the tenant has. */
  async findSealed(manager: EntityManager, tenantId: string, names: readonly string[]): Promise<StoredSecret[]> {
    const rows = await queryRows<Pick<TenantSecretRow, 'name' | 'key_id' | 'iv' | 'ciphertext' | 'auth_tag'>>(
      manager,
      sql`SELECT ${TENANT_SECRETS.columns(['name', 'key_id', 'iv', 'ciphertext', 'auth_tag'])} FROM tenant_secrets
       WHERE tenant_id = ${tenantId} AND name = ANY(${[...names]}::text[])`,
    );
    return rows.map((r) => ({ name: r.name, keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, tag: r.auth_tag }));
  }
}
