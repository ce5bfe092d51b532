/** A run's status, as stored and as the API shows it. */
export type RunStatus = 'queued' | 'running' | 'retry' | 'succeeded' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'retry', 'succeeded', 'failed', 'cancelled'];

export interface RunError {
  type: string;
  message: string;
  step_index?: number;
}
