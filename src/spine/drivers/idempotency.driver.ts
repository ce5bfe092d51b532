import type { EntityManager } from 'typeorm';
import { queryRows, sql } from '../../infra/database/sql.js';
import type { NewRun, RunRecord, RunStatus } from '../run.types.js';
import { insertedRun, newRunValues, RUN_IDEMPOTENCY_KEYS, RUNS } from './spine.tables.js';

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
    const key = RUN_IDEMPOTENCY_KEYS.insertSelect({
      tenant_id: scope.tenantId,
      agent_id: scope.agentId,
      key: scope.key,
      fingerprint,
      run_id: run.id,
      created_at: run.created_at,
      expires_at: expiresAt,
    });
    const lockTimeout = String(Math.max(1, Math.round(lockTimeoutMs)));
    const values = newRunValues(run);
    const rows = await queryRows<Pick<RunRecord, 'seq'>>(
      manager,
      sql`WITH claimed AS (
         ${key}
         FROM (SELECT set_config('lock_timeout', ${lockTimeout}::text, true)) AS lock_limit
         ON CONFLICT (tenant_id, agent_id, key) DO UPDATE
           SET ${RUN_IDEMPOTENCY_KEYS.setExcluded(['fingerprint', 'run_id', 'created_at', 'expires_at'])}
           WHERE run_idempotency_keys.expires_at <= EXCLUDED.created_at
         RETURNING run_id
       )
       ${RUNS.insertSelect(values)}
       FROM claimed
       RETURNING seq`,
      { prepared: true },
    );
    return rows.length > 0 ? insertedRun(values, rows[0].seq) : null;
  }

  /** The run a live or expired key points to, or null when no key row exists. */
  async getExistingRun(manager: EntityManager, key: string, tenantId: string, agentId: string): Promise<KeyedRun | null> {
    const rows = await queryRows<KeyedRun>(
      manager,
      sql`SELECT ${RUNS.columns(RUNS.columnNames, 'r')}, k.fingerprint AS key_fingerprint, k.expires_at AS key_expires_at
       FROM run_idempotency_keys k JOIN runs r ON r.id = k.run_id
       WHERE k.tenant_id = ${tenantId} AND k.agent_id = ${agentId} AND k.key = ${key}`,
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
      sql`DELETE FROM run_idempotency_keys
       WHERE ctid IN (SELECT ctid FROM run_idempotency_keys WHERE expires_at <= ${now} LIMIT ${limit}) RETURNING 1`,
    );
    return rows.length;
  }
}
