import type { EntityManager } from 'typeorm';
import { queryRows } from '../../infra/database/sql.js';
import type { NewRun, RunError, RunRecord, RunStatus } from '../run.types.js';

/** Columns written for a new run, in the order of newRunParams (shared by the idempotent insert). */
export const NEW_RUN_COLUMNS =
  'id, tenant_id, agent_id, status, idempotency_key, input, steps, metadata, attempts, replay_of, replay_options, created_at, updated_at';

/** The parameters of NEW_RUN_COLUMNS for a new run, $1..$13 (shared by the idempotent insert). */
export function newRunParams(run: NewRun): unknown[] {
  return [
    run.id,
    run.tenant_id,
    run.agent_id,
    'queued',
    run.idempotency_key,
    JSON.stringify(run.input ?? null),
    JSON.stringify(run.steps),
    JSON.stringify(run.metadata ?? null),
    0,
    run.replay_of,
    run.replay_options === undefined || run.replay_options === null ? null : JSON.stringify(run.replay_options),
    run.created_at,
    run.created_at,
  ];
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
    const rows: RunRecord[] = await queryRows(
      manager,
      `INSERT INTO runs (${NEW_RUN_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING *`,
      newRunParams(run),
    );
    return rows[0];
  }

  async findForTenant(manager: EntityManager, tenantId: string, id: string): Promise<RunRecord | null> {
    const rows: RunRecord[] = await queryRows(manager, 'SELECT * FROM runs WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
    return rows[0] ?? null;
  }

  /** Newest first, keyset-paginated on `seq`. Fetches `limit + 1` rows so the caller knows if more exist. */
  async list(manager: EntityManager, tenantId: string, filters: RunFilters, limit: number): Promise<RunRecord[]> {
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenantId];
    if (filters.agentId !== undefined) where.push(`agent_id = $${params.push(filters.agentId)}`);
    if (filters.status !== undefined) where.push(`status = $${params.push(filters.status)}`);
    if (filters.beforeSeq !== undefined) where.push(`seq < $${params.push(filters.beforeSeq)}`);
    return queryRows(manager, `SELECT * FROM runs WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.push(limit + 1)}`, params);
  }

  /**
   * Takes a run for execution: queued, retry, or running (a worker died or stalled) becomes running
   * with one more attempt. Null when the run is finished or cancelled (nothing to do).
   */
  async startAttempt(manager: EntityManager, id: string, at: Date): Promise<RunRecord | null> {
    const rows: RunRecord[] = await queryRows(
      manager,
      `UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, $2), updated_at = $2
       WHERE id = $1 AND status IN ('queued', 'retry', 'running') RETURNING *`,
      [id, at],
    );
    return rows[0] ?? null;
  }

  /**
   * Marks a running run alive (updated_at, which the stranded-run sweep reads) and tells whether it is
   * still running: false once it was cancelled, so no further step starts.
   */
  async heartbeat(manager: EntityManager, id: string, at: Date): Promise<boolean> {
    const rows = await queryRows(manager, `UPDATE runs SET updated_at = $2 WHERE id = $1 AND status = 'running' RETURNING id`, [id, at]);
    return rows.length > 0;
  }

  /** running -> retry with the error of this attempt. False when the run is no longer running (cancelled). */
  async markRetry(manager: EntityManager, id: string, error: RunError, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      `UPDATE runs SET status = 'retry', error = $2, updated_at = $3 WHERE id = $1 AND status = 'running' RETURNING id`,
      [id, JSON.stringify(error), at],
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
    const rows = await queryRows(
      manager,
      `UPDATE runs SET status = $2, output = $3, error = $4, replay = COALESCE($5, replay), finished_at = $6, updated_at = $6
       WHERE id = $1 AND status = 'running' RETURNING id`,
      [
        id,
        outcome.status,
        JSON.stringify(outcome.output ?? null),
        outcome.error ? JSON.stringify(outcome.error) : null,
        outcome.replay === undefined ? null : JSON.stringify(outcome.replay),
        at,
      ],
    );
    return rows.length > 0;
  }

  /** queued/running/retry -> cancelled. Null when the run is not the tenant's or already finished. */
  async cancel(manager: EntityManager, tenantId: string, id: string, at: Date): Promise<RunRecord | null> {
    const rows: RunRecord[] = await queryRows(
      manager,
      `UPDATE runs SET status = 'cancelled', error = $3, finished_at = $4, updated_at = $4
       WHERE id = $1 AND tenant_id = $2 AND status IN ('queued', 'running', 'retry') RETURNING *`,
      [id, tenantId, JSON.stringify({ type: 'cancelled', message: 'The run was cancelled.' }), at],
    );
    return rows[0] ?? null;
  }

  /** Active runs not updated since `before`: candidates whose job may have been lost. */
  async findStale(manager: EntityManager, before: Date, limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await queryRows(
      manager,
      `SELECT id FROM runs WHERE status IN ('queued', 'running', 'retry') AND updated_at < $1 ORDER BY updated_at LIMIT $2`,
      [before, limit],
    );
    return rows.map((r) => r.id);
  }
}
