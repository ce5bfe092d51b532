import { apply as applyMergePatch } from 'tiny-merge-patch';
import { WAIT_SKILL } from '../../shared/signals.js';
import { IDEMPOTENCY_KEY_PATTERN, type StepSpec } from '../../shared/step.types.js';
import type { FieldError } from '../spine.exception.js';

/**
 * What-if replays (API.md "What-if replays"): a replacement `input` and per-step `overrides`.
 * The replay run stores the plan and input it executes (the overridden plan, the replacement input),
 * so every attempt of the replay, a resumed one included, runs the same thing; its `replay_options`
 * keep the overrides as sent (which steps are overridden decides that they are never skipped).
 */

/** One step's override: an RFC 7396 merge patch of its params as written, and/or a replacement step key. */
export interface StepOverride {
  params?: Record<string, unknown>;
  /** A new step key; null removes the step's key. */
  idempotency_key?: string | null;
}

/** By step index (canonical decimal: "2", never "02"). */
export type StepOverrides = Record<string, StepOverride>;

/** The what-if part of a replay request (free-form JSON as received; checked here). */
export interface WhatIfRequest {
  input?: unknown;
  overrides?: unknown;
}

export interface WhatIf {
  /** The replacement input, or undefined to keep the original's. */
  input: Record<string, unknown> | undefined;
  overrides: StepOverrides;
}

const OVERRIDE_KEYS = new Set(['params', 'idempotency_key']);
const INDEX = /^(0|[1-9]\d*)$/;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Checks the shape of `input` and `overrides` against the original plan (indexes in range). */
export function parseWhatIf(request: WhatIfRequest, stepCount: number): { whatIf: WhatIf; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const whatIf: WhatIf = { input: undefined, overrides: {} };
  if (request.input !== undefined) {
    if (isPlainObject(request.input)) whatIf.input = request.input;
    else errors.push({ field: 'input', message: 'input must be an object (it replaces the original run input)' });
  }
  if (request.overrides === undefined) return { whatIf, errors };
  if (!isPlainObject(request.overrides)) {
    errors.push({ field: 'overrides', message: 'overrides must be an object of step index to { params?, idempotency_key? }' });
    return { whatIf, errors };
  }
  for (const [index, override] of Object.entries(request.overrides)) {
    const at = `overrides.${index}`;
    const before = errors.length;
    if (!INDEX.test(index) || Number(index) >= stepCount) {
      errors.push({ field: at, message: `"${index}" is not a step index of the run (0..${stepCount - 1})` });
      continue;
    }
    if (!isPlainObject(override)) {
      errors.push({ field: at, message: 'an override must be an object { params?, idempotency_key? }' });
      continue;
    }
    const unknown = Object.keys(override).filter((k) => !OVERRIDE_KEYS.has(k));
    for (const key of unknown) errors.push({ field: `${at}.${key}`, message: `unknown override field "${key}" (params, idempotency_key)` });
    if (Object.keys(override).length === 0) {
      errors.push({ field: at, message: 'an override must set params, idempotency_key or both' });
    }
    const { params, idempotency_key: key } = override;
    if (params !== undefined && !isPlainObject(params)) {
      errors.push({ field: `${at}.params`, message: "params must be an object: an RFC 7396 merge patch of the step's params" });
    }
    if (key !== undefined && key !== null && (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key))) {
      errors.push({ field: `${at}.idempotency_key`, message: 'idempotency_key must be null or 1 to 255 printable ASCII characters' });
    }
    if (errors.length > before) continue;
    const normalised: StepOverride = {};
    if (params !== undefined) normalised.params = params as Record<string, unknown>;
    if (key !== undefined) normalised.idempotency_key = key as string | null;
    whatIf.overrides[index] = normalised;
  }
  return { whatIf, errors };
}

/**
 * The plan a what-if replay executes: each overridden step's params merge-patched as written (a `$ref`
 * or `$secret` the patch does not replace stays), its key replaced when the override names one. The
 * original plan is not modified.
 */
export function overriddenPlan(steps: readonly StepSpec[], overrides: StepOverrides): StepSpec[] {
  return steps.map((step, index) => {
    const override = overrides[String(index)];
    if (!override) return step;
    const params = override.params === undefined ? step.params : (applyMergePatch(step.params, override.params) as Record<string, unknown>);
    const idempotency_key = override.idempotency_key === undefined ? step.idempotency_key : override.idempotency_key;
    return { ...step, params, idempotency_key };
  });
}

/** The overridden step indexes, ascending. */
export function overriddenIndexes(overrides: StepOverrides | undefined): number[] {
  return Object.keys(overrides ?? {})
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Errors that the plan's checks (validatePlan, the secrets' submission check) found in the overridden
 * steps, named after the override that caused them: `steps[2].params.url` -> `overrides.2.params.url`.
 * Errors of steps that are not overridden are the original plan's, accepted when it was created.
 */
export function overrideErrors(planErrors: readonly FieldError[], overrides: StepOverrides): FieldError[] {
  const out: FieldError[] = [];
  for (const error of planErrors) {
    const match = /^steps\[(\d+)\]\.params(.*)$/.exec(error.field);
    if (match && overrides[match[1]]) out.push({ field: `overrides.${match[1]}.params${match[2]}`, message: error.message });
  }
  return out;
}

/**
 * The size bound of a what-if replay: its input and plan, as stored, fit in the larger of MAX_BODY_BYTES
 * and the original's stored input and plan (JSON bytes). The stored plan is larger than the body that
 * created it (defaults filled in), so an original accepted near MAX_BODY_BYTES still takes small what-ifs;
 * no replay grows past both. (Nesting needs no check: a patch merges into params as written, so every
 * patched member sits where the original's or the patch's did, both as deep as a request body allows.)
 */
export function whatIfSizeErrors(
  original: { input: unknown; steps: readonly StepSpec[] },
  plan: readonly StepSpec[],
  input: unknown,
  whatIf: WhatIf,
  maxBodyBytes: number,
): FieldError[] {
  if (whatIf.input === undefined && overriddenIndexes(whatIf.overrides).length === 0) return [];
  const bytes = jsonBytes({ input, steps: plan });
  if (bytes <= maxBodyBytes) return [];
  const originalBytes = jsonBytes({ input: original.input, steps: original.steps });
  if (bytes <= originalBytes) return [];
  return [
    {
      field: whatIf.input !== undefined ? 'input' : 'overrides',
      message: `the replay's input and plan would be ${bytes} bytes of JSON, more than MAX_BODY_BYTES (${maxBodyBytes}) and the original's ${originalBytes}`,
    },
  ];
}

/** A `wait` step has no side effect to key: an override may not set its idempotency_key (its params it may). */
export function waitOverrideErrors(steps: readonly StepSpec[], overrides: StepOverrides): FieldError[] {
  return overriddenIndexes(overrides)
    .filter((index) => steps[index].skill === WAIT_SKILL && overrides[String(index)].idempotency_key !== undefined)
    .map((index) => ({
      field: `overrides.${index}.idempotency_key`,
      message: `step ${index} is a wait step: it has no side effect to key (its params may be overridden)`,
    }));
}

/**
 * The rules of an overridden step's behavior: it is never skipped, so `behaviors[i] = "skip"` for it and
 * a `from_step` past it (steps before `from_step` are skipped) are refused. Under `default_behavior:
 * "skip"` (or a recorded `replay_behavior: "skip"`) it executes: see `behaviorFor`.
 */
export function overrideBehaviorErrors(
  options: { behaviors: Record<string, string>; from_step: number },
  overrides: StepOverrides,
): FieldError[] {
  const errors: FieldError[] = [];
  for (const index of overriddenIndexes(overrides)) {
    if (options.behaviors[String(index)] === 'skip') {
      errors.push({ field: `behaviors.${index}`, message: `step ${index} is overridden: an overridden step is never skipped` });
    }
    if (index < options.from_step) {
      errors.push({
        field: 'from_step',
        message: `from_step ${options.from_step} would skip step ${index}, which is overridden: an overridden step is never skipped`,
      });
    }
  }
  return errors;
}

/** True when step `index` of the replay is overridden (it then executes where it would be skipped). */
export function isOverridden(options: { overrides?: StepOverrides }, index: number): boolean {
  return options.overrides?.[String(index)] !== undefined;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
