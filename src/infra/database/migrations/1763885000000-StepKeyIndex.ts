import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Finds a completed keyed step in the trace: the durable record behind the step idempotency store. */
export class StepKeyIndex1763885000000 implements MigrationInterface {
  name = 'StepKeyIndex1763885000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX run_steps_completed_key_idx ON run_steps (idempotency_key, finished_at) WHERE idempotency_key IS NOT NULL AND status = 'succeeded'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX run_steps_completed_key_idx`);
  }
}
