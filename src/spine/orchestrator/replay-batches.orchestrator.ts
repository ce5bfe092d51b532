import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TRACE_STORE_DRIVER } from '../../domains/logs/drivers/logs-drivers.tokens.js';
import type { TraceStoreDriver } from '../../domains/logs/drivers/trace-store.driver.js';
import { CLOCK, type Clock } from '../../infra/clock.js';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { METRICS, type Metrics } from '../../infra/metrics/metrics.js';
import type { NewItem, ReplayBatchStoreDriver } from '../drivers/replay-batch-store.driver.js';
import type { RunStoreDriver } from '../drivers/run-store.driver.js';
import { REPLAY_BATCH_STORE_DRIVER, RUN_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import type { BatchFilter, BatchItemView, BatchVerdict, ItemState, ReplayBatchRecord, ReplayBatchView } from '../replay-batch.types.js';
import { type FieldError, SpineErrorCode, SpineException } from '../spine.exception.js';
import { decodeCursor, decodePositionCursor, encodeCursor, encodePositionCursor } from './cursors.js';
import { itemOutcome, misfitReason, noProgress, ReplayBatchAdvancer } from './replay-batch-advancer.js';
import { lengthErrors, requestErrors } from './replay-planner.js';
import { purgeCutoff, REPLAY_BEFORE_PURGE_MARGIN_MS } from './retention.js';
import { inProgress, isLockTimeout, KEY_LOCK_TIMEOUT_MS, MAX_KEY_ROUNDS, requestFingerprint } from './runs.orchestrator.js';

export interface CreateBatchCommand {
  tenantId: string;
  idempotencyKey: string | null;
  /** The request body exactly as received: its canonical JSON is the idempotency fingerprint. */
  body: unknown;
  /** The filter, defaults applied. */
  filter: BatchFilter;
  /** The replay options exactly as sent (the body of POST /v1/runs/{id}/replay). */
  replay: Record<string, unknown>;
}

export interface CreatedBatch {
  batch: ReplayBatchView;
  /** True when an earlier request with the same key and body created the batch. */
  replayed: boolean;
}

export interface BatchPage {
  data: ReplayBatchView[];
  next_cursor: string | null;
}

export interface ItemPage {
  data: BatchItemView[];
  next_cursor: string | null;
}

/**
 * Replay batches (POST /v1/replays): replay many finished runs with one set of options, at most
 * REPLAY_BATCH_CONCURRENCY replay runs of a batch at once, and report a verdict per run.
 *
 * The items are frozen when the batch is created, in the transaction that writes the batch row (and
 * starts its first items). From then on a batch moves only inside transactions that hold its row lock:
 * the one that finishes or cancels one of its replay runs (run execution, run cancel), its cancel, and
 * the sweep that repairs a batch a crash left behind (`ReplayBatchAdvancer`).
 */
@Injectable()
export class ReplayBatchesOrchestrator {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(REPLAY_BATCH_STORE_DRIVER) private readonly batches: ReplayBatchStoreDriver,
    @Inject(RUN_STORE_DRIVER) private readonly runs: RunStoreDriver,
    @Inject(TRACE_STORE_DRIVER) private readonly traces: TraceStoreDriver,
    private readonly advancer: ReplayBatchAdvancer,
    @InjectConfig('idempotency') private readonly idempotencyConfig: AppConfig['idempotency'],
    @InjectConfig('retention') private readonly retention: AppConfig['retention'],
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {}

  /**
   * Creates a batch (idempotent under its key, scope tenant + key, as run creation). Options that cannot
   * apply to any run (an unknown behavior, a bad pointer) are a 400; options that do not fit one run (an
   * index beyond its plan) make that run's item `failed` with the reason.
   */
  async createBatch(command: CreateBatchCommand): Promise<CreatedBatch> {
    const errors = [...filterErrors(command.filter), ...replayErrors(command.replay)];
    if (errors.length > 0) throw new SpineException(SpineErrorCode.InvalidRunRequest, 'The replay batch request is invalid.', { errors });
    const fingerprint = requestFingerprint(command.body);
    const key = command.idempotencyKey;
    if (key !== null) {
      const existing = await this.batchOfKey(command.tenantId, key, fingerprint);
      if (existing) return existing;
    }
    for (let round = 0; round < MAX_KEY_ROUNDS; round++) {
      const at = this.clock.now();
      const id = randomUUID();
      const progress = noProgress();
      const created = await this.dataSource
        .transaction(async (manager) => {
          if (key !== null) {
            const expiresAt = new Date(at.getTime() + this.idempotencyConfig.ttlSeconds * 1000);
            const claim = { tenant_id: command.tenantId, key, fingerprint, batch_id: id, created_at: at, expires_at: expiresAt };
            if (!(await this.batches.claimKey(manager, claim, KEY_LOCK_TIMEOUT_MS))) return null;
          }
          // Runs about to be purged (RUN_RETENTION_DAYS) are not selected, as a single replay refuses them.
          const cutoff = purgeCutoff(at, this.retention.runDays);
          const finishedAfter = cutoff && new Date(cutoff.getTime() + REPLAY_BEFORE_PURGE_MARGIN_MS);
          const candidates = await this.batches.findCandidates(manager, command.tenantId, command.filter, finishedAfter);
          const items = candidates.map((run, position): NewItem => {
            const misfit = lengthErrors(command.replay, run.step_count);
            return misfit.length > 0
              ? { position, run_id: run.id, state: 'failed', reason: misfitReason(misfit) }
              : { position, run_id: run.id, state: 'pending', reason: null };
          });
          const batch = await this.batches.insertBatch(manager, {
            id,
            tenant_id: command.tenantId,
            status: 'running',
            filter: command.filter,
            replay: command.replay,
            total: items.length,
            idempotency_key: key,
            created_at: at,
            updated_at: at,
            finished_at: null,
          });
          await this.batches.insertItems(manager, id, items, at);
          for (const item of items) if (item.state === 'failed') progress.verdicts.push('failed');
          await this.advancer.advance(manager, batch, at, progress);
          return batch;
        })
        .catch((error: unknown) => {
          if (isLockTimeout(error)) throw inProgress();
          throw error;
        });
      if (created) {
        this.metrics.replayBatchesCreated.inc();
        await this.advancer.publish(progress);
        return { batch: await this.getBatch(command.tenantId, created.id), replayed: false };
      }
      const existing = await this.batchOfKey(command.tenantId, key!, fingerprint);
      if (existing) return existing;
      // the key expired or was freed between the claim and this read: try again
    }
    throw inProgress();
  }

  async getBatch(tenantId: string, id: string): Promise<ReplayBatchView> {
    const batch = await this.batches.findForTenant(this.dataSource.manager, tenantId, id);
    if (!batch) throw notFound(id);
    return (await this.withCounts([batch]))[0];
  }

  async listBatches(tenantId: string, query: { limit: number; cursor?: string }): Promise<BatchPage> {
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.batches.list(this.dataSource.manager, tenantId, before, query.limit);
    const data = rows.slice(0, query.limit);
    return {
      data: await this.withCounts(data),
      next_cursor: rows.length > query.limit ? encodeCursor(data[data.length - 1].seq) : null,
    };
  }

  /** Items in the batch's order (newest original first), filtered by verdict. */
  async listItems(tenantId: string, id: string, query: { verdict?: BatchVerdict; limit: number; cursor?: string }): Promise<ItemPage> {
    const after = query.cursor === undefined ? undefined : decodePositionCursor(query.cursor);
    await this.getBatch(tenantId, id);
    const states: ItemState[] | undefined =
      query.verdict === undefined ? undefined : query.verdict === 'pending' ? ['pending', 'running'] : [query.verdict];
    const rows = await this.batches.items(this.dataSource.manager, id, { states, afterPosition: after }, query.limit);
    const data = rows.slice(0, query.limit);
    return { data, next_cursor: rows.length > query.limit ? encodePositionCursor(data[data.length - 1].position) : null };
  }

  /**
   * Cancels a running batch in one transaction: pending items never start, the replay runs of running
   * items are cancelled as POST /v1/runs/{id}/cancel cancels a run (a running step may finish; no further
   * step starts), and their items read `cancelled`. A finished batch: 409.
   */
  async cancelBatch(tenantId: string, id: string): Promise<ReplayBatchView> {
    const at = this.clock.now();
    const progress = noProgress();
    await this.dataSource.transaction(async (manager) => {
      const batch = await this.batches.findForTenant(manager, tenantId, id);
      if (!batch) throw notFound(id);
      const locked = (await this.advancer.lockBatch(manager, id))!;
      if (locked.status !== 'running') {
        throw new SpineException(
          SpineErrorCode.ReplayBatchFinished,
          `Replay batch ${id} is ${locked.status}; only a running batch can be cancelled.`,
        );
      }
      const never = await this.batches.cancelPending(manager, id, 'The batch was cancelled before this item started.', at);
      for (let i = 0; i < never; i++) progress.verdicts.push('cancelled');
      for (const runId of await this.batches.runningReplayRunIds(manager, id)) {
        const cancelled = await this.runs.cancel(manager, tenantId, runId, at);
        if (cancelled) await this.traces.cancelRemaining(manager, cancelled.id, cancelled.steps, 0, at);
        // A replay run that finished without settling its item (the sweep's case) keeps its own verdict.
        const final = cancelled ?? (await this.runs.findForTenant(manager, tenantId, runId));
        if (!final) continue;
        const outcome = itemOutcome(final);
        if (cancelled) outcome.reason = 'The batch was cancelled while this replay ran.';
        if (await this.batches.settleByReplayRun(manager, runId, outcome, at)) progress.verdicts.push(outcome.state);
      }
      await this.batches.finish(manager, id, 'cancelled', at);
    });
    await this.advancer.publish(progress);
    return this.getBatch(tenantId, id);
  }

  async countRunningBatches(): Promise<number> {
    return this.batches.countRunningBatches(this.dataSource.manager);
  }

  private async withCounts(batches: ReplayBatchRecord[]): Promise<ReplayBatchView[]> {
    const counts = await this.batches.counts(
      this.dataSource.manager,
      batches.map((b) => b.id),
    );
    return batches.map((batch) => ({ ...batch, counts: counts.get(batch.id)! }));
  }

  /** The batch a live key holds, when this request is its retry; 422 for a key used with another body; null when free. */
  private async batchOfKey(tenantId: string, key: string, fingerprint: string): Promise<CreatedBatch | null> {
    const row = await this.batches.findKey(this.dataSource.manager, tenantId, key);
    if (!row || row.expires_at.getTime() <= this.clock.now().getTime()) return null;
    if (row.fingerprint !== fingerprint) {
      this.metrics.idempotencyKeyReused.inc();
      throw new SpineException(
        SpineErrorCode.IdempotencyKeyReused,
        'This Idempotency-Key was used with another request body; use a new key for a new request.',
      );
    }
    this.metrics.idempotentReplays.inc();
    return { batch: await this.getBatch(tenantId, row.batch_id), replayed: true };
  }
}

function notFound(id: string): SpineException {
  return new SpineException(SpineErrorCode.ReplayBatchNotFound, `Replay batch ${id} does not exist.`);
}

/** What the filter's shape cannot say: a time window that is empty, more named runs than the limit takes. */
function filterErrors(filter: BatchFilter): FieldError[] {
  const errors: FieldError[] = [];
  if (
    filter.created_after !== undefined &&
    filter.created_before !== undefined &&
    Date.parse(filter.created_after) >= Date.parse(filter.created_before)
  ) {
    errors.push({ field: 'filter.created_before', message: 'created_before must be later than created_after' });
  }
  if (filter.run_ids !== undefined && filter.run_ids.length > filter.limit) {
    errors.push({
      field: 'filter.run_ids',
      message: `run_ids names ${filter.run_ids.length} runs, more than limit (${filter.limit}); raise limit (at most 1000)`,
    });
  }
  return errors;
}

/** Errors of the replay options whatever the run (the per-run ones, indexes beyond a plan, fail only that run's item). */
function replayErrors(replay: Record<string, unknown>): FieldError[] {
  return requestErrors(replay).map((e) => ({ ...e, field: `replay.${e.field}` }));
}
