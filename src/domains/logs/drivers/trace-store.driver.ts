import type { EntityManager } from 'typeorm';
import { queryRows, sql, type Column, type ColumnValues, type Sql } from '../../../infra/database/sql.js';
import type { StepError, StepRecord, StepSpec, StepStatus } from '../../../shared/step.types.js';
import type { ReplayResult } from './replay-enforcer.driver.js';
import { RUN_STEPS, STEP_RECORD_COLUMNS, type RunStepRow } from './run-steps.table.js';

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
  index: number;
  /** The step as planned, with the replay behavior applied in this run. */
  spec: StepSpec;
  /** Params as resolved for this execution. */
  params: unknown;
  /** 1 for the first execution of the step, then one more per retry or resume. */
  attempt: number;
  startedAt: Date;
}

/** A step's identity: a later write of the same step never changes these columns. */
const IDENTITY: ReadonlySet<Column<RunStepRow>> = new Set(['run_id', 'index', 'name', 'skill', 'idempotency_key'] as const);

/** The columns every write of an attempt sets. */
function attemptValues(a: StepAttempt, status: StepStatus): ColumnValues<RunStepRow> {
  return {
    run_id: a.runId,
    index: a.index,
    name: a.spec.name,
    skill: a.spec.skill,
    params: JSON.stringify(a.params),
    replay_behavior: a.spec.replay_behavior,
    idempotency_key: a.spec.idempotency_key,
    status,
    attempts: a.attempt,
    started_at: a.startedAt,
  };
}

/**
 * Inserts the step's row or, when it exists, overwrites every written column but the identity;
 * `rest` continues the SET list (columns this write clears) and may add a WHERE.
 */
function upsert(values: ColumnValues<RunStepRow>, rest: Sql): Sql {
  const replaced = (Object.keys(values) as Column<RunStepRow>[]).filter((c) => !IDENTITY.has(c));
  return sql`${RUN_STEPS.insert(values)} ON CONFLICT (run_id, index) DO UPDATE SET ${RUN_STEPS.setExcluded(replaced)}, ${rest}`;
}

/** Trace rows (run_steps), owned by the logs domain. Works in the manager it is handed. */
export class TraceStoreDriver {
  async getSteps(manager: EntityManager, runId: string): Promise<StepRecord[]> {
    return queryRows<StepRecord>(
      manager,
      sql`SELECT ${RUN_STEPS.columns(STEP_RECORD_COLUMNS)} FROM run_steps WHERE run_id = ${runId} ORDER BY index`,
    );
  }

  /**
   * Records that an attempt of a step is running (a step still running after a short delay; fast steps
   * skip this write). Never overwrites the row of this attempt or a later one, so it may land after
   * the attempt's final write.
   */
  async markRunning(manager: EntityManager, a: StepAttempt): Promise<void> {
    await queryRows(
      manager,
      upsert(
        attemptValues(a, 'running'),
        sql`error = NULL, finished_at = NULL, duration_ms = NULL WHERE run_steps.attempts < EXCLUDED.attempts`,
      ),
    );
  }

  async markSucceeded(manager: EntityManager, a: StepAttempt, result: ReplayResult, at: Date): Promise<void> {
    const values: ColumnValues<RunStepRow> = {
      ...attemptValues(a, 'succeeded'),
      output: JSON.stringify(result.output_data),
      output_hash: result.output_hash,
      executed: result.executed,
      skipped: result.skipped,
      checked: result.checked,
      from_cache: result.from_cache,
      expected_hash: result.expected_hash,
      mismatch: result.mismatch ? JSON.stringify(result.mismatch) : null,
      finished_at: at,
      duration_ms: at.getTime() - a.startedAt.getTime(),
    };
    await queryRows(manager, upsert(values, sql`error = NULL`));
  }

  async markFailed(manager: EntityManager, a: StepAttempt, error: StepError, at: Date): Promise<void> {
    const values: ColumnValues<RunStepRow> = {
      ...attemptValues(a, 'failed'),
      error: JSON.stringify(error),
      finished_at: at,
      duration_ms: at.getTime() - a.startedAt.getTime(),
    };
    await queryRows(manager, upsert(values, sql`output = NULL, output_hash = NULL`));
  }

  /**
   * The earliest succeeded step of the tenant with this idempotency key that finished after `since`:
   * the durable record of a completed key, for when the step store (Redis) has lost it.
   */
  async findCompletedKey(manager: EntityManager, tenantId: string, key: string, since: Date): Promise<CompletedKeyRecord | null> {
    const columns = RUN_STEPS.columns(['skill', 'params', 'output', 'output_hash', 'finished_at'], 's');
    const rows = await queryRows<CompletedKeyRecord>(
      manager,
      sql`SELECT ${columns}
       FROM run_steps s JOIN runs r ON r.id = s.run_id
       WHERE s.idempotency_key = ${key} AND s.status = 'succeeded' AND s.finished_at > ${since} AND r.tenant_id = ${tenantId}
       ORDER BY s.finished_at LIMIT 1`,
    );
    return rows[0] ?? null;
  }

  /** Steps from `fromIndex` on that have not finished become `cancelled` (recorded if never started). */
  async cancelRemaining(manager: EntityManager, runId: string, plan: readonly StepSpec[], fromIndex: number, at: Date): Promise<void> {
    for (let index = fromIndex; index < plan.length; index++) {
      const spec = plan[index];
      const row = RUN_STEPS.insert({
        run_id: runId,
        index,
        name: spec.name,
        skill: spec.skill,
        params: JSON.stringify(spec.params),
        replay_behavior: spec.replay_behavior,
        idempotency_key: spec.idempotency_key,
        status: 'cancelled',
        finished_at: at,
      });
      await queryRows(
        manager,
        sql`${row} ON CONFLICT (run_id, index) DO UPDATE SET ${RUN_STEPS.setExcluded(['status', 'finished_at'])}
           WHERE run_steps.status IN ('pending', 'running')`,
      );
    }
  }
}
