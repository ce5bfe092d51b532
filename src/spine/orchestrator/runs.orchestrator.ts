import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TRACE_STORE_DRIVER } from '../../domains/logs/drivers/logs-drivers.tokens.js';
import { canonicalJson, NonRepresentableJsonError, sha256Hex } from '../../shared/canonical-json.js';
import type { TraceStoreDriver } from '../../domains/logs/drivers/trace-store.driver.js';
import { type StepRecord, type StepSpec, type StepUsage, sumUsage } from '../../shared/step.types.js';
import { CLOCK, type Clock } from '../../infra/clock.js';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { METRICS, type Metrics } from '../../infra/metrics/metrics.js';
import { RUN_QUEUE, type RunQueue } from '../../infra/queue/run-queue.port.js';
import type { SkillRegistry } from '../../skills/skill-registry.js';
import { SKILL_REGISTRY } from '../../skills/skills.tokens.js';
import { type IdempotencyDriver, type IdempotencyScope, LOCK_TIMEOUT_SQLSTATE } from '../drivers/idempotency.driver.js';
import type { RunFilters, RunStoreDriver } from '../drivers/run-store.driver.js';
import { IDEMPOTENCY_DRIVER, RUN_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import type { NewRun, RunRecord, RunStatus, RunView, SignalRecord } from '../run.types.js';
import { SpineErrorCode, SpineException } from '../spine.exception.js';
import { decodeCursor, encodeCursor } from './cursors.js';
import { SECRETS_ORCHESTRATOR } from './orchestrator.tokens.js';
import { validatePlan } from './plan.js';
import { noProgress, ReplayBatchAdvancer } from './replay-batch-advancer.js';
import { isReplayable, type ReplayRequest } from './replay-options.js';
import { ReplayPlanner } from './replay-planner.js';
import { tooCloseToPurge } from './retention.js';
import type { SecretsOrchestrator } from './secrets.orchestrator.js';

export interface CreateRunCommand {
  tenantId: string;
  agentId: string;
  idempotencyKey: string | null;
  /** The request body exactly as received: its canonical JSON is the idempotency fingerprint. */
  body: unknown;
  input: unknown;
  steps: StepSpec[];
  metadata: unknown;
}

export interface ReplayRunCommand {
  tenantId: string;
  runId: string;
  idempotencyKey: string | null;
  body: unknown;
  request: ReplayRequest;
}

export interface CreatedRun {
  run: RunView;
  /** True when an earlier request with the same key and body created the run. */
  replayed: boolean;
}

export interface SendSignalCommand {
  tenantId: string;
  runId: string;
  name: string;
  /** The request body (any JSON): the output of the `wait` step that consumes the signal. */
  payload: unknown;
  idempotencyKey: string | null;
}

export interface SentSignal {
  signal: SignalRecord;
  /** True when a request with the same Idempotency-Key stored this signal before. */
  replayed: boolean;
}

export interface RunPage {
  data: RunView[];
  next_cursor: string | null;
}

export type TraceStep = StepRecord & { usage: StepUsage | null };

export interface RunTrace {
  run: RunView;
  steps: TraceStep[];
}

/** How many times a create re-reads a key that expired between its two statements. */
export const MAX_KEY_ROUNDS = 5;
/**
 * How long a create waits for a concurrent create with the same key to commit. Past it the request
 * is answered 409 idempotency-request-in-progress (Retry-After) rather than left hanging.
 */
export const KEY_LOCK_TIMEOUT_MS = 2_000;

/** The run operations the API calls: create (idempotent), read, list, cancel, trace, replay. */
@Injectable()
export class RunsOrchestrator {
  private readonly logger = new Logger(RunsOrchestrator.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RUN_STORE_DRIVER) private readonly runs: RunStoreDriver,
    @Inject(IDEMPOTENCY_DRIVER) private readonly idempotency: IdempotencyDriver,
    @Inject(TRACE_STORE_DRIVER) private readonly traces: TraceStoreDriver,
    @Inject(SKILL_REGISTRY) private readonly skills: SkillRegistry,
    @Inject(RUN_QUEUE) private readonly queue: RunQueue,
    @InjectConfig('limits') private readonly limits: AppConfig['limits'],
    @InjectConfig('idempotency') private readonly idempotencyConfig: AppConfig['idempotency'],
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS) private readonly metrics: Metrics,
    @Inject(SECRETS_ORCHESTRATOR) private readonly secrets: SecretsOrchestrator,
    private readonly planner: ReplayPlanner,
    private readonly batchAdvancer: ReplayBatchAdvancer,
    @InjectConfig('retention') private readonly retention: AppConfig['retention'],
  ) {}

  async createRun(command: CreateRunCommand): Promise<CreatedRun> {
    const errors = validatePlan(command.steps, this.skills, this.limits.maxSteps);
    if (errors.length > 0) throw new SpineException(SpineErrorCode.InvalidRunRequest, 'The run request is invalid.', { errors });
    const secretErrors = await this.secrets.referenceErrors(command.tenantId, command.steps);
    if (secretErrors.length > 0) {
      // A secret deleted since does not turn the retry of a request that created its run into a 400.
      const replayed = await this.replayOfKey(command.tenantId, command.agentId, command.idempotencyKey, command.body);
      if (replayed) return replayed;
      throw new SpineException(SpineErrorCode.InvalidRunRequest, 'The run request names secrets it cannot use.', { errors: secretErrors });
    }
    const draft = (createdAt: Date): NewRun => ({
      id: randomUUID(),
      tenant_id: command.tenantId,
      agent_id: command.agentId,
      idempotency_key: command.idempotencyKey,
      input: command.input,
      steps: command.steps,
      metadata: command.metadata,
      replay_of: null,
      replay_options: null,
      created_at: createdAt,
    });
    return this.insertIdempotently(draft, command.idempotencyKey, command.body);
  }

  async replayRun(command: ReplayRunCommand): Promise<CreatedRun> {
    const original = await this.findRun(command.tenantId, command.runId);
    const prepared = await this.planner.prepare(original, command.request);
    // A replay's fingerprint names what is replayed, so one key cannot mean a create and a replay.
    // The body is whole: input and overrides are part of the request a key stands for.
    const keyed = { replay_of: original.id, body: command.body ?? {} };
    if (!prepared.fields) {
      if (prepared.errors.length === 0) {
        // Only unknown secrets: as on create, a secret deleted since does not turn the retry of a request
        // that created its replay into a 400.
        const replayed = await this.replayOfKey(command.tenantId, original.agent_id, command.idempotencyKey, keyed);
        if (replayed) return replayed;
        throw new SpineException(SpineErrorCode.InvalidRunRequest, 'The replay request names secrets it cannot use.', {
          errors: prepared.secretErrors,
        });
      }
      throw new SpineException(SpineErrorCode.InvalidRunRequest, 'The replay request is invalid.', {
        errors: [...prepared.errors, ...prepared.secretErrors],
      });
    }
    if (!isReplayable(original)) {
      throw new SpineException(
        SpineErrorCode.RunNotReplayable,
        `Run ${original.id} is ${original.status}; only succeeded or failed runs can be replayed.`,
      );
    }
    if (tooCloseToPurge(original.finished_at, this.clock.now(), this.retention.runDays)) {
      // Its purge must never leave a replay without the outputs it skips with.
      throw new SpineException(
        SpineErrorCode.RunNotReplayable,
        `Run ${original.id} finished more than RUN_RETENTION_DAYS (${this.retention.runDays}) days minus an hour ago; it is about to be purged and can no longer be replayed.`,
      );
    }
    const { fields } = prepared;
    const draft = (createdAt: Date): NewRun => ({
      ...fields,
      id: randomUUID(),
      idempotency_key: command.idempotencyKey,
      created_at: createdAt,
    });
    return this.insertIdempotently(draft, command.idempotencyKey, keyed);
  }

  async getRun(tenantId: string, runId: string): Promise<RunView> {
    return (await this.withUsage([await this.findRun(tenantId, runId)]))[0];
  }

  async listRuns(tenantId: string, query: { agentId?: string; status?: RunStatus; limit: number; cursor?: string }): Promise<RunPage> {
    const filters: RunFilters = { agentId: query.agentId, status: query.status };
    if (query.cursor !== undefined) filters.beforeSeq = decodeCursor(query.cursor);
    const rows = await this.runs.list(this.dataSource.manager, tenantId, filters, query.limit);
    const data = rows.slice(0, query.limit);
    return { data: await this.withUsage(data), next_cursor: rows.length > query.limit ? encodeCursor(data[data.length - 1].seq) : null };
  }

  /**
   * Queued/running/retry/waiting -> cancelled, and the steps that have not finished `cancelled`, in one
   * transaction. A running step may finish (its result replaces the mark); no further step starts:
   * every step start is fenced on the run being `running`.
   */
  async cancelRun(tenantId: string, runId: string): Promise<RunView> {
    const at = this.clock.now();
    const progress = noProgress();
    const cancelled = await this.dataSource.transaction(async (manager) => {
      // A replay run of a batch: lock the batch's row before the run's (the lock order of every batch path);
      // its item reads `cancelled` and the batch's next item starts.
      const current = await this.runs.findForTenant(manager, tenantId, runId);
      const batch = current?.batch_id ? await this.batchAdvancer.lockBatch(manager, current.batch_id) : null;
      const run = await this.runs.cancel(manager, tenantId, runId, at);
      if (run) await this.traces.cancelRemaining(manager, run.id, run.steps, 0, at);
      if (run && batch) await this.batchAdvancer.settle(manager, batch, run, at, progress);
      return run;
    });
    await this.batchAdvancer.publish(progress);
    if (cancelled) return (await this.withUsage([cancelled]))[0];
    const run = await this.findRun(tenantId, runId);
    throw new SpineException(
      SpineErrorCode.RunNotCancellable,
      `Run ${run.id} is ${run.status}; only queued, running, retry or waiting runs can be cancelled.`,
    );
  }

  /**
   * Stores a signal with the run (one per name), under the run row's lock: the step runner decides a
   * wait step under the same lock, so a signal is either seen by the wait step or finds the run
   * `waiting`. A run waiting for this name becomes `queued` in the same transaction and gets a job after
   * commit (a lost job is repaired by the sweep: the run is `queued`).
   * Same name and payload again: the stored signal (no change). Another payload: 409. A new signal to a
   * finished run: 409. Same Idempotency-Key with another name or payload: 422.
   */
  async sendSignal(command: SendSignalCommand): Promise<SentSignal> {
    const payload = command.payload === undefined ? null : command.payload;
    const payloadHash = sha256Hex(canonicalJson(payload));
    const at = this.clock.now();
    const sent = await this.dataSource.transaction(async (manager) => {
      const run = await this.runs.lockForTenant(manager, command.tenantId, command.runId);
      if (!run) throw new SpineException(SpineErrorCode.RunNotFound, `Run ${command.runId} does not exist.`);
      if (command.idempotencyKey !== null) {
        const byKey = await this.runs.findSignalByKey(manager, run.id, command.idempotencyKey);
        if (byKey && (byKey.name !== command.name || byKey.payload_hash !== payloadHash)) {
          throw new SpineException(
            SpineErrorCode.IdempotencyKeyReused,
            'This Idempotency-Key was used with another signal; use a new key for a new request.',
          );
        }
        if (byKey) return { signal: byKey, replayed: true, outcome: 'duplicate' } as const;
      }
      const existing = await this.runs.findSignal(manager, run.id, command.name);
      if (existing && existing.payload_hash !== payloadHash) {
        throw new SpineException(
          SpineErrorCode.SignalAlreadySent,
          `Signal "${command.name}" was already sent to run ${run.id} with another payload; a signal is sent once per name.`,
        );
      }
      if (existing) return { signal: existing, replayed: false, outcome: 'duplicate' } as const;
      if (run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled') {
        throw new SpineException(SpineErrorCode.RunFinished, `Run ${run.id} is ${run.status}; it takes no more signals.`);
      }
      const signal = await this.runs.insertSignal(manager, {
        run_id: run.id,
        name: command.name,
        payload,
        payload_hash: payloadHash,
        idempotency_key: command.idempotencyKey,
        received_at: at,
      });
      const woke = await this.runs.wake(manager, run.id, command.name, at);
      return { signal, replayed: false, outcome: woke ? 'resumed' : 'stored' } as const;
    });
    this.metrics.signals.inc({ outcome: sent.outcome });
    if (sent.outcome === 'resumed') {
      // A job id of its own: the run's previous job (the one that parked it) may still be completing.
      await this.queue.schedule(command.runId, command.tenantId, `signal-${command.name}`, at).catch((error: unknown) => {
        this.logger.warn(`run ${command.runId}: enqueue after signal failed, the sweep will enqueue it: ${String(error)}`);
      });
    }
    return { signal: sent.signal, replayed: sent.replayed };
  }

  async countWaitingRuns(): Promise<number> {
    return this.runs.countWaiting(this.dataSource.manager);
  }

  /**
   * Recorded steps, plus the plan's steps that never started: `pending`, or `cancelled` once the run
   * is cancelled (a run cancelled while queued has no trace rows: every step shows `cancelled`).
   */
  async getTrace(tenantId: string, runId: string): Promise<RunTrace> {
    const record = await this.findRun(tenantId, runId);
    const recorded = await this.traces.getSteps(this.dataSource.manager, runId);
    const byIndex = new Map(recorded.map((s) => [s.index, s]));
    const never = record.status === 'cancelled' ? 'cancelled' : 'pending';
    const steps = record.steps.map((spec, index): TraceStep => {
      const step = byIndex.get(index) ?? unstartedStep(spec, index, never);
      return { ...step, usage: step.executed && step.status === 'succeeded' ? this.stepUsage(step.skill, step.output) : null };
    });
    return { run: { ...record, usage: sumUsage(steps.map((s) => s.usage)) }, steps };
  }

  private async findRun(tenantId: string, runId: string): Promise<RunRecord> {
    const run = await this.runs.findForTenant(this.dataSource.manager, tenantId, runId);
    if (!run) throw new SpineException(SpineErrorCode.RunNotFound, `Run ${runId} does not exist.`);
    return run;
  }

  private stepUsage(skill: string, output: unknown): StepUsage | null {
    return this.skills.get(skill)?.usage?.(output) ?? null;
  }

  /**
   * Each run with its token usage: the sum over its steps that executed (skipped and cached steps
   * cost nothing). Only runs whose plan names a skill that reports usage are read from the trace.
   */
  private async withUsage(runs: RunRecord[]): Promise<RunView[]> {
    const reporting = this.skills.names().filter((name) => typeof this.skills.get(name)?.usage === 'function');
    const candidates = runs.filter((r) => r.steps.some((s) => reporting.includes(s.skill))).map((r) => r.id);
    const outputs = await this.traces.getExecutedOutputs(this.dataSource.manager, candidates, reporting);
    const byRun = new Map<string, Array<StepUsage | null>>();
    for (const o of outputs) byRun.set(o.run_id, [...(byRun.get(o.run_id) ?? []), this.stepUsage(o.skill, o.output)]);
    return runs.map((run) => ({ ...run, usage: sumUsage(byRun.get(run.id) ?? []) }));
  }

  /**
   * The run this request (same key, same fingerprinted body: a create's body, or a replay's
   * `{ replay_of, body }`) already created, when it is one a retry is answered with.
   */
  private async replayOfKey(tenantId: string, agentId: string, key: string | null, body: unknown): Promise<CreatedRun | null> {
    if (key === null) return null;
    const existing = await this.idempotency.checkIdempotency(this.dataSource.manager, key, tenantId, agentId, this.clock.now());
    if (!this.idempotency.shouldReturnCached(existing) || existing.fingerprint !== requestFingerprint(body)) return null;
    this.metrics.idempotentReplays.inc();
    return { run: (await this.withUsage([existing.run!]))[0], replayed: true };
  }

  /**
   * Writes the run, and its key when there is one, in one statement (one transaction); enqueues
   * after commit. Same key + same fingerprint: the existing run (replayed), whatever its status. Same
   * key + another fingerprint: 422. An expired key is taken over.
   */
  private async insertIdempotently(draft: (createdAt: Date) => NewRun, key: string | null, body: unknown): Promise<CreatedRun> {
    try {
      const created = await this.insertOrReplay(draft, key, body);
      if (created.replayed) this.metrics.idempotentReplays.inc();
      else this.metrics.runsCreated.inc({ kind: created.run.replay_of ? 'replay' : 'run' });
      return created;
    } catch (error) {
      if (error instanceof SpineException && error.code === SpineErrorCode.IdempotencyKeyReused) this.metrics.idempotencyKeyReused.inc();
      throw error;
    }
  }

  private async insertOrReplay(draft: (createdAt: Date) => NewRun, key: string | null, body: unknown): Promise<CreatedRun> {
    const manager = this.dataSource.manager;
    if (key === null) {
      const run = await this.runs.insertRun(manager, draft(this.clock.now()));
      await this.enqueue(run.id, run.tenant_id);
      return { run: { ...run, usage: null }, replayed: false };
    }
    const fingerprint = requestFingerprint(body);
    for (let round = 0; round < MAX_KEY_ROUNDS; round++) {
      const now = this.clock.now();
      const newRun = draft(now);
      const scope: IdempotencyScope = { tenantId: newRun.tenant_id, agentId: newRun.agent_id, key };
      const expiresAt = new Date(now.getTime() + this.idempotencyConfig.ttlSeconds * 1000);
      const inserted = await this.idempotency
        .insertRunWithKey(manager, newRun, scope, fingerprint, expiresAt, KEY_LOCK_TIMEOUT_MS)
        .catch((error: unknown) => {
          if (isLockTimeout(error)) throw inProgress();
          throw error;
        });
      if (inserted) {
        await this.enqueue(inserted.id, inserted.tenant_id);
        return { run: { ...inserted, usage: null }, replayed: false };
      }
      const existing = await this.idempotency.checkIdempotency(manager, key, scope.tenantId, scope.agentId, now);
      if (!existing.exists || existing.isExpired) continue; // freed between the two statements: try again
      if (existing.fingerprint !== fingerprint) {
        throw new SpineException(
          SpineErrorCode.IdempotencyKeyReused,
          'This Idempotency-Key was used with another request body; use a new key for a new request.',
        );
      }
      // The key's run, whatever its status (cancelled included: a retry never redoes cancelled work).
      if (this.idempotency.shouldReturnCached(existing)) return { run: (await this.withUsage([existing.run!]))[0], replayed: true };
    }
    throw inProgress();
  }

  /** After commit. A lost enqueue (Redis down, crash) is repaired by the stranded-run sweep. */
  private async enqueue(runId: string, tenantId: string): Promise<void> {
    try {
      await this.queue.enqueue(runId, tenantId);
    } catch (error) {
      this.logger.warn(`run ${runId}: enqueue failed, the sweep will enqueue it: ${String(error)}`);
    }
  }
}

export function inProgress(): SpineException {
  return new SpineException(
    SpineErrorCode.IdempotencyRequestInProgress,
    'A request with this Idempotency-Key is being processed; retry shortly.',
    { retryAfterSeconds: 1 },
  );
}

/** PostgreSQL gave up waiting for the key row (a concurrent create with the key has not committed). */
export function isLockTimeout(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === LOCK_TIMEOUT_SQLSTATE || e?.driverError?.code === LOCK_TIMEOUT_SQLSTATE;
}

/** SHA-256 of the body's canonical JSON; a body JSON cannot represent exactly is a bad request (the API refuses it first). */
export function requestFingerprint(body: unknown): string {
  try {
    return sha256Hex(canonicalJson(body));
  } catch (error) {
    if (!(error instanceof NonRepresentableJsonError)) throw error;
    throw new SpineException(SpineErrorCode.InvalidRunRequest, `The request body cannot be keyed: ${error.message}`);
  }
}

function unstartedStep(spec: StepSpec, index: number, status: 'pending' | 'cancelled'): StepRecord {
  return {
    index,
    name: spec.name,
    skill: spec.skill,
    params: spec.params,
    replay_behavior: spec.replay_behavior,
    idempotency_key: spec.idempotency_key,
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
    attempts: 0,
    started_at: null,
    finished_at: null,
    duration_ms: null,
  };
}
