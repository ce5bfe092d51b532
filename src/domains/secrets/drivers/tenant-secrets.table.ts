import { Table } from '../../../infra/database/sql.js';

/** A tenant's secret as stored: encrypted (AES-256-GCM); its value is never stored or returned in clear. */
export interface TenantSecretRow {
  tenant_id: string;
  name: string;
  /** Which key sealed the value (so keys can be rotated). */
  key_id: string;
  iv: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
  created_at: Date;
  updated_at: Date;
}

/** The secrets table, described once (see `Table`); the migrations define the schema. */
export const TENANT_SECRETS = new Table<TenantSecretRow>('tenant_secrets', {
  tenant_id: 'uuid',
  name: 'text',
  key_id: 'text',
  iv: 'bytea',
  ciphertext: 'bytea',
  auth_tag: 'bytea',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
});
