import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How a checked step of a replay was compared (what-if replays): `{ mode, passed, score, reason,
 * ignored_paths }`, returned by the trace. Null for steps that were not checked (and rows written before).
 */
export class StepComparisons1763885620000 implements MigrationInterface {
  name = 'StepComparisons1763885620000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE run_steps ADD COLUMN comparison json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE run_steps DROP COLUMN comparison`);
  }
}
