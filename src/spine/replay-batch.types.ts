import type { RunStatus } from '../shared/run.types.js';

/** Statuses of a batch: running until every item has its verdict, or cancelled. */
export type BatchStatus = 'running' | 'completed' | 'cancelled';

/** Where an item is: not started, its replay run active, or its verdict. */
export type ItemState = 'pending' | 'running' | 'match' | 'mismatch' | 'failed' | 'cancelled';

/** An item's verdict as the API shows it (`pending`: not started yet, or its replay run is still active). */
export type BatchVerdict = 'pending' | 'match' | 'mismatch' | 'failed' | 'cancelled';
export const BATCH_VERDICTS: readonly BatchVerdict[] = ['match', 'mismatch', 'failed', 'pending', 'cancelled'];

/** The statuses a batch may select: the finished runs a replay accepts. */
export type ReplayableStatus = 'succeeded' | 'failed';
export const REPLAYABLE_STATUSES: readonly ReplayableStatus[] = ['succeeded', 'failed'];

/** The batch's filter, defaults applied (status: both, limit: 100); timestamps as ISO 8601 UTC. */
export interface BatchFilter {
  agent_id?: string;
  status: ReplayableStatus[];
  created_after?: string;
  created_before?: string;
  run_ids?: string[];
  limit: number;
}

/** One row of `replay_batches`. `replay` is the replay options exactly as sent (the single replay's body). */
export interface ReplayBatchRecord {
  id: string;
  seq: string;
  tenant_id: string;
  status: BatchStatus;
  filter: BatchFilter;
  replay: Record<string, unknown>;
  total: number;
  idempotency_key: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

/** Items by verdict; `pending` counts items not started and items whose replay run is active. */
export interface BatchCounts {
  pending: number;
  match: number;
  mismatch: number;
  failed: number;
  cancelled: number;
}

export type ReplayBatchView = ReplayBatchRecord & { counts: BatchCounts };

/** One row of `replay_batch_items`: an original run of the batch, in the filter's order (position 0 = newest). */
export interface BatchItemRecord {
  batch_id: string;
  position: number;
  run_id: string;
  state: ItemState;
  replay_run_id: string | null;
  first_mismatch_step: number | null;
  reason: string | null;
  updated_at: Date;
}

/** An item with the status of its replay run (null before it has one). */
export type BatchItemView = BatchItemRecord & { replay_status: RunStatus | null };

/** A request key of batch creation (scope: tenant + key). */
export interface BatchKeyRecord {
  tenant_id: string;
  key: string;
  fingerprint: string;
  batch_id: string;
  created_at: Date;
  expires_at: Date;
}

/** The verdict of an item in a state (pending and running both read `pending`). */
export function verdictOf(state: ItemState): BatchVerdict {
  return state === 'running' ? 'pending' : state;
}
