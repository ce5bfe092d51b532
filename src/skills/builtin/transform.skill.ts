import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import jsonata from 'jsonata';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { Skill } from '../skill.decorator.js';
import { type ParamCheck, type SkillContext, SkillError, type SkillHandler, StepErrorCode } from '../skill.interface.js';
import { TransformSandbox } from './transform-sandbox.js';

export const MAX_EXPRESSION = 10_000;

const CACHE_SIZE = 1_000;
/** Expressions that parsed at submission, the last CACHE_SIZE (parsing is cheap; the cache spares repeats). */
const parsed = new Set<string>();

/** Why `expression` is not a usable JSONata expression, or null. Parses only: nothing is evaluated here. */
function expressionProblem(expression: unknown): string | null {
  if (typeof expression !== 'string' || expression.length === 0 || expression.length > MAX_EXPRESSION) {
    return `expression must be a JSONata string of 1 to ${MAX_EXPRESSION} characters`;
  }
  if (parsed.has(expression)) return null;
  try {
    jsonata(expression);
  } catch (error) {
    return `invalid JSONata expression: ${(error as { message?: string }).message ?? String(error)}`;
  }
  if (parsed.size >= CACHE_SIZE) parsed.delete(parsed.values().next().value!);
  parsed.add(expression);
  return null;
}

/**
 * `transform` { expression }: a JSONata expression over { input, steps: [{ output }] } -> its value.
 * Evaluated in the transform sandbox (other processes, with TRANSFORM_TIMEOUT_MS and
 * TRANSFORM_MAX_MEMORY_MB), never on this process's event loop.
 */
@Injectable()
@Skill('transform')
export class TransformSkill implements SkillHandler, OnApplicationShutdown {
  /** No side effect, the output depends on params and document only: steps are recorded in batches. */
  readonly pure = true;
  private readonly sandbox: TransformSandbox;

  constructor(@InjectConfig('transforms') transforms: AppConfig['transforms'], @InjectConfig('limits') limits: AppConfig['limits']) {
    this.sandbox = new TransformSandbox({ ...transforms, maxOutputBytes: limits.maxStepOutputBytes });
  }

  validate(params: Record<string, unknown>, check: ParamCheck) {
    if (check.isRef(params.expression)) return [];
    const problem = expressionProblem(params.expression);
    return problem ? [{ path: 'expression', message: problem }] : [];
  }

  async execute(params: Record<string, unknown>, context: SkillContext): Promise<unknown> {
    // Checked again here: an expression that came through `$ref` was not seen at submission.
    const problem = expressionProblem(params.expression);
    if (problem) throw new SkillError(StepErrorCode.InvalidParams, problem);
    return this.sandbox.evaluate(params.expression as string, context.document, context.signal);
  }

  /** An expression written as a literal string (not a `$ref` or `$secret`) that parses. */
  chainable(params: Record<string, unknown>): boolean {
    return typeof params.expression === 'string' && expressionProblem(params.expression) === null;
  }

  /** Consecutive transforms in one sandbox call (see SkillHandler.executeChain). */
  executeChain(params: ReadonlyArray<Record<string, unknown>>, document: SkillContext['document'], signal: AbortSignal) {
    return this.sandbox.evaluateChain(
      params.map((p) => p.expression as string),
      document,
      signal,
    );
  }

  /** After the workers stopped taking runs and the runs in hand finished (onModuleDestroy comes first). */
  async onApplicationShutdown(): Promise<void> {
    await this.sandbox.close();
  }
}
