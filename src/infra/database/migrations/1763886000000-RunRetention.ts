import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Run retention (RUN_RETENTION_DAYS). Finished runs are purged in batches, oldest finish first, so the
 * finished runs get an index on `finished_at`; an original with a replay still in progress is kept, so
 * unfinished replays are indexed by `replay_of`.
 *
 * Two foreign keys go:
 * - `runs.replay_of`: an original and its replays are purged each on its own schedule; a replay whose
 *   original was purged keeps `replay_of` (the id of a run that no longer exists: GET answers 404) and
 *   everything it recorded of its own (trace, verdict, mismatches).
 * - `run_idempotency_keys.run_id`: every deleted run would otherwise look for its key rows by `run_id`,
 *   which has no index (the table is keyed by tenant, agent and key). A key lives at most
 *   IDEMPOTENCY_TTL_SECONDS, which RUN_RETENTION_DAYS must cover, and expired keys are purged by the
 *   sweep, so no live key points to a purged run (a dangling expired key is taken over like any expired key).
 */
export class RunRetention1763886000000 implements MigrationInterface {
  name = 'RunRetention1763886000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE runs DROP CONSTRAINT IF EXISTS runs_replay_of_fkey`);
    await q.query(`ALTER TABLE run_idempotency_keys DROP CONSTRAINT IF EXISTS run_idempotency_keys_run_id_fkey`);
    await q.query(`CREATE INDEX runs_finished_idx ON runs (finished_at) WHERE status IN ('succeeded','failed','cancelled')`);
    await q.query(
      `CREATE INDEX runs_open_replays_idx ON runs (replay_of) WHERE replay_of IS NOT NULL AND status IN ('queued','running','retry','waiting')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX runs_open_replays_idx`);
    await q.query(`DROP INDEX runs_finished_idx`);
    await q.query(
      `ALTER TABLE run_idempotency_keys ADD CONSTRAINT run_idempotency_keys_run_id_fkey FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE`,
    );
    await q.query(`ALTER TABLE runs ADD CONSTRAINT runs_replay_of_fkey FOREIGN KEY (replay_of) REFERENCES runs(id)`);
  }
}
