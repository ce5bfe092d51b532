import type { EntityManager } from 'typeorm';
import { queryRows } from '../../infra/database/sql.js';
import type { NewRun, RunRecord, RunStatus } from '../run.types.js';
import { NEW_RUN_COLUMNS, newRunParams } from './run-store.driver.js';

export interface IdempotencyCheck {
  exists: boolean;
  runId: string | null;
  status: RunStatus | null;
  isExpired: boolean;
  /** Fingerprint (SHA-256 of the canonical request) stored with the key. */
  fingerprint: string | null;
}

export interface IdempotencyScope {
  tenantId: string;
  agentId: string;
  key: string;
}

type KeyedRun = RunRecord & { key_fingerprint: string; key_expires_at: Date };

/** PostgreSQL's SQLSTATE for a lock wait cut short by lock_timeout. */
export const LOCK_TIMEOUT_SQLSTATE = '55P03';

/**
 * Runs by idempotency key (scope: tenant + agent + key). Unlike a check-then-insert design, a race is
 * decided by the primary key of run_idempotency_keys inside one statement: the key row and the run
 * are written together, a concurrent request waits on the key row and then sees the committed run.
 * Never opens a transaction (it works in the manager it is handed).
 */
export class IdempotencyDriver {
  /**
   * Inserts the run and claims its key in one statement. Returns the run, or null when a live key
   * already holds another run (an expired key is taken over).
   *
   * A concurrent request with the same key waits for the first one's statement to commit; it waits at
   * most `lockTimeoutMs` (then PostgreSQL raises LOCK_TIMEOUT_SQLSTATE: the request is in progress).
   * The limit is set with `set_config(..., true)` inside the statement, so it holds for this statement's
   * implicit transaction only and costs no round trip.
   */
  async insertRunWithKey(
    manager: EntityManager,
    run: NewRun,
    scope: IdempotencyScope,
    fingerprint: string,
    expiresAt: Date,
    lockTimeoutMs: number,
  ): Promise<RunRecord | null> {
    const params = newRunParams(run);
    const n = params.length;
    const rows: RunRecord[] = await queryRows(
      manager,
      `WITH claimed AS (
         INSERT INTO run_idempotency_keys AS k (tenant_id, agent_id, key, fingerprint, run_id, created_at, expires_at)
         SELECT $${n + 1}::uuid, $${n + 2}::text, $${n + 3}::text, $${n + 4}::text, $1::uuid, $12::timestamptz, $${n + 5}::timestamptz
         FROM (SELECT set_config('lock_timeout', $${n + 6}::text, true)) AS lock_limit
         ON CONFLICT (tenant_id, agent_id, key) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, run_id = EXCLUDED.run_id, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
           WHERE k.expires_at <= EXCLUDED.created_at
         RETURNING run_id
       )
       INSERT INTO runs (${NEW_RUN_COLUMNS})
       SELECT $1::uuid, $2::uuid, $3, $4, $5, $6::json, $7::json, $8::json, $9::int, $10::uuid, $11::json, $12::timestamptz, $13::timestamptz
       FROM claimed
       RETURNING *`,
      [...params, scope.tenantId, scope.agentId, scope.key, fingerprint, expiresAt, String(Math.max(1, Math.round(lockTimeoutMs)))],
    );
    return rows[0] ?? null;
  }

  /** The run a live or expired key points to, or null when no key row exists. */
  async getExistingRun(manager: EntityManager, key: string, tenantId: string, agentId: string): Promise<KeyedRun | null> {
    const rows = await queryRows<KeyedRun>(
      manager,
      `SELECT r.*, k.fingerprint AS key_fingerprint, k.expires_at AS key_expires_at
       FROM run_idempotency_keys k JOIN runs r ON r.id = k.run_id
       WHERE k.tenant_id = $1 AND k.agent_id = $2 AND k.key = $3`,
      [tenantId, agentId, key],
    );
    return rows[0] ?? null;
  }

  async checkIdempotency(
    manager: EntityManager,
    key: string,
    tenantId: string,
    agentId: string,
    now: Date,
  ): Promise<IdempotencyCheck & { run: RunRecord | null }> {
    const existing = await this.getExistingRun(manager, key, tenantId, agentId);
    if (!existing) return { exists: false, runId: null, status: null, isExpired: false, fingerprint: null, run: null };
    const { key_fingerprint, key_expires_at, ...run } = existing;
    return {
      exists: true,
      runId: run.id,
      status: run.status,
      isExpired: key_expires_at.getTime() <= now.getTime(),
      fingerprint: key_fingerprint,
      run,
    };
  }

  /**
   * True for a live key: its run is the answer, whatever its status. A cancelled run included: a retry
   * never redoes work that was cancelled (to run the request again, the client sends a new key).
   */
  shouldReturnCached(result: IdempotencyCheck): boolean {
    return result.exists && !result.isExpired && result.status !== null;
  }

  /** Deletes up to `limit` expired keys (their runs stay); returns how many. */
  async purgeExpired(manager: EntityManager, now: Date, limit: number): Promise<number> {
    const rows = await queryRows(
      manager,
      `DELETE FROM run_idempotency_keys WHERE ctid IN (SELECT ctid FROM run_idempotency_keys WHERE expires_at <= $1 LIMIT $2) RETURNING 1`,
      [now, limit],
    );
    return rows.length;
  }
}
