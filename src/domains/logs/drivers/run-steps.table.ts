import { Table } from '../../../infra/database/sql.js';
import type { StepRecord } from '../../../shared/step.types.js';

/** A row of run_steps: a step of the trace and the run it belongs to. */
export interface RunStepRow extends StepRecord {
  run_id: string;
  /**
   * SHA-256 of canonical { skill, params } with `$secret` unresolved: what a keyed step's key is bound
   * to (params are recorded masked, so it cannot be computed again from them). Internal, not in the trace.
   */
  fingerprint: string | null;
}

/** The trace table, described once (see `Table`); the migrations define the schema. */
export const RUN_STEPS = new Table<RunStepRow>('run_steps', {
  run_id: 'uuid',
  index: 'int',
  name: 'text',
  skill: 'text',
  params: 'json',
  replay_behavior: 'text',
  idempotency_key: 'text',
  status: 'text',
  output: 'json',
  output_hash: 'char(64)',
  executed: 'boolean',
  skipped: 'boolean',
  checked: 'boolean',
  from_cache: 'boolean',
  expected_hash: 'char(64)',
  mismatch: 'json',
  comparison: 'json',
  error: 'json',
  attempts: 'int',
  started_at: 'timestamptz',
  finished_at: 'timestamptz',
  duration_ms: 'int',
  fingerprint: 'char(64)',
});

/** The columns of a StepRecord (the trace as read: every column but run_id and the internal fingerprint). */
export const STEP_RECORD_COLUMNS = RUN_STEPS.columnNames.filter((c) => c !== 'run_id' && c !== 'fingerprint');
