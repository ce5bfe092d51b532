import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Replay batches: one row per batch, its items frozen at creation (one per original run, in the
 * filter's order), and request keys of batch creation. A replay run started for an item points to its
 * batch (`runs.batch_id`); the unique index on (batch_id, replay_of) makes a second replay run of one
 * item impossible, whatever crashes and retries happen between the steps that start it.
 *
 * Items name their runs without foreign keys, as `runs.replay_of` does since run retention: a finished
 * batch keeps its items (ids and verdicts) after RUN_RETENTION_DAYS purged their runs, and the purge
 * keeps the originals of items not finished yet.
 */
export class ReplayBatches1763885800000 implements MigrationInterface {
  name = 'ReplayBatches1763885800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE replay_batches (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        status text NOT NULL CHECK (status IN ('running','completed','cancelled')),
        filter json NOT NULL,
        replay json NOT NULL,
        total int NOT NULL,
        idempotency_key text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        finished_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX replay_batches_seq_uq ON replay_batches (seq)`);
    await q.query(`CREATE INDEX replay_batches_tenant_seq_idx ON replay_batches (tenant_id, seq DESC)`);
    await q.query(`CREATE INDEX replay_batches_running_idx ON replay_batches (updated_at) WHERE status = 'running'`);
    // The key row is written first in the creating transaction, before its batch: checked at commit.
    await q.query(`
      CREATE TABLE replay_batch_keys (
        tenant_id uuid NOT NULL,
        key text NOT NULL,
        fingerprint char(64) NOT NULL,
        batch_id uuid NOT NULL REFERENCES replay_batches(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, key)
      )`);
    await q.query(`CREATE INDEX replay_batch_keys_expires_idx ON replay_batch_keys (expires_at)`);
    await q.query(`ALTER TABLE runs ADD COLUMN batch_id uuid REFERENCES replay_batches(id) ON DELETE CASCADE`);
    await q.query(`CREATE UNIQUE INDEX runs_batch_replay_uq ON runs (batch_id, replay_of) WHERE batch_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE replay_batch_items (
        batch_id uuid NOT NULL REFERENCES replay_batches(id) ON DELETE CASCADE,
        position int NOT NULL,
        run_id uuid NOT NULL,
        state text NOT NULL CHECK (state IN ('pending','running','match','mismatch','failed','cancelled')),
        replay_run_id uuid,
        first_mismatch_step int,
        reason text,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (batch_id, position),
        UNIQUE (batch_id, run_id),
        CHECK ((state = 'running') <= (replay_run_id IS NOT NULL))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX replay_batch_items_replay_run_uq ON replay_batch_items (replay_run_id) WHERE replay_run_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX replay_batch_items_open_idx ON replay_batch_items (batch_id, position) WHERE state IN ('pending','running')`,
    );
    // Run retention keeps the originals of open items (the purge looks them up by run id).
    await q.query(`CREATE INDEX replay_batch_items_open_run_idx ON replay_batch_items (run_id) WHERE state IN ('pending','running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE replay_batch_items`);
    await q.query(`DROP INDEX runs_batch_replay_uq`);
    await q.query(`ALTER TABLE runs DROP COLUMN batch_id`);
    await q.query(`DROP TABLE replay_batch_keys`);
    await q.query(`DROP TABLE replay_batches`);
  }
}
