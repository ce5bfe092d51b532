import type { EntityManager } from 'typeorm';
import { queryRows } from '../../../infra/database/sql.js';
import type { SealedSecret } from './secret-cipher.js';

export interface SecretSummary {
  name: string;
  created_at: Date;
  updated_at: Date;
}

export interface StoredSecret extends SealedSecret {
  name: string;
}

interface SecretRow {
  name: string;
  key_id: string;
  iv: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
}

/** Tenant secrets as sealed rows (tenant_secrets). Every statement is scoped by tenant. Works in the manager it is handed. */
export class SecretStoreDriver {
  /** Creates or replaces a secret; `created_at` stays from the first write. */
  async upsert(manager: EntityManager, tenantId: string, name: string, sealed: SealedSecret, at: Date): Promise<void> {
    await queryRows(
      manager,
      `INSERT INTO tenant_secrets (tenant_id, name, key_id, iv, ciphertext, auth_tag, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT (tenant_id, name) DO UPDATE SET
         key_id = EXCLUDED.key_id, iv = EXCLUDED.iv, ciphertext = EXCLUDED.ciphertext, auth_tag = EXCLUDED.auth_tag,
         updated_at = EXCLUDED.updated_at`,
      [tenantId, name, sealed.keyId, sealed.iv, sealed.ciphertext, sealed.tag, at],
    );
  }

  /** Names and dates of a tenant's secrets, by name; never the sealed values. */
  async list(manager: EntityManager, tenantId: string): Promise<SecretSummary[]> {
    return queryRows<SecretSummary>(
      manager,
      'SELECT name, created_at, updated_at FROM tenant_secrets WHERE tenant_id = $1 ORDER BY name COLLATE "C"',
      [tenantId],
    );
  }

  /** False when the tenant has no secret of that name. */
  async delete(manager: EntityManager, tenantId: string, name: string): Promise<boolean> {
    const rows = await queryRows(manager, 'DELETE FROM tenant_secrets WHERE tenant_id = $1 AND name = $2 RETURNING name', [tenantId, name]);
    return rows.length > 0;
  }

  /** Which of `names` the tenant has. */
  async existingNames(manager: EntityManager, tenantId: string, names: readonly string[]): Promise<string[]> {
    const rows = await queryRows<{ name: string }>(manager, 'SELECT name FROM tenant_secrets WHERE tenant_id = $1 AND name = ANY($2)', [
      tenantId,
      [...names],
    ]);
    return rows.map((r) => r.name);
  }

  /** The sealed values of those of `names` the tenant has. */
  async findSealed(manager: EntityManager, tenantId: string, names: readonly string[]): Promise<StoredSecret[]> {
    const rows = await queryRows<SecretRow>(
      manager,
      'SELECT name, key_id, iv, ciphertext, auth_tag FROM tenant_secrets WHERE tenant_id = $1 AND name = ANY($2)',
      [tenantId, [...names]],
    );
    return rows.map((r) => ({ name: r.name, keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, tag: r.auth_tag }));
  }
}
