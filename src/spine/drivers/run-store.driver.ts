import type { EntityManager } from 'typeorm';
import { join, queryRows, sql, type Sql } from '../../infra/database/sql.js';
import { RunErrorType } from '../../shared/run-errors.js';
import type { NewRun, RunError, RunRecord, RunStatus, SignalRecord } from '../run.types.js';
import { insertedRun, newRunValues, RUN_SIGNALS, RUNS } from './spine.tables.js';

/** How a run ends. */
export interface RunOutcome {
  status: 'succeeded' | 'failed';
  output: unknown;
  error: RunError | null;
  replay?: unknown;
}

export interface RunFilters {
  agentId?: string;
  status?: RunStatus;
  /** Only runs older than this sequence number (the cursor). */
  beforeSeq?: string;
}

/** Runs. Never opens a transaction: every method works in the manager it is handed. */
export class RunStoreDriver {
  async insertRun(manager: EntityManager, run: NewRun): Promise<RunRecord> {
    const values = newRunValues(run);
    const rows = await queryRows<Pick<RunRecord, 'seq'>>(manager, sql`${RUNS.insert(values)} RETURNING seq`, { prepared: true });
    return insertedRun(values, rows[0].seq);
  }

  async findForTenant(manager: EntityManager, tenantId: string, id: string): Promise<RunRecord | null> {
    const rows = await queryRows<RunRecord>(manager, sql`SELECT ${RUNS.columns()} FROM runs WHERE id = ${id} AND tenant_id = ${tenantId}`);
    return rows[0] ?? null;
  }

  /** Newest first, keyset-paginated on `seq`. Fetches `limit + 1` rows so the caller knows if more exist. */
  async list(manager: EntityManager, tenantId: string, filters: RunFilters, limit: number): Promise<RunRecord[]> {
    const where = [sql`tenant_id = ${tenantId}`];
    if (filters.agentId !== undefined) where.push(sql`agent_id = ${filters.agentId}`);
    if (filters.status !== undefined) where.push(sql`status = ${filters.status}`);
    if (filters.beforeSeq !== undefined) where.push(sql`seq < ${filters.beforeSeq}`);
    return queryRows(manager, sql`SELECT ${RUNS.columns()} FROM runs WHERE ${join(where, ' AND ')} ORDER BY seq DESC LIMIT ${limit + 1}`);
  }

  /**
   * Takes a run for execution as a new attempt (attempts + 1: the attempt's fencing token) holding a
   * lease of `leaseMs`: a queued or retry run, or a running run whose holder's lease expired (it
   * crashed, stalled or was cut off), or a waiting run whose wait timed out (the new attempt fails its
   * wait step). A running run whose lease is live is `busy` for the time the lease has left.
   * Null when the run is finished, cancelled, waiting within its timeout, or unknown (nothing to do).
   *
   * Leases are written and compared on PostgreSQL's clock (`clock_timestamp()`), never a worker's: a
   * worker whose clock runs ahead must not see a live lease as expired and take the run from its holder.
   */
  async startAttempt(manager: EntityManager, id: string, at: Date, leaseMs: number): Promise<RunRecord | { busyForMs: number } | null> {
    const rows = await queryRows<RunRecord>(
      manager,
      sql`UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, ${at}), updated_at = ${at},
         lease_expires_at = clock_timestamp() + ${leaseMs}::int * interval '1 millisecond'
       WHERE id = ${id}
         AND (status IN ('queued', 'retry') OR (status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= clock_timestamp()))
           OR (status = 'waiting' AND wait_until <= ${at}))
       RETURNING ${RUNS.columns()}`,
    );
    if (rows[0]) return rows[0];
    const held = await queryRows<{ busy_ms: number }>(
      manager,
      sql`SELECT CEIL(EXTRACT(EPOCH FROM (lease_expires_at - clock_timestamp())) * 1000)::int AS busy_ms
       FROM runs WHERE id = ${id} AND status = 'running' AND lease_expires_at > clock_timestamp()`,
    );
    return held[0] ? { busyForMs: Math.max(0, held[0].busy_ms) } : null;
  }

  /**
   * Extends the lease of attempt `attempt` (and marks the run alive for the sweep): `held`. `cancelled`
   * when the run was cancelled under this attempt (its running step may finish; the lease is left alone),
   * `lost` when the attempt no longer holds the run (finished, or taken by a later attempt). The new
   * lease ends `leaseMs` after the renewal on PostgreSQL's clock (see `startAttempt`).
   */
  async renewLease(manager: EntityManager, id: string, attempt: number, at: Date, leaseMs: number): Promise<'held' | 'cancelled' | 'lost'> {
    const rows = await queryRows<{ status: string }>(
      manager,
      sql`WITH renewed AS (
         UPDATE runs SET updated_at = ${at}, lease_expires_at = clock_timestamp() + ${leaseMs}::int * interval '1 millisecond'
         WHERE id = ${id} AND attempts = ${attempt} AND status = 'running' RETURNING status)
       SELECT status FROM renewed
       UNION ALL SELECT status FROM runs WHERE id = ${id} AND attempts = ${attempt} AND status = 'cancelled'`,
    );
    if (rows[0]?.status === 'running') return 'held';
    return rows[0]?.status === 'cancelled' ? 'cancelled' : 'lost';
  }

  /** running -> retry with the error of this attempt. False when the attempt no longer holds the run. */
  async markRetry(manager: EntityManager, id: string, attempt: number, error: RunError, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`UPDATE runs SET status = 'retry', error = ${JSON.stringify(error)}, updated_at = ${at}, lease_expires_at = NULL
       WHERE id = ${id} AND attempts = ${attempt} AND status = 'running' RETURNING id`,
    );
    return rows.length > 0;
  }

  /**
   * running -> queued, giving the attempt back (attempts - 1): a shutdown interrupted it, which is no
   * fault of the run. False when the attempt no longer holds the run.
   */
  async releaseAttempt(manager: EntityManager, id: string, attempt: number, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`UPDATE runs SET status = 'queued', attempts = attempts - 1, updated_at = ${at}, lease_expires_at = NULL
       WHERE id = ${id} AND attempts = ${attempt} AND status = 'running' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** running -> a final status. False when the attempt no longer holds the run (a cancel stands). */
  async finish(manager: EntityManager, id: string, attempt: number, outcome: RunOutcome, at: Date): Promise<boolean> {
    const rows = await queryRows(manager, this.finishStatement(id, attempt, outcome, at));
    return rows.length > 0;
  }

  /**
   * The `UPDATE ... RETURNING id` of `finish`, for a statement that does more with it (the trace store
   * writes the last step rows under it, so they and the run's end are one statement, fenced alike).
   */
  finishStatement(id: string, attempt: number, outcome: RunOutcome, at: Date): Sql {
    const output = JSON.stringify(outcome.output ?? null);
    const error = outcome.error ? JSON.stringify(outcome.error) : null;
    const replay = outcome.replay === undefined ? null : JSON.stringify(outcome.replay);
    return sql`UPDATE runs SET status = ${outcome.status}, output = ${output}, error = ${error}, replay = COALESCE(${replay}, replay),
         finished_at = ${at}, updated_at = ${at}, lease_expires_at = NULL
       WHERE id = ${id} AND attempts = ${attempt} AND status = 'running' RETURNING id`;
  }

  /**
   * Locks the run row (FOR UPDATE) while attempt `attempt` holds it, in the caller's transaction; null when
   * it no longer does. A wait step decides under this lock, and a signal is stored under the same lock,
   * so a signal can never slip between "no signal yet" and "the run is waiting".
   */
  async lockHeld(manager: EntityManager, id: string, attempt: number): Promise<RunRecord | null> {
    const rows = await queryRows<RunRecord>(
      manager,
      sql`SELECT ${RUNS.columns()} FROM runs WHERE id = ${id} AND attempts = ${attempt} AND status = 'running' FOR UPDATE`,
    );
    return rows[0] ?? null;
  }

  /** Locks the tenant's run row (FOR UPDATE) in the caller's transaction, whatever its status; null when unknown. */
  async lockForTenant(manager: EntityManager, tenantId: string, id: string): Promise<RunRecord | null> {
    const rows = await queryRows<RunRecord>(
      manager,
      sql`SELECT ${RUNS.columns()} FROM runs WHERE id = ${id} AND tenant_id = ${tenantId} FOR UPDATE`,
    );
    return rows[0] ?? null;
  }

  /**
   * running -> waiting for signal `signal` at step `step` until `until`: the attempt ends (lease cleared,
   * no worker holds the run). False when the attempt no longer holds the run.
   */
  async park(
    manager: EntityManager,
    id: string,
    attempt: number,
    wait: { signal: string; step: number; until: Date },
    at: Date,
  ): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`UPDATE runs SET status = 'waiting', wait_signal = ${wait.signal}, wait_step = ${wait.step}, wait_until = ${wait.until},
         waits = waits + 1, updated_at = ${at}, lease_expires_at = NULL
       WHERE id = ${id} AND attempts = ${attempt} AND status = 'running' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** waiting for `signal` -> queued (the signal arrived). False when the run does not wait for it. */
  async wake(manager: EntityManager, id: string, signal: string, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`UPDATE runs SET status = 'queued', updated_at = ${at} WHERE id = ${id} AND status = 'waiting' AND wait_signal = ${signal} RETURNING id`,
    );
    return rows.length > 0;
  }

  async findSignal(manager: EntityManager, runId: string, name: string): Promise<SignalRecord | null> {
    const rows = await queryRows<SignalRecord>(
      manager,
      sql`SELECT ${RUN_SIGNALS.columns()} FROM run_signals WHERE run_id = ${runId} AND name = ${name}`,
    );
    return rows[0] ?? null;
  }

  async findSignalByKey(manager: EntityManager, runId: string, key: string): Promise<SignalRecord | null> {
    const rows = await queryRows<SignalRecord>(
      manager,
      sql`SELECT ${RUN_SIGNALS.columns()} FROM run_signals WHERE run_id = ${runId} AND idempotency_key = ${key}`,
    );
    return rows[0] ?? null;
  }

  async insertSignal(manager: EntityManager, signal: SignalRecord): Promise<SignalRecord> {
    const values = { ...signal, payload: JSON.stringify(signal.payload ?? null) };
    const rows = await queryRows<SignalRecord>(manager, sql`${RUN_SIGNALS.insert(values)} RETURNING ${RUN_SIGNALS.columns()}`);
    return rows[0];
  }

  async countWaiting(manager: EntityManager): Promise<number> {
    const rows = await queryRows<{ count: string }>(manager, sql`SELECT count(*) AS count FROM runs WHERE status = 'waiting'`);
    return Number(rows[0]?.count ?? 0);
  }

  /** queued/running/retry/waiting -> cancelled. Null when the run is not the tenant's or already finished. */
  async cancel(manager: EntityManager, tenantId: string, id: string, at: Date): Promise<RunRecord | null> {
    const error = JSON.stringify({ type: RunErrorType.Cancelled, message: 'The run was cancelled.' } satisfies RunError);
    const rows = await queryRows<RunRecord>(
      manager,
      sql`UPDATE runs SET status = 'cancelled', error = ${error}, finished_at = ${at}, updated_at = ${at}, lease_expires_at = NULL
       WHERE id = ${id} AND tenant_id = ${tenantId} AND status IN ('queued', 'running', 'retry', 'waiting') RETURNING ${RUNS.columns()}`,
    );
    return rows[0] ?? null;
  }

  /**
   * Queued/retry runs not updated since `before`, running runs whose lease expired (on PostgreSQL's
   * clock), waiting runs whose timeout passed: their job may be lost (the sweep is the durable timer's backstop).
   */
  async findStale(manager: EntityManager, before: Date, now: Date, limit: number): Promise<Array<Pick<RunRecord, 'id' | 'tenant_id'>>> {
    return queryRows<Pick<RunRecord, 'id' | 'tenant_id'>>(
      manager,
      sql`SELECT id, tenant_id FROM runs
       WHERE (status IN ('queued', 'retry') AND updated_at < ${before}) OR (status = 'running' AND (lease_expires_at < clock_timestamp() OR (lease_expires_at IS NULL AND updated_at < ${now})))
         OR (status = 'waiting' AND wait_until <= ${now})
       ORDER BY updated_at LIMIT ${limit}`,
    );
  }

  /**
   * Deletes up to `limit` runs that finished (succeeded, failed, cancelled) before `before`, oldest
   * finish first; their trace and signals go with them (ON DELETE CASCADE). Never an unfinished run,
   * never an original whose replay has not finished (the replay still reads its trace), nor one a replay
   * batch has yet to replay (an item pending or running: its replay will read the trace). SKIP LOCKED:
   * purges running at once (every worker sweeps) take different runs, and a run someone holds a lock
   * on waits for a later sweep. Returns the ids deleted.
   */
  async purgeFinished(manager: EntityManager, before: Date, limit: number): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      manager,
      sql`DELETE FROM runs WHERE id IN (
         SELECT r.id FROM runs r
         WHERE r.status IN ('succeeded', 'failed', 'cancelled') AND r.finished_at < ${before}
           AND NOT EXISTS (SELECT 1 FROM runs x WHERE x.replay_of = r.id AND x.status IN ('queued', 'running', 'retry', 'waiting'))
           AND NOT EXISTS (SELECT 1 FROM replay_batch_items i WHERE i.run_id = r.id AND i.state IN ('pending', 'running'))
         ORDER BY r.finished_at LIMIT ${limit}
         FOR UPDATE OF r SKIP LOCKED)
       RETURNING id`,
    );
    return rows.map((r) => r.id);
  }
}
