import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lease of the attempt that holds a running run. Another worker takes a `running` run only once
 * its lease has expired; `attempts` is the fencing token every write of an attempt is conditioned on.
 */
export class RunLease1763885100000 implements MigrationInterface {
  name = 'RunLease1763885100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN lease_expires_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs DROP COLUMN lease_expires_at`);
  }
}
