import { isJsonPointer } from '../../shared/json-pointer.js';
import { REPLAY_BEHAVIORS, type ReplayBehavior } from '../../shared/step.types.js';
import type { NewRun, RunRecord } from '../run.types.js';
import type { FieldError } from '../spine.exception.js';

export type OnMismatch = 'fail' | 'continue';

/** The body of POST /v1/runs/{id}/replay, normalised; stored on the replay run. */
export interface ReplayOptions {
  default_behavior: ReplayBehavior | null;
  behaviors: Record<string, ReplayBehavior>;
  from_step: number;
  on_mismatch: OnMismatch;
  ignore_paths: string[];
}

export interface ReplayRequest {
  default_behavior?: ReplayBehavior;
  behaviors?: Record<string, unknown>;
  from_step?: number;
  on_mismatch?: OnMismatch;
  ignore_paths?: string[];
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
  return {
    options: {
      default_behavior: request.default_behavior ?? null,
      behaviors,
      from_step: fromStep,
      on_mismatch: request.on_mismatch ?? 'fail',
      ignore_paths: [...(request.ignore_paths ?? [])],
    },
    errors,
  };
}

/** A step's behavior in a replay: before from_step skip; else behaviors[i], default, the recorded one. */
export function behaviorFor(options: ReplayOptions, index: number, recorded: ReplayBehavior): ReplayBehavior {
  if (index < options.from_step) return 'skip';
  return options.behaviors[String(index)] ?? options.default_behavior ?? recorded;
}

/** What a replay run of an original is made of, before it gets its id, key and creation time. */
export type ReplayRunFields = Omit<NewRun, 'id' | 'idempotency_key' | 'created_at' | 'batch_id'>;

/**
 * The replay run that `request` makes of `original`, or the field errors that keep it from being made.
 * The one path from a replay request to a replay run: POST /v1/runs/{id}/replay and every item of a
 * replay batch go through it, so a batch's `replay` options mean exactly what the single replay's body does.
 */
export function prepareReplay(
  original: RunRecord,
  request: ReplayRequest,
): { fields: ReplayRunFields; errors: [] } | { fields: null; errors: FieldError[] } {
  const { options, errors } = normaliseReplayOptions(request, original.steps.length);
  if (errors.length > 0) return { fields: null, errors };
  return {
    fields: {
      tenant_id: original.tenant_id,
      agent_id: original.agent_id,
      input: original.input,
      steps: original.steps,
      metadata: original.metadata,
      replay_of: original.id,
      replay_options: options,
    },
    errors: [],
  };
}

/** Runs a replay accepts as originals. */
export function isReplayable(run: Pick<RunRecord, 'status'>): boolean {
  return run.status === 'succeeded' || run.status === 'failed';
}
