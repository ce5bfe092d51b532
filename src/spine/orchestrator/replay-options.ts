import { type Comparator, parseCompare } from '../../shared/comparators.js';
import { isJsonPointer } from '../../shared/json-pointer.js';
import { REPLAY_BEHAVIORS, type ReplayBehavior } from '../../shared/step.types.js';
import type { RunRecord } from '../run.types.js';
import type { FieldError } from '../spine.exception.js';
import { isOverridden, type StepOverrides, type WhatIfRequest } from './replay-overrides.js';

export type OnMismatch = 'fail' | 'continue';

/** The body of POST /v1/runs/{id}/replay, normalised; stored on the replay run. */
export interface ReplayOptions {
  default_behavior: ReplayBehavior | null;
  behaviors: Record<string, ReplayBehavior>;
  from_step: number;
  on_mismatch: OnMismatch;
  ignore_paths: string[];
  /** What-if overrides as sent (replay-overrides.ts); absent on replays without any. */
  overrides?: StepOverrides;
  /** True: `check` compares the skills' volatile paths too. Absent on replays stored before it existed (false). */
  strict?: boolean;
  /** Comparator by step index or "*" (validated); absent or empty: exact. */
  compare?: Record<string, Comparator>;
  /**
   * The volatile paths of the plan's skills when the replay was created (not strict), so every attempt
   * compares by the same rules across a deploy; absent on replays stored before (the skills' own apply).
   */
  volatile_paths?: Record<string, string[]>;
}

export interface ReplayRequest extends WhatIfRequest {
  default_behavior?: ReplayBehavior;
  behaviors?: Record<string, unknown>;
  from_step?: number;
  on_mismatch?: OnMismatch;
  ignore_paths?: string[];
  strict?: boolean;
  /** Checked here (shape and indexes): the DTO only knows it is an object. */
  compare?: unknown;
}

/** Checks what depends on the original run (indexes within its plan); the DTO checked the shapes. */
export function normaliseReplayOptions(request: ReplayRequest, stepCount: number): { options: ReplayOptions; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const behaviors: Record<string, ReplayBehavior> = {};
  for (const [index, behavior] of Object.entries(request.behaviors ?? {})) {
    if (!/^(0|[1-9]\d*)$/.test(index) || Number(index) >= stepCount) {
      errors.push({ field: `behaviors.${index}`, message: `"${index}" is not a step index of the run (0..${stepCount - 1})` });
    } else if (!REPLAY_BEHAVIORS.includes(behavior as ReplayBehavior)) {
      errors.push({ field: `behaviors.${index}`, message: `behavior must be one of ${REPLAY_BEHAVIORS.join(', ')}` });
    } else {
      behaviors[String(Number(index))] = behavior as ReplayBehavior;
    }
  }
  const fromStep = request.from_step ?? 0;
  if (fromStep >= stepCount)
    errors.push({ field: 'from_step', message: `from_step must be a step index of the run (0..${stepCount - 1})` });
  (request.ignore_paths ?? []).forEach((p, i) => {
    if (p === '' || !isJsonPointer(p))
      errors.push({ field: `ignore_paths[${i}]`, message: `"${p}" is not a non-empty RFC 6901 JSON Pointer` });
  });
  const compared = parseCompare(request.compare, stepCount);
  errors.push(...compared.errors);
  return {
    options: {
      default_behavior: request.default_behavior ?? null,
      behaviors,
      from_step: fromStep,
      on_mismatch: request.on_mismatch ?? 'fail',
      ignore_paths: [...(request.ignore_paths ?? [])],
      strict: request.strict ?? false,
      compare: compared.compare,
    },
    errors,
  };
}

/**
 * A step's behavior in a replay: before from_step skip; else behaviors[i], default, the recorded one.
 * An overridden step is never skipped: where it would be (default or recorded `skip`), it executes.
 */
export function behaviorFor(options: ReplayOptions, index: number, recorded: ReplayBehavior): ReplayBehavior {
  if (index < options.from_step) return 'skip';
  const behavior = options.behaviors[String(index)] ?? options.default_behavior ?? recorded;
  return behavior === 'skip' && isOverridden(options, index) ? 'execute' : behavior;
}

/** Runs a replay accepts as originals. */
export function isReplayable(run: Pick<RunRecord, 'status'>): boolean {
  return run.status === 'succeeded' || run.status === 'failed';
}
