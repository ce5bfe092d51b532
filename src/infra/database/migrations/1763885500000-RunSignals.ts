import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signals and waiting runs. A signal is kept with its run, one per name. A `waiting` run records what
 * it waits for (`wait_signal` at step `wait_step`) and until when (`wait_until`: the durable timer the
 * sweep and a delayed job fire); `waits` counts the attempts that ended by waiting, so pauses do not use
 * up RUN_MAX_ATTEMPTS.
 */
export class RunSignals1763885500000 implements MigrationInterface {
  name = 'RunSignals1763885500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs ADD COLUMN wait_signal text, ADD COLUMN wait_step int, ADD COLUMN wait_until timestamptz,
      ADD COLUMN waits int NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE runs DROP CONSTRAINT runs_status_check`);
    await q.query(
      `ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN ('queued','running','retry','waiting','succeeded','failed','cancelled'))`,
    );
    await q.query(`CREATE INDEX runs_waiting_until_idx ON runs (wait_until) WHERE status = 'waiting'`);
    await q.query(`CREATE TABLE run_signals (
      run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      name text NOT NULL,
      payload json NOT NULL,
      payload_hash char(64) NOT NULL,
      idempotency_key text,
      received_at timestamptz NOT NULL,
      PRIMARY KEY (run_id, name)
    )`);
    await q.query(
      `CREATE UNIQUE INDEX run_signals_idempotency_key_idx ON run_signals (run_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE run_signals`);
    await q.query(`DROP INDEX runs_waiting_until_idx`);
    await q.query(`ALTER TABLE runs DROP CONSTRAINT runs_status_check`);
    await q.query(
      `ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN ('queued','running','retry','succeeded','failed','cancelled'))`,
    );
    await q.query(`ALTER TABLE runs DROP COLUMN wait_signal, DROP COLUMN wait_step, DROP COLUMN wait_until, DROP COLUMN waits`);
  }
}
