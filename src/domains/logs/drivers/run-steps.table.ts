import { Table } from '../../../infra/database/sql.js';
import type { StepRecord } from '../../../shared/step.types.js';

/** A row of run_steps: a step of the trace and the run it belongs to. */
export interface RunStepRow extends StepRecord {
  run_id: string;
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
  error: 'json',
  attempts: 'int',
  started_at: 'timestamptz',
  finished_at: 'timestamptz',
  duration_ms: 'int',
});

/** The columns of a StepRecord (the trace as read: every column but run_id). */
export const STEP_RECORD_COLUMNS = RUN_STEPS.columnNames.filter((c) => c !== 'run_id');
