import type { EntityManager } from 'typeorm';
import { queryRows, sql, type Column, type Sql } from '../../../infra/database/sql.js';
import { redactValue } from '../../../shared/redaction.js';
import type { StepError, StepRecord, StepSpec, StepStatus } from '../../../shared/step.types.js';
import type { ReplayResult } from './replay-enforcer.driver.js';
import { RUN_STEPS, STEP_RECORD_COLUMNS, type RunStepRow } from './run-steps.table.js';

export interface CompletedKeyRecord {
  skill: string;
  params: unknown;
  output: unknown;
  output_hash: string;
  /** Null on rows recorded before fingerprints were stored. */
  fingerprint: string | null;
  finished_at: Date;
}

/** A succeeded step's recorded output and its hash (what a replay takes from its original). */
export interface RecordedOutput {
  index: number;
  output: unknown;
  output_hash: string;
}

/** How a succeeded step of a replay came by its output (what the replay's verdict is counted from). */
export type StepOutcomeFlags = Pick<StepRecord, 'index' | 'executed' | 'skipped' | 'checked' | 'from_cache' | 'mismatch'>;

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
  /** The run's attempt that executes the step: the fencing token of every write. */
  runAttempt: number;
  index: number;
  /** The step as planned, with the replay behavior applied in this run. */
  spec: StepSpec;
  /** Params as resolved for this execution, as recorded (secrets masked; credentials are redacted here too). */
  params: unknown;
  /** The fingerprint a keyed step's key is bound to (params with `$secret` unresolved), kept for when the step store loses it. */
  fingerprint?: string;
  /** 1 for the first execution of the step, then one more per retry or resume. */
  attempt: number;
  startedAt: Date;
  /**
   * True once this attempt wrote the step's `running` row. Only a started step may record its end after
   * a cancel (a running step may finish); a step that never started (cached, skipped, refused before its
   * start) records only while the run is `running`, so after a cancel it stays `cancelled`.
   */
  started?: boolean;
}

/** A step's identity: a later write of the same step never changes these columns. */
const IDENTITY: ReadonlySet<Column<RunStepRow>> = new Set(['run_id', 'index', 'name', 'skill', 'idempotency_key'] as const);

/** Every column a write sets: a write describes the whole row (columns it does not know are written empty). */
const ROW_COLUMNS = RUN_STEPS.columnNames;
const REPLACED = ROW_COLUMNS.filter((c) => !IDENTITY.has(c));

/** A step row as one write sets it, every column given (see ROW_COLUMNS). */
export type StepRow = { readonly [K in keyof RunStepRow]: unknown };

/** The columns every write of an attempt sets; the others empty (a running row has no output, no error). */
function attemptRow(a: StepAttempt, status: StepStatus): StepRow {
  return {
    run_id: a.runId,
    index: a.index,
    name: a.spec.name,
    skill: a.spec.skill,
    params: JSON.stringify(redactValue(a.params)),
    replay_behavior: a.spec.replay_behavior,
    idempotency_key: a.spec.idempotency_key,
    status,
    output: null,
    output_hash: null,
    executed: false,
    skipped: false,
    checked: false,
    from_cache: false,
    expected_hash: null,
    mismatch: null,
    comparison: null,
    error: null,
    attempts: a.attempt,
    started_at: a.startedAt,
    finished_at: null,
    duration_ms: null,
    fingerprint: a.fingerprint ?? null,
  };
}

/** The row of a step that starts, before its skill runs. */
export function runningRow(a: StepAttempt): StepRow {
  return attemptRow(a, 'running');
}

/** The row of a step that succeeded. */
export function succeededRow(a: StepAttempt, result: ReplayResult, at: Date): StepRow {
  return {
    ...attemptRow(a, 'succeeded'),
    output: JSON.stringify(result.output_data),
    output_hash: result.output_hash,
    executed: result.executed,
    skipped: result.skipped,
    checked: result.checked,
    from_cache: result.from_cache,
    expected_hash: result.expected_hash,
    mismatch: result.mismatch ? JSON.stringify(result.mismatch) : null,
    comparison: result.comparison ? JSON.stringify(result.comparison) : null,
    finished_at: at,
    duration_ms: at.getTime() - a.startedAt.getTime(),
  };
}

/** The row of a step that failed (with the executed output it keeps, if any: see `markFailed`). */
export function failedRow(a: StepAttempt, error: StepError, at: Date, kept?: ReplayResult): StepRow {
  return {
    ...attemptRow(a, 'failed'),
    ...(kept
      ? {
          output: JSON.stringify(kept.output_data),
          output_hash: kept.output_hash,
          executed: kept.executed,
          skipped: kept.skipped,
          from_cache: kept.from_cache,
        }
      : {}),
    error: JSON.stringify(error),
    finished_at: at,
    duration_ms: at.getTime() - a.startedAt.getTime(),
  };
}

/** Which attempt of which run a write belongs to: the fencing token. */
export interface StepFence {
  runId: string;
  runAttempt: number;
}

/**
 * Fencing: a write of an attempt happens only while that attempt holds the run. The run row is
 * locked FOR SHARE, so a concurrent `startAttempt` of another worker waits for this write, and a write
 * that waited for it sees the new attempt number and writes nothing. A step's start needs the run
 * `running`; its finish may also land after a cancel (a running step may finish; no further step starts).
 */
function heldBy(a: StepFence, to: 'start' | 'finish'): Sql {
  const statuses = to === 'start' ? sql`('running')` : sql`('running', 'cancelled')`;
  return sql`SELECT id FROM runs WHERE id = ${a.runId} AND attempts = ${a.runAttempt} AND status IN ${statuses} FOR SHARE`;
}

/**
 * Writes step rows, in one statement, while the attempt holds the run: each row is inserted or, when it
 * exists, every column but the identity is overwritten. `holder` is the statement's fence: a query that
 * yields the run's id only while the attempt holds it (by default `heldBy`; the run loop passes the run's
 * final UPDATE ... RETURNING id, so the last steps and the run's end are one statement). One parameter
 * per column (arrays, `unnest`), whatever the number of rows. Returns whether it wrote.
 */
async function writeHeld(manager: EntityManager, rows: readonly StepRow[], holder: Sql): Promise<boolean> {
  const result = await queryRows(
    manager,
    sql`WITH holder AS (${holder})
     INSERT INTO run_steps (${RUN_STEPS.columns(ROW_COLUMNS)})
     SELECT ${RUN_STEPS.columns(ROW_COLUMNS, 'v')} FROM holder, ${RUN_STEPS.unnest(ROW_COLUMNS, rows, 'v')}
     ON CONFLICT (run_id, index) DO UPDATE SET ${RUN_STEPS.setExcluded(REPLACED)}
     RETURNING run_id`,
  );
  return result.length > 0;
}

/** Trace rows (run_steps), owned by the logs domain. Works in the manager it is handed. */
export class TraceStoreDriver {
  async getSteps(manager: EntityManager, runId: string): Promise<StepRecord[]> {
    return queryRows<StepRecord>(
      manager,
      sql`SELECT ${RUN_STEPS.columns(STEP_RECORD_COLUMNS)} FROM run_steps WHERE run_id = ${runId} ORDER BY index`,
    );
  }

  /** The outputs (and their hashes) of a run's succeeded steps: only the columns a replay needs of its original. */
  async getRecordedOutputs(manager: EntityManager, runId: string): Promise<RecordedOutput[]> {
    return queryRows<RecordedOutput>(
      manager,
      sql`SELECT ${RUN_STEPS.columns(['index', 'output', 'output_hash'])} FROM run_steps WHERE run_id = ${runId} AND status = 'succeeded'`,
    );
  }

  /** How each succeeded step of a run came by its output (no outputs, no params: what a replay's verdict needs). */
  async getOutcomeFlags(manager: EntityManager, runId: string): Promise<StepOutcomeFlags[]> {
    return queryRows<StepOutcomeFlags>(
      manager,
      sql`SELECT ${RUN_STEPS.columns(['index', 'executed', 'skipped', 'checked', 'from_cache', 'mismatch'])} FROM run_steps
       WHERE run_id = ${runId} AND status = 'succeeded' ORDER BY index`,
    );
  }

  /**
   * Records that an attempt of a step starts, before its skill runs (with `earlier`: rows of steps that
   * finished before it and were not written yet, in the same statement). False when the run's attempt no
   * longer holds the run (cancelled, or taken by another worker): the step must not start.
   */
  async markRunning(manager: EntityManager, a: StepAttempt, earlier: readonly StepRow[] = []): Promise<boolean> {
    return writeHeld(manager, [...earlier, runningRow(a)], heldBy(a, 'start'));
  }

  /** The step's result (with `earlier`, see markRunning). False (nothing written) when the run's attempt no longer holds the run. */
  async markSucceeded(
    manager: EntityManager,
    a: StepAttempt,
    result: ReplayResult,
    at: Date,
    earlier: readonly StepRow[] = [],
  ): Promise<boolean> {
    return writeHeld(manager, [...earlier, succeededRow(a, result, at)], heldBy(a, a.started ? 'finish' : 'start'));
  }

  /**
   * The step's failure (with `earlier`, see markRunning). False (nothing written) when the run's attempt no
   * longer holds the run. `kept`: a checked step that failed after `markExecuted` keeps its executed output
   * (a retry compares it again instead of executing the step again).
   */
  async markFailed(
    manager: EntityManager,
    a: StepAttempt,
    error: StepError,
    at: Date,
    earlier: readonly StepRow[] = [],
    kept?: ReplayResult,
  ): Promise<boolean> {
    return writeHeld(manager, [...earlier, failedRow(a, error, at, kept)], heldBy(a, a.started ? 'finish' : 'start'));
  }

  /**
   * A checked step's executed output, recorded on its unfinished row before the comparison (which may
   * call a judge for a minute): the row keeps its status (`running`, or `cancelled` by a cancel since),
   * gets `output`, `output_hash` and the flags. An attempt that finds such a row (not succeeded nor
   * cancelled, `output_hash` set) compares that output and never executes the step again. Fenced like a
   * finish; false when the attempt lost the run (or the row was never started).
   */
  async markExecuted(manager: EntityManager, a: StepAttempt, result: ReplayResult): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`WITH holder AS (${heldBy(a, 'finish')})
       UPDATE run_steps SET output = ${JSON.stringify(result.output_data)}::json, output_hash = ${result.output_hash},
         executed = ${result.executed}, skipped = ${result.skipped}, from_cache = ${result.from_cache}
       FROM holder WHERE run_steps.run_id = holder.id AND run_steps.index = ${a.index}
       RETURNING run_steps.run_id`,
    );
    return rows.length > 0;
  }

  /**
   * Rows of finished steps whose writing was deferred (pure steps, see the step runner), in one statement,
   * while the attempt holds the run (`running`), or under `holder` when given (a query yielding the run's id
   * only while the attempt holds it, such as the run's final UPDATE ... RETURNING id). False when not written.
   */
  async writeSteps(manager: EntityManager, fence: StepFence, rows: readonly StepRow[], holder?: Sql): Promise<boolean> {
    if (rows.length === 0 && !holder) return true;
    return writeHeld(manager, rows, holder ?? heldBy(fence, 'start'));
  }

  /**
   * The earliest step of the tenant that executed this idempotency key and finished after `since`: the
   * durable record of a completed key, for when the step store (Redis) has lost it. Steps that took the
   * key's result from the cache are not executions: they never extend the key's lifetime.
   */
  async findCompletedKey(manager: EntityManager, tenantId: string, key: string, since: Date): Promise<CompletedKeyRecord | null> {
    const columns = RUN_STEPS.columns(['skill', 'params', 'output', 'output_hash', 'fingerprint', 'finished_at'], 's');
    const rows = await queryRows<CompletedKeyRecord>(
      manager,
      sql`SELECT ${columns}
       FROM run_steps s JOIN runs r ON r.id = s.run_id
       WHERE s.idempotency_key = ${key} AND s.status = 'succeeded' AND s.executed AND s.finished_at > ${since} AND r.tenant_id = ${tenantId}
       ORDER BY s.finished_at LIMIT 1`,
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
    const planned = RUN_STEPS.columns(['index', 'name', 'skill', 'params', 'replay_behavior', 'idempotency_key']);
    await queryRows(
      manager,
      sql`INSERT INTO run_steps (run_id, ${planned}, status, finished_at)
       SELECT ${runId}::uuid, ${RUN_STEPS.columns(['index', 'name', 'skill', 'params', 'replay_behavior', 'idempotency_key'], 's')}, 'cancelled', ${at}::timestamptz
       FROM unnest(
         ${rest.map((r) => r.index)}::int[], ${rest.map((r) => r.spec.name)}::text[], ${rest.map((r) => r.spec.skill)}::text[],
         ${rest.map((r) => JSON.stringify(redactValue(r.spec.params)))}::json[], ${rest.map((r) => r.spec.replay_behavior)}::text[],
         ${rest.map((r) => r.spec.idempotency_key)}::text[]
       ) AS s(${planned})
       ON CONFLICT (run_id, index) DO UPDATE SET ${RUN_STEPS.setExcluded(['status', 'finished_at'])}
         WHERE run_steps.status IN ('pending', 'running')`,
    );
  }

  /** Outputs of the steps of `runIds` that executed (not skipped, not cached) and succeeded, for the named skills. */
  async getExecutedOutputs(manager: EntityManager, runIds: readonly string[], skills: readonly string[]): Promise<ExecutedOutput[]> {
    if (runIds.length === 0 || skills.length === 0) return [];
    return queryRows<ExecutedOutput>(
      manager,
      sql`SELECT ${RUN_STEPS.columns(['run_id', 'index', 'skill', 'output'])} FROM run_steps
       WHERE run_id = ANY(${runIds}::uuid[]) AND skill = ANY(${skills}::text[]) AND executed AND status = 'succeeded'`,
    );
  }
}
