/** A run's status, as stored and as the API shows it. */
export type RunStatus = 'queued' | 'running' | 'retry' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'retry', 'waiting', 'succeeded', 'failed', 'cancelled'];

import type { RunErrorType } from './run-errors.js';

export interface RunError {
  type: RunErrorType;
  message: string;
  step_index?: number;
}
