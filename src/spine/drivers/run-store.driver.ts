import type { EntityManager } from 'typeorm';
import { join, queryRows, sql } from '../../infra/database/sql.js';
import { RunErrorType } from '../../shared/run-errors.js';
import type { NewRun, RunError, RunRecord, RunStatus } from '../run.types.js';
import { newRunValues, RUNS } from './spine.tables.js';

export interface RunFilters {
  agentId?: string;
  status?: RunStatus;
  /** Only runs older than this sequence number (the cursor). */
  beforeSeq?: string;
}

/** Runs. Never opens a transaction: every method works in the manager it is handed. */
export class RunStoreDriver {
  async insertRun(manager: EntityManager, run: NewRun): Promise<RunRecord> {
    const rows = await queryRows<RunRecord>(manager, sql`${RUNS.insert(newRunValues(run))} RETURNING ${RUNS.columns()}`);
    return rows[0];
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
   * Takes a run for execution: queued, retry, or running (a worker died or stalled) becomes running
   * with one more attempt. Null when the run is finished or cancelled (nothing to do).
   */
  async startAttempt(manager: EntityManager, id: string, at: Date): Promise<RunRecord | null> {
    const rows = await queryRows<RunRecord>(
      manager,
      sql`UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, ${at}), updated_at = ${at}
       WHERE id = ${id} AND status IN ('queued', 'retry', 'running') RETURNING ${RUNS.columns()}`,
    );
    return rows[0] ?? null;
  }

  /**
   * Marks a running run alive (updated_at, which the stranded-run sweep reads) and tells whether it is
   * still running: false once it was cancelled, so no further step starts.
   */
  async heartbeat(manager: EntityManager, id: string, at: Date): Promise<boolean> {
    const rows = await queryRows(manager, sql`UPDATE runs SET updated_at = ${at} WHERE id = ${id} AND status = 'running' RETURNING id`);
    return rows.length > 0;
  }

  /** running -> retry with the error of this attempt. False when the run is no longer running (cancelled). */
  async markRetry(manager: EntityManager, id: string, error: RunError, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`UPDATE runs SET status = 'retry', error = ${JSON.stringify(error)}, updated_at = ${at} WHERE id = ${id} AND status = 'running' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** running -> a final status. False when the run was cancelled meanwhile (the cancel stands). */
  async finish(
    manager: EntityManager,
    id: string,
    outcome: { status: 'succeeded' | 'failed'; output: unknown; error: RunError | null; replay?: unknown },
    at: Date,
  ): Promise<boolean> {
    const output = JSON.stringify(outcome.output ?? null);
    const error = outcome.error ? JSON.stringify(outcome.error) : null;
    const replay = outcome.replay === undefined ? null : JSON.stringify(outcome.replay);
    const rows = await queryRows(
      manager,
      sql`UPDATE runs SET status = ${outcome.status}, output = ${output}, error = ${error}, replay = COALESCE(${replay}, replay),
         finished_at = ${at}, updated_at = ${at}
       WHERE id = ${id} AND status = 'running' RETURNING id`,
    );
    return rows.length > 0;
  }

  /** queued/running/retry -> cancelled. Null when the run is not the tenant's or already finished. */
  async cancel(manager: EntityManager, tenantId: string, id: string, at: Date): Promise<RunRecord | null> {
    const error = JSON.stringify({ type: RunErrorType.Cancelled, message: 'The run was cancelled.' } satisfies RunError);
    const rows = await queryRows<RunRecord>(
      manager,
      sql`UPDATE runs SET status = 'cancelled', error = ${error}, finished_at = ${at}, updated_at = ${at}
       WHERE id = ${id} AND tenant_id = ${tenantId} AND status IN ('queued', 'running', 'retry') RETURNING ${RUNS.columns()}`,
    );
    return rows[0] ?? null;
  }

  /** Active runs not updated since `before`: candidates whose job may have been lost. */
  async findStale(manager: EntityManager, before: Date, limit: number): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      manager,
      sql`SELECT id FROM runs WHERE status IN ('queued', 'running', 'retry') AND updated_at < ${before} ORDER BY updated_at LIMIT ${limit}`,
    );
    return rows.map((r) => r.id);
  }
}
