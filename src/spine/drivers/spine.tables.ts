import { Table, type ColumnValues } from '../../infra/database/sql.js';
import type { BatchItemRecord, BatchKeyRecord, ReplayBatchRecord } from '../replay-batch.types.js';
import type { NewRun, RunRecord, SignalRecord } from '../run.types.js';

/**
 * The spine's tables, each described once: row type (column names as in the database) and column
 * types. Drivers build their column lists and parameters from these; the migrations define the schema.
 */
export const RUNS = new Table<RunRecord>('runs', {
  id: 'uuid',
  seq: 'bigint',
  tenant_id: 'uuid',
  agent_id: 'text',
  status: 'text',
  idempotency_key: 'text',
  input: 'json',
  steps: 'json',
  metadata: 'json',
  output: 'json',
  error: 'json',
  attempts: 'int',
  replay_of: 'uuid',
  replay_options: 'json',
  replay: 'json',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  started_at: 'timestamptz',
  finished_at: 'timestamptz',
  lease_expires_at: 'timestamptz',
  wait_signal: 'text',
  wait_step: 'int',
  wait_until: 'timestamptz',
  waits: 'int',
  batch_id: 'uuid',
});

export const RUN_SIGNALS = new Table<SignalRecord>('run_signals', {
  run_id: 'uuid',
  name: 'text',
  payload: 'json',
  payload_hash: 'char(64)',
  idempotency_key: 'text',
  received_at: 'timestamptz',
});

/** The columns of a new run (shared by the plain and the idempotent insert). */
export function newRunValues(run: NewRun): ColumnValues<RunRecord> {
  return {
    id: run.id,
    tenant_id: run.tenant_id,
    agent_id: run.agent_id,
    status: 'queued',
    idempotency_key: run.idempotency_key,
    input: JSON.stringify(run.input ?? null),
    steps: JSON.stringify(run.steps),
    metadata: JSON.stringify(run.metadata ?? null),
    attempts: 0,
    replay_of: run.replay_of,
    replay_options: run.replay_options === undefined || run.replay_options === null ? null : JSON.stringify(run.replay_options),
    batch_id: run.batch_id ?? null,
    created_at: run.created_at,
    updated_at: run.created_at,
  };
}

/**
 * The row a run has right after its insert (`values` from newRunValues): what it was given, the columns'
 * defaults, and `seq` from the database. The inserts return only `seq`, so a create does not read back
 * (and parse) a row it just wrote; the JSON columns are parsed from the text that was stored, so the
 * record is the one a later read returns (the sql-tables e2e test compares the two).
 */
export function insertedRun(values: ColumnValues<RunRecord>, seq: string): RunRecord {
  const json = (text: unknown): unknown => (text === null ? null : JSON.parse(text as string));
  return {
    id: values.id as string,
    seq,
    tenant_id: values.tenant_id as string,
    agent_id: values.agent_id as string,
    status: 'queued',
    idempotency_key: values.idempotency_key as string | null,
    input: json(values.input),
    steps: json(values.steps) as RunRecord['steps'],
    metadata: json(values.metadata),
    output: null,
    error: null,
    attempts: 0,
    replay_of: values.replay_of as string | null,
    replay_options: json(values.replay_options),
    replay: null,
    created_at: values.created_at as Date,
    updated_at: values.updated_at as Date,
    started_at: null,
    finished_at: null,
    lease_expires_at: null,
    wait_signal: null,
    wait_step: null,
    wait_until: null,
    waits: 0,
    batch_id: (values.batch_id as string | null | undefined) ?? null,
  };
}

/** A run-creation idempotency key (scope: tenant + agent + key) and the run it points to. */
export interface IdempotencyKeyRecord {
  tenant_id: string;
  agent_id: string;
  key: string;
  /** SHA-256 of the canonical request. */
  fingerprint: string;
  run_id: string;
  created_at: Date;
  expires_at: Date;
}

export const RUN_IDEMPOTENCY_KEYS = new Table<IdempotencyKeyRecord>('run_idempotency_keys', {
  tenant_id: 'uuid',
  agent_id: 'text',
  key: 'text',
  fingerprint: 'char(64)',
  run_id: 'uuid',
  created_at: 'timestamptz',
  expires_at: 'timestamptz',
});

export interface TenantRecord {
  id: string;
  name: string;
  created_at: Date;
}

export const TENANTS = new Table<TenantRecord>('tenants', {
  id: 'uuid',
  name: 'text',
  created_at: 'timestamptz',
});

/** An API key is stored only as the SHA-256 of its secret; the secret is shown once at creation. */
export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  key_hash: string;
  created_at: Date;
  revoked_at: Date | null;
}

export const API_KEYS = new Table<ApiKeyRecord>('api_keys', {
  id: 'uuid',
  tenant_id: 'uuid',
  key_hash: 'char(64)',
  created_at: 'timestamptz',
  revoked_at: 'timestamptz',
});

export const REPLAY_BATCHES = new Table<ReplayBatchRecord>('replay_batches', {
  id: 'uuid',
  seq: 'bigint',
  tenant_id: 'uuid',
  status: 'text',
  filter: 'json',
  replay: 'json',
  total: 'int',
  idempotency_key: 'text',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  finished_at: 'timestamptz',
});

export const REPLAY_BATCH_ITEMS = new Table<BatchItemRecord>('replay_batch_items', {
  batch_id: 'uuid',
  position: 'int',
  run_id: 'uuid',
  state: 'text',
  replay_run_id: 'uuid',
  first_mismatch_step: 'int',
  reason: 'text',
  updated_at: 'timestamptz',
});

export const REPLAY_BATCH_KEYS = new Table<BatchKeyRecord>('replay_batch_keys', {
  tenant_id: 'uuid',
  key: 'text',
  fingerprint: 'char(64)',
  batch_id: 'uuid',
  created_at: 'timestamptz',
  expires_at: 'timestamptz',
});
