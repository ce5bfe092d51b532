import type { EntityManager } from 'typeorm';
import { queryRows } from '../../../infra/database/sql.js';
import type { StepError, StepRecord, StepSpec } from '../../../shared/step.types.js';
import type { ReplayResult } from './replay-enforcer.driver.js';

const COLUMNS = `index, name, skill, params, replay_behavior, idempotency_key, status, output, output_hash,
  executed, skipped, checked, from_cache, expected_hash, mismatch, error, attempts, started_at, finished_at, duration_ms`;

export interface CompletedKeyRecord {
  skill: string;
  params: unknown;
  output: unknown;
  output_hash: string;
  finished_at: Date;
}

/** The output of a step that executed and succeeded (what its usage is read from). */
export interface ExecutedOutput {
  run_id: string;
  index: number;
  skill: string;
  output: unknown;
}

/** One execution attempt of a step: what its trace row is written from. */
export interface StepAttempt {
  runId: string;
  index: number;
  /** The step as planned, with the replay behavior applied in this run. */
  spec: StepSpec;
  /** Params as resolved for this execution. */
  params: unknown;
  /** 1 for the first execution of the step, then one more per retry or resume. */
  attempt: number;
  startedAt: Date;
}

function attemptParams(a: StepAttempt): unknown[] {
  return [
    a.runId,
    a.index,
    a.spec.name,
    a.spec.skill,
    JSON.stringify(a.params),
    a.spec.replay_behavior,
    a.spec.idempotency_key,
    a.attempt,
    a.startedAt,
  ];
}

/** Trace rows (run_steps), owned by the logs domain. Works in the manager it is handed. */
export class TraceStoreDriver {
  async getSteps(manager: EntityManager, runId: string): Promise<StepRecord[]> {
    return queryRows<StepRecord>(manager, `SELECT ${COLUMNS} FROM run_steps WHERE run_id = $1 ORDER BY index`, [runId]);
  }

  /**
   * Records that an attempt of a step is running (a step still running after a short delay; fast steps
   * skip this write). Never overwrites the row of this attempt or a later one, so it may land after
   * the attempt's final write.
   */
  async markRunning(manager: EntityManager, a: StepAttempt): Promise<void> {
    await queryRows(
      manager,
      `INSERT INTO run_steps (run_id, index, name, skill, params, replay_behavior, idempotency_key, status, attempts, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9)
       ON CONFLICT (run_id, index) DO UPDATE SET
         params = EXCLUDED.params, replay_behavior = EXCLUDED.replay_behavior, status = 'running', attempts = EXCLUDED.attempts,
         started_at = EXCLUDED.started_at, error = NULL, finished_at = NULL, duration_ms = NULL
       WHERE run_steps.attempts < EXCLUDED.attempts`,
      [...attemptParams(a)],
    );
  }

  async markSucceeded(manager: EntityManager, a: StepAttempt, result: ReplayResult, at: Date): Promise<void> {
    await queryRows(
      manager,
      `INSERT INTO run_steps (run_id, index, name, skill, params, replay_behavior, idempotency_key, status, attempts, started_at,
         output, output_hash, executed, skipped, checked, from_cache, expected_hash, mismatch, finished_at, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'succeeded', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
       ON CONFLICT (run_id, index) DO UPDATE SET
         params = EXCLUDED.params, replay_behavior = EXCLUDED.replay_behavior, status = 'succeeded', attempts = EXCLUDED.attempts,
         started_at = EXCLUDED.started_at, output = EXCLUDED.output, output_hash = EXCLUDED.output_hash, executed = EXCLUDED.executed,
         skipped = EXCLUDED.skipped, checked = EXCLUDED.checked, from_cache = EXCLUDED.from_cache, expected_hash = EXCLUDED.expected_hash,
         mismatch = EXCLUDED.mismatch, error = NULL, finished_at = EXCLUDED.finished_at, duration_ms = EXCLUDED.duration_ms`,
      [
        ...attemptParams(a),
        JSON.stringify(result.output_data),
        result.output_hash,
        result.executed,
        result.skipped,
        result.checked,
        result.from_cache,
        result.expected_hash,
        result.mismatch ? JSON.stringify(result.mismatch) : null,
        at,
        at.getTime() - a.startedAt.getTime(),
      ],
    );
  }

  async markFailed(manager: EntityManager, a: StepAttempt, error: StepError, at: Date): Promise<void> {
    await queryRows(
      manager,
      `INSERT INTO run_steps (run_id, index, name, skill, params, replay_behavior, idempotency_key, status, attempts, started_at, error, finished_at, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'failed', $8, $9, $10, $11, $12)
       ON CONFLICT (run_id, index) DO UPDATE SET
         params = EXCLUDED.params, replay_behavior = EXCLUDED.replay_behavior, status = 'failed', attempts = EXCLUDED.attempts,
         started_at = EXCLUDED.started_at, output = NULL, output_hash = NULL, error = EXCLUDED.error, finished_at = EXCLUDED.finished_at,
         duration_ms = EXCLUDED.duration_ms`,
      [...attemptParams(a), JSON.stringify(error), at, at.getTime() - a.startedAt.getTime()],
    );
  }

  /**
   * The earliest step of the tenant that executed this idempotency key and finished after `since`: the
   * durable record of a completed key, for when the step store (Redis) has lost it. Steps that took the
   * key's result from the cache are not executions: they never extend the key's lifetime.
   */
  async findCompletedKey(manager: EntityManager, tenantId: string, key: string, since: Date): Promise<CompletedKeyRecord | null> {
    const rows: CompletedKeyRecord[] = await queryRows(
      manager,
      `SELECT s.skill, s.params, s.output, s.output_hash, s.finished_at
       FROM run_steps s JOIN runs r ON r.id = s.run_id
       WHERE s.idempotency_key = $2 AND s.status = 'succeeded' AND s.executed AND s.finished_at > $3 AND r.tenant_id = $1
       ORDER BY s.finished_at LIMIT 1`,
      [tenantId, key, since],
    );
    return rows[0] ?? null;
  }

  /** Steps from `fromIndex` on that have not finished become `cancelled` (recorded if never started). */
  async cancelRemaining(manager: EntityManager, runId: string, plan: readonly StepSpec[], fromIndex: number, at: Date): Promise<void> {
    for (let index = fromIndex; index < plan.length; index++) {
      const spec = plan[index];
      await queryRows(
        manager,
        `INSERT INTO run_steps (run_id, index, name, skill, params, replay_behavior, idempotency_key, status, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'cancelled', $8)
         ON CONFLICT (run_id, index) DO UPDATE SET status = 'cancelled', finished_at = EXCLUDED.finished_at
           WHERE run_steps.status IN ('pending', 'running')`,
        [runId, index, spec.name, spec.skill, JSON.stringify(spec.params), spec.replay_behavior, spec.idempotency_key, at],
      );
    }
  }

  /** Outputs of the steps of `runIds` that executed (not skipped, not cached) and succeeded, for the named skills. */
  async getExecutedOutputs(manager: EntityManager, runIds: readonly string[], skills: readonly string[]): Promise<ExecutedOutput[]> {
    if (runIds.length === 0 || skills.length === 0) return [];
    return queryRows<ExecutedOutput>(
      manager,
      `SELECT run_id, index, skill, output FROM run_steps
       WHERE run_id = ANY($1::uuid[]) AND skill = ANY($2::text[]) AND executed AND status = 'succeeded'`,
      [runIds, skills],
    );
  }
}
