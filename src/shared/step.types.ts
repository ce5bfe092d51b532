import type { Comparison } from './comparators.js';
import type { RunErrorType } from './run-errors.js';

/** How a step behaves when its run is replayed (and, for `execute`, in every run). */
export type ReplayBehavior = 'execute' | 'skip' | 'check';
export const REPLAY_BEHAVIORS: readonly ReplayBehavior[] = ['execute', 'skip', 'check'];

/** Idempotency keys (request and step): 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** One step of a run's plan, as submitted. */
export interface StepSpec {
  name: string;
  skill: string;
  params: Record<string, unknown>;
  replay_behavior: ReplayBehavior;
  idempotency_key: string | null;
}

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface StepError {
  type: RunErrorType;
  message: string;
  retryable?: boolean;
}

/** Tokens a step used, as `llm.chat` reports them; a run's usage is the sum over its executed steps. */
export interface StepUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** The sum of `usages` (null entries add nothing); null when none is set. */
export function sumUsage(usages: ReadonlyArray<StepUsage | null>): StepUsage | null {
  const set = usages.filter((u): u is StepUsage => u !== null);
  if (set.length === 0) return null;
  return set.reduce(
    (a, u) => ({
      prompt_tokens: a.prompt_tokens + u.prompt_tokens,
      completion_tokens: a.completion_tokens + u.completion_tokens,
      total_tokens: a.total_tokens + u.total_tokens,
    }),
    { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  );
}

export interface StepMismatch {
  expected_hash: string | null;
  actual_hash: string;
  /** RFC 6902 JSON Patch from the original output to the new one (after ignore_paths and volatile paths are removed). */
  diff: unknown[];
}

/** One recorded step of a run's trace (a row of run_steps). */
export interface StepRecord {
  index: number;
  name: string;
  skill: string;
  params: Record<string, unknown>;
  replay_behavior: ReplayBehavior;
  idempotency_key: string | null;
  status: StepStatus;
  output: unknown;
  output_hash: string | null;
  executed: boolean;
  skipped: boolean;
  checked: boolean;
  from_cache: boolean;
  expected_hash: string | null;
  mismatch: StepMismatch | null;
  /** How a checked step of a replay was compared (mode, passed, score, reason, ignored_paths); null otherwise. */
  comparison: Comparison | null;
  error: StepError | null;
  attempts: number;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
}
