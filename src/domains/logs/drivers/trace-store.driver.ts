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

/** One execution attempt of a step: what its trace row is written from. */
export interface StepAttempt {
  runId: string;
  /** The run's attempt that executes the step: the fencing token of every write. */
  runAttempt: number;
  index: number;
  /** The step as planned, with the replay behavior applied in this run. */
  spec: StepSpec;
  /** Params as resolved for this execution. */
  params: unknown;
  /** 1 for the first execution of the step, then one more per retry or resume. */
  attempt: number;
  startedAt: Date;
}

/** $1..$10: the columns every write of an attempt sets, cast so they can stand in a SELECT list. */
const ATTEMPT_VALUES = `$1::uuid, $3::int, $4::text, $5::text, $6::json, $7::text, $8::text, $9::int, $10::timestamptz`;
const ATTEMPT_COLUMNS = 'run_id, index, name, skill, params, replay_behavior, idempotency_key, attempts, started_at';

function attemptParams(a: StepAttempt): unknown[] {
  return [
    a.runId,
    a.runAttempt,
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

/**
 * Fencing: a write of an attempt happens only while that attempt ($2) holds the run. The run row is
 * locked FOR SHARE, so a concurrent `startAttempt` of another worker waits for this write, and a write
 * that waited for it sees the new attempt number and writes nothing. A step's start needs the run
 * `running`; its finish may also land after a cancel (a running step may finish; no further step starts).
 */
const HELD_TO_START = `SELECT id FROM runs WHERE id = $1 AND attempts = $2 AND status = 'running' FOR SHARE`;
const HELD_TO_FINISH = `SELECT id FROM runs WHERE id = $1 AND attempts = $2 AND status IN ('running', 'cancelled') FOR SHARE`;

/** Trace rows (run_steps), owned by the logs domain. Works in the manager it is handed. */
export class TraceStoreDriver {
  async getSteps(manager: EntityManager, runId: string): Promise<StepRecord[]> {
    return queryRows<StepRecord>(manager, `SELECT ${COLUMNS} FROM run_steps WHERE run_id = $1 ORDER BY index`, [runId]);
  }

  /**
   * Records that an attempt of a step starts, before its skill runs. False when the run's attempt no
   * longer holds the run (cancelled, or taken by another worker): the step must not start.
   */
  async markRunning(manager: EntityManager, a: StepAttempt): Promise<boolean> {
    const rows = await queryRows(
      manager,
      `WITH holder AS (${HELD_TO_START})
       INSERT INTO run_steps (${ATTEMPT_COLUMNS}, status) SELECT ${ATTEMPT_VALUES}, 'running' FROM holder
       ON CONFLICT (run_id, index) DO UPDATE SET
         params = EXCLUDED.params, replay_behavior = EXCLUDED.replay_behavior, status = 'running', attempts = EXCLUDED.attempts,
         started_at = EXCLUDED.started_at, output = NULL, output_hash = NULL, error = NULL, finished_at = NULL, duration_ms = NULL
       RETURNING run_id`,
      attemptParams(a),
    );
    return rows.length > 0;
  }

  /** The step's result. False (nothing written) when the run's attempt no longer holds the run. */
  async markSucceeded(manager: EntityManager, a: StepAttempt, result: ReplayResult, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      `WITH holder AS (${HELD_TO_FINISH})
       INSERT INTO run_steps (${ATTEMPT_COLUMNS}, status,
         output, output_hash, executed, skipped, checked, from_cache, expected_hash, mismatch, finished_at, duration_ms)
       SELECT ${ATTEMPT_VALUES}, 'succeeded',
         $11::json, $12::text, $13::boolean, $14::boolean, $15::boolean, $16::boolean, $17::text, $18::json, $19::timestamptz, $20::int
       FROM holder
       ON CONFLICT (run_id, index) DO UPDATE SET
         params = EXCLUDED.params, replay_behavior = EXCLUDED.replay_behavior, status = 'succeeded', attempts = EXCLUDED.attempts,
         started_at = EXCLUDED.started_at, output = EXCLUDED.output, output_hash = EXCLUDED.output_hash, executed = EXCLUDED.executed,
         skipped = EXCLUDED.skipped, checked = EXCLUDED.checked, from_cache = EXCLUDED.from_cache, expected_hash = EXCLUDED.expected_hash,
         mismatch = EXCLUDED.mismatch, error = NULL, finished_at = EXCLUDED.finished_at, duration_ms = EXCLUDED.duration_ms
       RETURNING run_id`,
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
    return rows.length > 0;
  }

  /** The step's failure. False (nothing written) when the run's attempt no longer holds the run. */
  async markFailed(manager: EntityManager, a: StepAttempt, error: StepError, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      `WITH holder AS (${HELD_TO_FINISH})
       INSERT INTO run_steps (${ATTEMPT_COLUMNS}, status, error, finished_at, duration_ms)
       SELECT ${ATTEMPT_VALUES}, 'failed', $11::json, $12::timestamptz, $13::int FROM holder
       ON CONFLICT (run_id, index) DO UPDATE SET
         params = EXCLUDED.params, replay_behavior = EXCLUDED.replay_behavior, status = 'failed', attempts = EXCLUDED.attempts,
         started_at = EXCLUDED.started_at, output = NULL, output_hash = NULL, error = EXCLUDED.error, finished_at = EXCLUDED.finished_at,
         duration_ms = EXCLUDED.duration_ms
       RETURNING run_id`,
      [...attemptParams(a), JSON.stringify(error), at, at.getTime() - a.startedAt.getTime()],
    );
    return rows.length > 0;
  }

  /**
   * The earliest succeeded step of the tenant with this idempotency key that finished after `since`:
   * the durable record of a completed key, for when the step store (Redis) has lost it.
   */
  async findCompletedKey(manager: EntityManager, tenantId: string, key: string, since: Date): Promise<CompletedKeyRecord | null> {
    const rows: CompletedKeyRecord[] = await queryRows(
      manager,
      `SELECT s.skill, s.params, s.output, s.output_hash, s.finished_at
       FROM run_steps s JOIN runs r ON r.id = s.run_id
       WHERE s.idempotency_key = $2 AND s.status = 'succeeded' AND s.finished_at > $3 AND r.tenant_id = $1
       ORDER BY s.finished_at LIMIT 1`,
      [tenantId, key, since],
    );
    return rows[0] ?? null;
  }

  /**
   * Steps from `fromIndex` on that have not finished become `cancelled` (recorded if never started), in
   * one statement. A step still running is marked too; if it finishes, its result replaces the mark.
   */
  async cancelRemaining(manager: EntityManager, runId: string, plan: readonly StepSpec[], fromIndex: number, at: Date): Promise<void> {
    const rest = plan.map((spec, index) => ({ spec, index })).slice(fromIndex);
    if (rest.length === 0) return;
    await queryRows(
      manager,
      `INSERT INTO run_steps (run_id, index, name, skill, params, replay_behavior, idempotency_key, status, finished_at)
       SELECT $1, s.index, s.name, s.skill, s.params, s.replay_behavior, s.idempotency_key, 'cancelled', $8
       FROM unnest($2::int[], $3::text[], $4::text[], $5::json[], $6::text[], $7::text[])
         AS s(index, name, skill, params, replay_behavior, idempotency_key)
       ON CONFLICT (run_id, index) DO UPDATE SET status = 'cancelled', finished_at = EXCLUDED.finished_at
         WHERE run_steps.status IN ('pending', 'running')`,
      [
        runId,
        rest.map((r) => r.index),
        rest.map((r) => r.spec.name),
        rest.map((r) => r.spec.skill),
        rest.map((r) => JSON.stringify(r.spec.params)),
        rest.map((r) => r.spec.replay_behavior),
        rest.map((r) => r.spec.idempotency_key),
        at,
      ],
    );
  }
}
