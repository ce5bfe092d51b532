import type { EntityManager } from 'typeorm';
import { join, queryRows, sql } from '../../infra/database/sql.js';
import type {
  BatchCounts,
  BatchFilter,
  BatchItemView,
  BatchKeyRecord,
  BatchStatus,
  ItemState,
  ReplayBatchRecord,
} from '../replay-batch.types.js';
import type { RunRecord } from '../run.types.js';
import { REPLAY_BATCH_ITEMS, REPLAY_BATCH_KEYS, REPLAY_BATCHES, RUNS } from './spine.tables.js';

/** What an item ends with: its state, the replay's first mismatching step, why it failed. */
export interface ItemOutcome {
  state: Extract<ItemState, 'match' | 'mismatch' | 'failed' | 'cancelled'>;
  first_mismatch_step: number | null;
  reason: string | null;
}

/** A new item: its original run and, when the replay options cannot apply to it, its failure. */
export interface NewItem {
  position: number;
  run_id: string;
  state: 'pending' | 'failed';
  reason: string | null;
}

/** A finished replay run of an item that still shows it running (what the sweep repairs). */
export type SettleableRun = Pick<RunRecord, 'id' | 'status' | 'error' | 'replay'>;

/**
 * Replay batches, their items and their request keys. Never opens a transaction: every method works in
 * the manager it is handed (the orchestrator holds the batch row's lock around the ones that change items).
 */
export class ReplayBatchStoreDriver {
  /**
   * Claims a request key for `key.batch_id` (an expired key is taken over). False when a live key holds
   * another batch. A concurrent claim of the same key waits for this transaction, at most `lockTimeoutMs`
   * (then LOCK_TIMEOUT_SQLSTATE), set for the rest of the caller's transaction by `set_config(..., true)`.
   */
  async claimKey(manager: EntityManager, key: BatchKeyRecord, lockTimeoutMs: number): Promise<boolean> {
    const lockTimeout = String(Math.max(1, Math.round(lockTimeoutMs)));
    const rows = await queryRows(
      manager,
      sql`${REPLAY_BATCH_KEYS.insertSelect(key)}
       FROM (SELECT set_config('lock_timeout', ${lockTimeout}::text, true)) AS lock_limit
       ON CONFLICT (tenant_id, key) DO UPDATE SET ${REPLAY_BATCH_KEYS.setExcluded(['fingerprint', 'batch_id', 'created_at', 'expires_at'])}
         WHERE replay_batch_keys.expires_at <= EXCLUDED.created_at
       RETURNING batch_id`,
    );
    return rows.length > 0;
  }

  async findKey(manager: EntityManager, tenantId: string, key: string): Promise<BatchKeyRecord | null> {
    const rows = await queryRows<BatchKeyRecord>(
      manager,
      sql`SELECT ${REPLAY_BATCH_KEYS.columns()} FROM replay_batch_keys WHERE tenant_id = ${tenantId} AND key = ${key}`,
    );
    return rows[0] ?? null;
  }

  /** Deletes up to `limit` expired batch keys (their batches stay); returns how many. */
  async purgeExpiredKeys(manager: EntityManager, now: Date, limit: number): Promise<number> {
    const rows = await queryRows(
      manager,
      sql`DELETE FROM replay_batch_keys
       WHERE ctid IN (SELECT ctid FROM replay_batch_keys WHERE expires_at <= ${now} LIMIT ${limit}) RETURNING 1`,
    );
    return rows.length;
  }

  /**
   * The tenant's finished runs the filter selects, newest first, at most `filter.limit`. Replay runs are
   * left out unless `run_ids` names them. `created_after` and `created_before` are exclusive; runs that
   * finished before `finishedAfter` (about to be purged by run retention) are left out. Only the id and
   * the plan's length are read (a batch may select 1,000 runs; their plans are read one item at a time).
   */
  async findCandidates(
    manager: EntityManager,
    tenantId: string,
    filter: BatchFilter,
    finishedAfter: Date | null,
  ): Promise<Array<{ id: string; step_count: number }>> {
    const where = [sql`tenant_id = ${tenantId}`, sql`status = ANY(${filter.status}::text[])`];
    if (finishedAfter !== null) where.push(sql`finished_at >= ${finishedAfter}`);
    if (filter.agent_id !== undefined) where.push(sql`agent_id = ${filter.agent_id}`);
    if (filter.created_after !== undefined) where.push(sql`created_at > ${filter.created_after}::timestamptz`);
    if (filter.created_before !== undefined) where.push(sql`created_at < ${filter.created_before}::timestamptz`);
    if (filter.run_ids !== undefined) where.push(sql`id = ANY(${filter.run_ids}::uuid[])`);
    else where.push(sql`replay_of IS NULL`);
    return queryRows(
      manager,
      sql`SELECT id, json_array_length(steps) AS step_count FROM runs WHERE ${join(where, ' AND ')} ORDER BY seq DESC LIMIT ${filter.limit}`,
    );
  }

  async insertBatch(manager: EntityManager, batch: Omit<ReplayBatchRecord, 'seq'>): Promise<ReplayBatchRecord> {
    const rows = await queryRows<ReplayBatchRecord>(
      manager,
      sql`${REPLAY_BATCHES.insert({ ...batch, filter: JSON.stringify(batch.filter), replay: JSON.stringify(batch.replay) })}
       RETURNING ${REPLAY_BATCHES.columns()}`,
    );
    return rows[0];
  }

  async insertItems(manager: EntityManager, batchId: string, items: readonly NewItem[], at: Date): Promise<void> {
    if (items.length === 0) return;
    await queryRows(
      manager,
      sql`INSERT INTO replay_batch_items (batch_id, position, run_id, state, reason, updated_at)
       SELECT ${batchId}::uuid, i.position, i.run_id, i.state, i.reason, ${at}::timestamptz
       FROM unnest(${items.map((i) => i.position)}::int[], ${items.map((i) => i.run_id)}::uuid[],
         ${items.map((i) => i.state)}::text[], ${items.map((i) => i.reason)}::text[]) AS i(position, run_id, state, reason)`,
    );
  }

  async findForTenant(manager: EntityManager, tenantId: string, id: string): Promise<ReplayBatchRecord | null> {
    const rows = await queryRows<ReplayBatchRecord>(
      manager,
      sql`SELECT ${REPLAY_BATCHES.columns()} FROM replay_batches WHERE id = ${id} AND tenant_id = ${tenantId}`,
    );
    return rows[0] ?? null;
  }

  /**
   * Locks the batch row (FOR UPDATE) in the caller's transaction: every change of its items happens
   * under this lock, taken before any of its runs' rows. With `skipLocked`, null when another holds it.
   */
  async lock(manager: EntityManager, id: string, options: { skipLocked?: boolean } = {}): Promise<ReplayBatchRecord | null> {
    const rows = await queryRows<ReplayBatchRecord>(
      manager,
      sql`SELECT ${REPLAY_BATCHES.columns()} FROM replay_batches WHERE id = ${id} FOR UPDATE ${options.skipLocked ? sql`SKIP LOCKED` : sql``}`,
    );
    return rows[0] ?? null;
  }

  /** Newest first, keyset-paginated on `seq`; fetches `limit + 1` rows so the caller knows if more exist. */
  async list(manager: EntityManager, tenantId: string, beforeSeq: string | undefined, limit: number): Promise<ReplayBatchRecord[]> {
    const where = [sql`tenant_id = ${tenantId}`];
    if (beforeSeq !== undefined) where.push(sql`seq < ${beforeSeq}`);
    return queryRows(
      manager,
      sql`SELECT ${REPLAY_BATCHES.columns()} FROM replay_batches WHERE ${join(where, ' AND ')} ORDER BY seq DESC LIMIT ${limit + 1}`,
    );
  }

  /** Items by verdict of each batch, counted in one statement (so they always add up to its total). */
  async counts(manager: EntityManager, batchIds: readonly string[]): Promise<Map<string, BatchCounts>> {
    const result = new Map<string, BatchCounts>(batchIds.map((id) => [id, { pending: 0, match: 0, mismatch: 0, failed: 0, cancelled: 0 }]));
    if (batchIds.length === 0) return result;
    const rows = await queryRows<{ batch_id: string; state: ItemState; count: string }>(
      manager,
      sql`SELECT batch_id, state, count(*) AS count FROM replay_batch_items WHERE batch_id = ANY(${batchIds}::uuid[]) GROUP BY batch_id, state`,
    );
    for (const row of rows) {
      const counts = result.get(row.batch_id)!;
      counts[row.state === 'running' ? 'pending' : row.state] += Number(row.count);
    }
    return result;
  }

  /** Items in position order after `afterPosition`, in `states` if given; `limit + 1` rows. */
  async items(
    manager: EntityManager,
    batchId: string,
    filters: { states?: readonly ItemState[]; afterPosition?: number },
    limit: number,
  ): Promise<BatchItemView[]> {
    const where = [sql`i.batch_id = ${batchId}`];
    if (filters.states !== undefined) where.push(sql`i.state = ANY(${filters.states}::text[])`);
    if (filters.afterPosition !== undefined) where.push(sql`i.position > ${filters.afterPosition}`);
    return queryRows(
      manager,
      sql`SELECT ${REPLAY_BATCH_ITEMS.columns(REPLAY_BATCH_ITEMS.columnNames, 'i')}, r.status AS replay_status
       FROM replay_batch_items i LEFT JOIN runs r ON r.id = i.replay_run_id
       WHERE ${join(where, ' AND ')} ORDER BY i.position LIMIT ${limit + 1}`,
    );
  }

  /** Items whose replay run is active (started, no verdict yet). */
  async countRunning(manager: EntityManager, batchId: string): Promise<number> {
    const rows = await queryRows<{ count: string }>(
      manager,
      sql`SELECT count(*) AS count FROM replay_batch_items WHERE batch_id = ${batchId} AND state = 'running'`,
    );
    return Number(rows[0]?.count ?? 0);
  }

  /** The next `limit` items not started, in position order, each with its original run (null: purged since). */
  async nextPending(
    manager: EntityManager,
    batchId: string,
    limit: number,
  ): Promise<Array<{ position: number; run_id: string; original: RunRecord | null }>> {
    const rows = await queryRows<RunRecord & { item_position: number; item_run_id: string }>(
      manager,
      sql`SELECT i.position AS item_position, i.run_id AS item_run_id, ${RUNS.columns(RUNS.columnNames, 'r')}
       FROM replay_batch_items i LEFT JOIN runs r ON r.id = i.run_id
       WHERE i.batch_id = ${batchId} AND i.state = 'pending' ORDER BY i.position LIMIT ${limit}`,
    );
    return rows.map(({ item_position, item_run_id, ...original }) => ({
      position: item_position,
      run_id: item_run_id,
      original: original.id === null ? null : original,
    }));
  }

  /** pending -> running with its replay run. False when the item was not pending. */
  async markStarted(manager: EntityManager, batchId: string, position: number, replayRunId: string, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`UPDATE replay_batch_items SET state = 'running', replay_run_id = ${replayRunId}, updated_at = ${at}
       WHERE batch_id = ${batchId} AND position = ${position} AND state = 'pending' RETURNING 1`,
    );
    return rows.length > 0;
  }

  /** pending -> its outcome without a replay run (the options do not fit the run). */
  async settlePending(manager: EntityManager, batchId: string, position: number, outcome: ItemOutcome, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`UPDATE replay_batch_items SET state = ${outcome.state}, first_mismatch_step = ${outcome.first_mismatch_step},
         reason = ${outcome.reason}, updated_at = ${at}
       WHERE batch_id = ${batchId} AND position = ${position} AND state = 'pending' RETURNING 1`,
    );
    return rows.length > 0;
  }

  /** running -> the outcome of its replay run. False when no running item has this replay run. */
  async settleByReplayRun(manager: EntityManager, replayRunId: string, outcome: ItemOutcome, at: Date): Promise<boolean> {
    const rows = await queryRows(
      manager,
      sql`UPDATE replay_batch_items SET state = ${outcome.state}, first_mismatch_step = ${outcome.first_mismatch_step},
         reason = ${outcome.reason}, updated_at = ${at}
       WHERE replay_run_id = ${replayRunId} AND state = 'running' RETURNING 1`,
    );
    return rows.length > 0;
  }

  /** Every pending item -> cancelled (they never start); returns how many. */
  async cancelPending(manager: EntityManager, batchId: string, reason: string, at: Date): Promise<number> {
    const rows = await queryRows(
      manager,
      sql`UPDATE replay_batch_items SET state = 'cancelled', reason = ${reason}, updated_at = ${at}
       WHERE batch_id = ${batchId} AND state = 'pending' RETURNING 1`,
    );
    return rows.length;
  }

  /** The replay runs of the items still running. */
  async runningReplayRunIds(manager: EntityManager, batchId: string): Promise<string[]> {
    const rows = await queryRows<{ replay_run_id: string }>(
      manager,
      sql`SELECT replay_run_id FROM replay_batch_items WHERE batch_id = ${batchId} AND state = 'running' ORDER BY position`,
    );
    return rows.map((r) => r.replay_run_id);
  }

  /** Replay runs that finished while their item still shows them running (a finish that did not settle its item). */
  async findSettleable(manager: EntityManager, batchId: string): Promise<SettleableRun[]> {
    return queryRows(
      manager,
      sql`SELECT ${RUNS.columns(['id', 'status', 'error', 'replay'], 'r')}
       FROM replay_batch_items i JOIN runs r ON r.id = i.replay_run_id
       WHERE i.batch_id = ${batchId} AND i.state = 'running' AND r.status IN ('succeeded', 'failed', 'cancelled')`,
    );
  }

  /** running -> completed or cancelled. */
  async finish(manager: EntityManager, id: string, status: Exclude<BatchStatus, 'running'>, at: Date): Promise<void> {
    await queryRows(
      manager,
      sql`UPDATE replay_batches SET status = ${status}, finished_at = ${at}, updated_at = ${at} WHERE id = ${id} AND status = 'running' RETURNING 1`,
    );
  }

  async touch(manager: EntityManager, id: string, at: Date): Promise<void> {
    await queryRows(manager, sql`UPDATE replay_batches SET updated_at = ${at} WHERE id = ${id} RETURNING 1`);
  }

  /**
   * Running batches that cannot move by themselves: an item shows a replay run that has finished, fewer
   * than `concurrency` items run while some are pending, or nothing is left to run. None of these lasts
   * past a commit when every step goes well; the sweep repairs them after a crash or a lost statement.
   */
  async findStuck(manager: EntityManager, concurrency: number, limit: number): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      manager,
      sql`SELECT b.id FROM replay_batches b
       WHERE b.status = 'running' AND (
         EXISTS (SELECT 1 FROM replay_batch_items i JOIN runs r ON r.id = i.replay_run_id
                 WHERE i.batch_id = b.id AND i.state = 'running' AND r.status IN ('succeeded', 'failed', 'cancelled'))
         OR NOT EXISTS (SELECT 1 FROM replay_batch_items i WHERE i.batch_id = b.id AND i.state IN ('pending', 'running'))
         OR (EXISTS (SELECT 1 FROM replay_batch_items i WHERE i.batch_id = b.id AND i.state = 'pending')
             AND (SELECT count(*) FROM replay_batch_items i WHERE i.batch_id = b.id AND i.state = 'running') < ${concurrency}))
       ORDER BY b.updated_at LIMIT ${limit}`,
    );
    return rows.map((r) => r.id);
  }

  async countRunningBatches(manager: EntityManager): Promise<number> {
    const rows = await queryRows<{ count: string }>(manager, sql`SELECT count(*) AS count FROM replay_batches WHERE status = 'running'`);
    return Number(rows[0]?.count ?? 0);
  }
}
