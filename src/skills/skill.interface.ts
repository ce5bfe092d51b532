import type { StepUsage } from '../shared/step.types.js';

/** What a skill gets besides its params. */
export interface SkillContext {
  tenantId: string;
  runId: string;
  stepIndex: number;
  /** The step's idempotency key, if any: skills with remote side effects should pass it on (HTTP: Idempotency-Key). */
  idempotencyKey: string | null;
  /** `{ input, steps: [{ output }] }` as seen by this step: what `$ref` pointers and transforms read. */
  document: { input: unknown; steps: Array<{ output: unknown }> };
  /** Aborted when the worker shuts down; long skills should stop early. */
  signal: AbortSignal;
}

/** Helpers for submission-time checks: a `{ "$ref": ... }` value is only known when the step runs. */
export interface ParamCheck {
  isRef(value: unknown): boolean;
}

/**
 * A step handler. Mark the provider with @Skill('name') and add it to any module of the app: the
 * registry finds it at boot (two skills with one name fail the boot).
 */
export interface SkillHandler {
  /** Checks params at submission; returns messages keyed by param path ('url', 'messages[0]'...). */
  validate?(params: Record<string, unknown>, check: ParamCheck): Array<{ path: string; message: string }>;
  /** Runs the step; the result must be JSON-representable (it is hashed by RFC 8785). */
  execute(params: Record<string, unknown>, context: SkillContext): Promise<unknown>;
  /** For skills that cost tokens (llm.chat): the usage an output of this skill reports, or null. */
  usage?(output: unknown): StepUsage | null;
}

/** A failure of a skill; `retryable` failures (network, timeout, 5xx) let the run retry. */
export class SkillError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly type = 'step_failed',
  ) {
    super(message);
    this.name = 'SkillError';
  }
}
