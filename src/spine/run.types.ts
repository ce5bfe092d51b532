import type { StepSpec, StepUsage } from '../shared/step.types.js';
import type { RunError, RunStatus } from '../shared/run.types.js';

export type { RunError, RunStatus };

/** A run as stored (one row of `runs`, column names as in the database). */
export interface RunRecord {
  id: string;
  seq: string;
  tenant_id: string;
  agent_id: string;
  status: RunStatus;
  idempotency_key: string | null;
  input: unknown;
  steps: StepSpec[];
  metadata: unknown;
  output: unknown;
  error: RunError | null;
  attempts: number;
  replay_of: string | null;
  replay_options: unknown;
  replay: unknown;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  /** Until when the attempt that holds a running run may keep it without renewing (null: not running). */
  lease_expires_at: Date | null;
  /** The signal a `waiting` run waits for, at step `wait_step`, until `wait_until` (then the step fails: signal_timeout). */
  wait_signal: string | null;
  wait_step: number | null;
  wait_until: Date | null;
  /** Attempts that ended by waiting for a signal (they do not count against RUN_MAX_ATTEMPTS). */
  waits: number;
  /** The replay batch this replay run was started for (internal: not part of the Run object). */
  batch_id: string | null;
}

/** A signal kept with its run (one per name). */
export interface SignalRecord {
  run_id: string;
  name: string;
  payload: unknown;
  payload_hash: string;
  idempotency_key: string | null;
  received_at: Date;
}

/** What is inserted for a new run. */
export interface NewRun {
  id: string;
  tenant_id: string;
  agent_id: string;
  idempotency_key: string | null;
  input: unknown;
  steps: StepSpec[];
  metadata: unknown;
  replay_of: string | null;
  replay_options: unknown;
  /** Set on the replay runs a replay batch starts. */
  batch_id?: string | null;
  created_at: Date;
}

/** A run as the API shows it: the stored row plus what is derived from its trace (token usage). */
export type RunView = RunRecord & { usage: StepUsage | null };
