import { isJsonPointer, pointerTokens, valueAtPointer } from '../../shared/json-pointer.js';
import { collectSecretRefs, isRef, isSecretRef, secretRefProblem } from '../../shared/param-refs.js';
import { StepErrorCode, StepFailure } from '../../shared/run-errors.js';
import type { StepSpec } from '../../shared/step.types.js';
import type { SkillRegistry } from '../../skills/skill-registry.js';
import type { FieldError } from '../spine.exception.js';

export { isRef };

/** A value known only when the step runs: a `$ref`, or a `$secret` (skills' submission checks accept either). */
const isDeferred = (value: unknown): boolean => isRef(value) || isSecretRef(value);

/** Every `$ref` inside `value`, with the path where it stands (`params.url`, `params.body.items[0]`). */
function collectRefs(value: unknown, path: string, out: Array<{ path: string; pointer: unknown }>): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectRefs(v, `${path}[${i}]`, out));
    return;
  }
  if (Object.prototype.hasOwnProperty.call(value, '$ref')) {
    out.push({ path, pointer: isRef(value) ? value.$ref : value });
    return;
  }
  for (const [k, v] of Object.entries(value)) collectRefs(v, `${path}.${k}`, out);
}

/**
 * Why a pointer may not be used by step `index`, or null when it may: it must point into `/input` or
 * into `/steps/N/...` of an earlier step N.
 */
export function refProblem(pointer: unknown, index: number): string | null {
  if (typeof pointer !== 'string') return '$ref must be an object with exactly one member "$ref" holding a JSON Pointer string';
  if (!isJsonPointer(pointer)) return `"${pointer}" is not an RFC 6901 JSON Pointer`;
  const [root, stepToken, member] = pointerTokens(pointer);
  if (root === 'input') return null;
  if (root === 'steps' && stepToken !== undefined && /^(0|[1-9]\d*)$/.test(stepToken)) {
    if (Number(stepToken) >= index) return `"${pointer}" points into step ${stepToken}, which is not before step ${index}`;
    if (member !== undefined && member !== 'output') return `"${pointer}": a step exposes only "output"`;
    return null;
  }
  return `"${pointer}" must start with /input or /steps/<earlier step index>`;
}

/**
 * Submission-time checks of a plan: skill names, `$ref` pointers, the shape of `$secret` references
 * (whether the tenant has them is checked by the secrets orchestrator), each skill's own param checks.
 */
export function validatePlan(steps: readonly StepSpec[], registry: SkillRegistry, maxSteps: number): FieldError[] {
  const errors: FieldError[] = [];
  if (steps.length > maxSteps) errors.push({ field: 'steps', message: `steps must hold at most ${maxSteps} steps (MAX_STEPS)` });
  steps.forEach((step, index) => {
    const at = `steps[${index}]`;
    const skill = registry.get(step.skill);
    if (!skill) {
      errors.push({ field: `${at}.skill`, message: `unknown skill "${step.skill}"; registered: ${registry.names().join(', ')}` });
    }
    const refs: Array<{ path: string; pointer: unknown }> = [];
    collectRefs(step.params, `${at}.params`, refs);
    for (const ref of refs) {
      const problem = refProblem(ref.pointer, index);
      if (problem) errors.push({ field: ref.path, message: problem });
    }
    for (const { path, ref } of collectSecretRefs(step.params, `${at}.params`)) {
      const problem = secretRefProblem(ref);
      if (problem) errors.push({ field: path, message: problem });
    }
    for (const e of skill?.validate?.(step.params, { isRef: isDeferred }) ?? []) {
      errors.push({ field: `${at}.params.${e.path}`, message: e.message });
    }
  });
  return errors;
}

export class RefResolutionError extends StepFailure {
  constructor(pointer: string) {
    super(StepErrorCode.UnresolvedRef, `$ref "${pointer}" resolves to nothing`);
    this.name = 'RefResolutionError';
  }
}

/** A copy of `params` with every `$ref` replaced by the value it points to in `document`. */
export function resolveRefs(params: unknown, document: unknown): unknown {
  if (params === null || typeof params !== 'object') return params;
  if (isRef(params)) {
    const value = valueAtPointer(document, params.$ref);
    if (value === undefined) throw new RefResolutionError(params.$ref);
    return structuredClone(value);
  }
  if (Array.isArray(params)) return params.map((v) => resolveRefs(v, document));
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, resolveRefs(v, document)]));
}
