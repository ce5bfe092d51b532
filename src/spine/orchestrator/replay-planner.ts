import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import type { StepSpec } from '../../shared/step.types.js';
import type { SkillRegistry } from '../../skills/skill-registry.js';
import { SKILL_REGISTRY } from '../../skills/skills.tokens.js';
import type { NewRun, RunRecord } from '../run.types.js';
import type { FieldError } from '../spine.exception.js';
import { SECRETS_ORCHESTRATOR } from './orchestrator.tokens.js';
import { validatePlan } from './plan.js';
import { normaliseReplayOptions, type ReplayOptions, type ReplayRequest } from './replay-options.js';
import {
  overriddenIndexes,
  overriddenPlan,
  overrideBehaviorErrors,
  overrideErrors,
  parseWhatIf,
  waitOverrideErrors,
  whatIfSizeErrors,
} from './replay-overrides.js';
import type { SecretsOrchestrator } from './secrets.orchestrator.js';

/** What a replay run of an original is made of, before it gets its id, key and creation time. */
export type ReplayRunFields = Omit<NewRun, 'id' | 'idempotency_key' | 'created_at' | 'batch_id'>;

/**
 * A replay run's fields, or why it cannot be made: `errors` (the request does not fit the run) and
 * `secretErrors` (unknown `$secret` names of overridden steps, checked only when all else is valid, and
 * kept apart: the retry of a request that created its replay is answered with its run though a secret
 * was deleted since).
 */
export type PreparedReplay =
  { fields: ReplayRunFields; errors: []; secretErrors: [] } | { fields: null; errors: FieldError[]; secretErrors: FieldError[] };

/**
 * The one path from a replay request to a replay run: POST /v1/runs/{id}/replay and every item of a
 * replay batch go through `prepare`, so a batch's `replay` options mean exactly what the single
 * replay's body means (behaviors, from_step, ignore_paths, strict, compare, input, overrides).
 */
@Injectable()
export class ReplayPlanner {
  constructor(
    @Inject(SKILL_REGISTRY) private readonly skills: SkillRegistry,
    @InjectConfig('limits') private readonly limits: AppConfig['limits'],
    @Inject(SECRETS_ORCHESTRATOR) private readonly secrets: SecretsOrchestrator,
  ) {}

  /**
   * The replay run `request` makes of `original`, or the field errors that keep it from being made.
   * `manager`: the caller's transaction, for the one read a what-if replay needs (its secrets' names).
   */
  async prepare(original: RunRecord, request: ReplayRequest, manager?: EntityManager): Promise<PreparedReplay> {
    const { options, errors } = normaliseReplayOptions(request, original.steps.length);
    const whatIf = await this.whatIfPlan(original, request, options, manager);
    errors.push(...whatIf.errors);
    if (errors.length > 0 || whatIf.secretErrors.length > 0) return { fields: null, errors, secretErrors: whatIf.secretErrors };
    return {
      fields: {
        tenant_id: original.tenant_id,
        agent_id: original.agent_id,
        input: whatIf.input,
        steps: whatIf.steps,
        metadata: original.metadata,
        replay_of: original.id,
        replay_options: this.withVolatilePaths(whatIf.options, whatIf.steps),
      },
      errors: [],
      secretErrors: [],
    };
  }

  /**
   * The options as stored: with the volatile paths of the plan's skills as they are now (unless strict),
   * so a replay resumed after a deploy that changed them still compares by the rules it started with.
   */
  private withVolatilePaths(options: ReplayOptions, steps: readonly StepSpec[]): ReplayOptions {
    if (options.strict) return options;
    const skills = [...new Set(steps.map((s) => s.skill))].sort();
    return { ...options, volatile_paths: Object.fromEntries(skills.map((skill) => [skill, [...this.skills.volatilePaths(skill)]])) };
  }

  /**
   * What a what-if replay runs (API.md "What-if replays"): the replacement input, the plan with its
   * overrides applied (each overridden step checked as on create: plan checks and `$secret` names, errors
   * named `overrides.<i>.params...`), and the options with the overrides kept. Stored with the replay
   * run, so every attempt of it runs the same plan on the same input. The secrets are read only when the
   * what-if part is otherwise valid.
   */
  private async whatIfPlan(
    original: RunRecord,
    request: ReplayRequest,
    options: ReplayOptions,
    manager?: EntityManager,
  ): Promise<{ input: unknown; steps: StepSpec[]; options: ReplayOptions; errors: FieldError[]; secretErrors: FieldError[] }> {
    const { whatIf, errors } = parseWhatIf(request, original.steps.length);
    const input = whatIf.input ?? original.input;
    if (overriddenIndexes(whatIf.overrides).length === 0) {
      errors.push(...whatIfSizeErrors(original, original.steps, input, whatIf, this.limits.maxBodyBytes));
      return { input, steps: original.steps, options, errors, secretErrors: [] };
    }
    const steps = overriddenPlan(original.steps, whatIf.overrides);
    errors.push(...waitOverrideErrors(original.steps, whatIf.overrides));
    errors.push(...overrideBehaviorErrors(options, whatIf.overrides));
    errors.push(...overrideErrors(validatePlan(steps, this.skills, this.limits.maxSteps), whatIf.overrides));
    errors.push(...whatIfSizeErrors(original, steps, input, whatIf, this.limits.maxBodyBytes));
    const secretErrors: FieldError[] = [];
    if (errors.length === 0) {
      // Only the overridden steps' `$secret` names are checked (the others were checked when the original was created).
      const overridden = steps.map((step, index) => (whatIf.overrides[String(index)] ? step : { params: {} }));
      secretErrors.push(...overrideErrors(await this.secrets.referenceErrors(original.tenant_id, overridden, manager), whatIf.overrides));
    }
    return { input, steps, options: { ...options, overrides: whatIf.overrides }, errors, secretErrors };
  }
}

/**
 * The errors of a replay request that only need the original plan's length: its indexes (behaviors,
 * from_step, compare, overrides) and every check that needs no run at all. A replay batch answers 400
 * for what fails with any length (`requestErrors`), and fails the item of a run whose length does not fit.
 */
export function lengthErrors(request: ReplayRequest, stepCount: number): FieldError[] {
  const { options, errors } = normaliseReplayOptions(request, stepCount);
  const whatIf = parseWhatIf(request, stepCount);
  return [...errors, ...whatIf.errors, ...overrideBehaviorErrors(options, whatIf.whatIf.overrides)];
}

/** A plan has at most MAX_STEPS steps: checks at a length no plan reaches are those that fail for every run. */
const ANY_PLAN_LENGTH = Number.MAX_SAFE_INTEGER;

/** The errors of a replay request whatever the run (an unknown behavior, a bad pointer, a malformed override). */
export function requestErrors(request: ReplayRequest): FieldError[] {
  return lengthErrors(request, ANY_PLAN_LENGTH);
}
