import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenant secrets, encrypted (AES-256-GCM; the key id beside each value so keys can be rotated), and the
 * fingerprint of each recorded step: params are recorded masked and redacted, so the fingerprint a
 * step key is bound to can no longer be computed again from them.
 */
export class TenantSecrets1763885400000 implements MigrationInterface {
  name = 'TenantSecrets1763885400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenant_secrets (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        key_id text NOT NULL,
        iv bytea NOT NULL,
        ciphertext bytea NOT NULL,
        auth_tag bytea NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, name)
      )`);
    await q.query(`ALTER TABLE run_steps ADD COLUMN fingerprint char(64)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE run_steps DROP COLUMN fingerprint`);
    await q.query(`DROP TABLE tenant_secrets`);
  }
}
