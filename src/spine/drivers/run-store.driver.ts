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
   * Takes a run for execution as a new attempt (attempts + 1: the attempt's fencing token) holding a
   * lease until `leaseUntil`: a queued or retry run, or a running run whose holder's lease expired (it
   * crashed, stalled or was cut off). A running run whose lease is live is `busy` until the lease ends.
   * Null when the run is finished, cancelled or unknown (nothing to do).
   */
  async startAttempt(manager: EntityManager, id: string, at: Date, leaseUntil: Date): Promise<RunRecord | { busyUntil: Date } | null> {
    const rows: RunRecord[] = await queryRows(
      manager,
      `UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, $2), updated_at = $2,
         lease_expires_at = $3
       WHERE id = $1 AND (status IN ('queued', 'retry') OR (status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at <= $2)))
       RETURNING *`,
      [id, at, leaseUntil],
    );
    if (rows[0]) return rows[0];
    const held: Array<{ lease_expires_at: Date }> = await queryRows(
      manager,
      `SELECT lease_expires_at FROM runs WHERE id = $1 AND status = 'running' AND lease_expires_at > $2`,
      [id, at],
    );
    return held[0] ? { busyUntil: held[0].lease_expires_at } : null;
  }

  /**
   * Extends the lease of attempt `attempt` (and marks the run alive for the sweep). False when the
   * attempt no longer holds the run: it was cancelled, finished, or taken by a later attempt.
   */
  async renewLease(manager: EntityManager, id: string, attempt: number, at: Date, leaseUntil: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      `UPDATE runs SET updated_at = $3, lease_expires_at = $4 WHERE id = $1 AND attempts = $2 AND status = 'running' RETURNING id`,
      [id, attempt, at, leaseUntil],
    );
    return rows.length > 0;
  }

  /** running -> retry with the error of this attempt. False when the attempt no longer holds the run. */
  async markRetry(manager: EntityManager, id: string, attempt: number, error: RunError, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      `UPDATE runs SET status = 'retry', error = $3, updated_at = $4, lease_expires_at = NULL
       WHERE id = $1 AND attempts = $2 AND status = 'running' RETURNING id`,
      [id, attempt, JSON.stringify(error), at],
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
      `UPDATE runs SET status = 'queued', attempts = attempts - 1, updated_at = $3, lease_expires_at = NULL
       WHERE id = $1 AND attempts = $2 AND status = 'running' RETURNING id`,
      [id, attempt, at],
    );
    return rows.length > 0;
  }

  /** running -> a final status. False when the attempt no longer holds the run (a cancel stands). */
  async finish(
    manager: EntityManager,
    id: string,
    attempt: number,
    outcome: { status: 'succeeded' | 'failed'; output: unknown; error: RunError | null; replay?: unknown },
    at: Date,
  ): Promise<boolean> {
    const rows = await queryRows(
      manager,
      `UPDATE runs SET status = $3, output = $4, error = $5, replay = COALESCE($6, replay), finished_at = $7, updated_at = $7,
         lease_expires_at = NULL
       WHERE id = $1 AND attempts = $2 AND status = 'running' RETURNING id`,
      [
        id,
        attempt,
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
      `UPDATE runs SET status = 'cancelled', error = $3, finished_at = $4, updated_at = $4, lease_expires_at = NULL
       WHERE id = $1 AND tenant_id = $2 AND status IN ('queued', 'running', 'retry') RETURNING *`,
      [id, tenantId, JSON.stringify({ type: 'cancelled', message: 'The run was cancelled.' }), at],
    );
    return rows[0] ?? null;
  }

  /** Queued/retry runs not updated since `before`, running runs whose lease expired: their job may be lost. */
  async findStale(manager: EntityManager, before: Date, now: Date, limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await queryRows(
      manager,
      `SELECT id FROM runs
       WHERE (status IN ('queued', 'retry') AND updated_at < $1) OR (status = 'running' AND COALESCE(lease_expires_at, updated_at) < $3)
       ORDER BY updated_at LIMIT $2`,
      [before, limit, now],
    );
    return rows.map((r) => r.id);
  }
}
