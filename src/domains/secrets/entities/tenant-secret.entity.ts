import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A tenant's secret, encrypted at rest (AES-256-GCM); its value is never stored or returned in clear. */
@Entity({ name: 'tenant_secrets' })
export class TenantSecretEntity {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId!: string;

  @PrimaryColumn('text')
  name!: string;

  /** Which key sealed the value (so keys can be rotated). */
  @Column('text', { name: 'key_id' })
  keyId!: string;

  @Column('bytea')
  iv!: Buffer;

  @Column('bytea')
  ciphertext!: Buffer;

  @Column('bytea', { name: 'auth_tag' })
  authTag!: Buffer;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
