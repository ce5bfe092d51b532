import type { EntityManager } from 'typeorm';
import { queryRows } from '../../../infra/database/sql.js';
import type { StepError, StepRecord, StepSpec } from '../trace.types.js';
import type { ReplayResult } from './replay-enforcer.driver.js';

const COLUMNS = `index, name, skill, params, replay_behavior, idempotency_key, status, output, output_hash,
  executed, skipped, checked, from_cache, expected_hash, mismatch, error, attempts, started_at, finished_at, duration_ms`;

interface StepRow extends Omit<StepRecord, 'output_hash' | 'expected_hash'> {
  output_hash: string | null;
  expected_hash: string | null;
}

/** Trace rows (run_steps), owned by the logs domain. Works in the manager it is handed. */
export class TraceStoreDriver {
  async getSteps(manager: EntityManager, runId: string): Promise<StepRecord[]> {
    const rows: StepRow[] = await queryRows(manager, `SELECT ${COLUMNS} FROM run_steps WHERE run_id = $1 ORDER BY index`, [runId]);
    return rows;
  }

  /** The step starts (again): status running, one more attempt, the params as resolved now. */
  async markStarted(manager: EntityManager, runId: string, index: number, spec: StepSpec, params: unknown, at: Date): Promise<void> {
    await queryRows(manager,
      `INSERT INTO run_steps (run_id, index, name, skill, params, replay_behavior, idempotency_key, status, attempts, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', 1, $8)
       ON CONFLICT (run_id, index) DO UPDATE SET
         params = EXCLUDED.params, status = 'running', attempts = run_steps.attempts + 1, started_at = EXCLUDED.started_at,
         error = NULL, finished_at = NULL, duration_ms = NULL`,
      [runId, index, spec.name, spec.skill, JSON.stringify(params), spec.replay_behavior, spec.idempotency_key, at],
    );
  }

  async markSucceeded(manager: EntityManager, runId: string, index: number, result: ReplayResult, at: Date, durationMs: number): Promise<void> {
    await queryRows(manager,
      `UPDATE run_steps SET status = 'succeeded', output = $3, output_hash = $4, executed = $5, skipped = $6, checked = $7,
         from_cache = $8, expected_hash = $9, mismatch = $10, error = NULL, finished_at = $11, duration_ms = $12
       WHERE run_id = $1 AND index = $2`,
      [
        runId, index, JSON.stringify(result.output_data), result.output_hash, result.executed, result.skipped, result.checked,
        result.from_cache, result.expected_hash, result.mismatch ? JSON.stringify(result.mismatch) : null, at, durationMs,
      ],
    );
  }

  async markFailed(manager: EntityManager, runId: string, index: number, error: StepError, at: Date, durationMs: number): Promise<void> {
    await queryRows(manager,
      `UPDATE run_steps SET status = 'failed', error = $3, finished_at = $4, duration_ms = $5 WHERE run_id = $1 AND index = $2`,
      [runId, index, JSON.stringify(error), at, durationMs],
    );
  }

  /** Steps from `fromIndex` on that have not finished become `cancelled` (recorded if never started). */
  async cancelRemaining(manager: EntityManager, runId: string, plan: readonly StepSpec[], fromIndex: number, at: Date): Promise<void> {
    for (let index = fromIndex; index < plan.length; index++) {
      const spec = plan[index]!;
      await queryRows(manager,
        `INSERT INTO run_steps (run_id, index, name, skill, params, replay_behavior, idempotency_key, status, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'cancelled', $8)
         ON CONFLICT (run_id, index) DO UPDATE SET status = 'cancelled', finished_at = EXCLUDED.finished_at
           WHERE run_steps.status IN ('pending', 'running')`,
        [runId, index, spec.name, spec.skill, JSON.stringify(spec.params), spec.replay_behavior, spec.idempotency_key, at],
      );
    }
  }
}
