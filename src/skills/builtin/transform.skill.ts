import { Injectable } from '@nestjs/common';
import jsonata from 'jsonata';
import { Skill } from '../skill.decorator.js';
import { type ParamCheck, type SkillContext, SkillError, type SkillHandler, StepErrorCode } from '../skill.interface.js';

const MAX_EXPRESSION = 10_000;

const CACHE_SIZE = 1_000;
const compiled = new Map<string, jsonata.Expression>();

/** Parses a JSONata expression, keeping the last CACHE_SIZE parses (expressions repeat across runs). */
function compile(expression: string): jsonata.Expression {
  const cached = compiled.get(expression);
  if (cached) return cached;
  let parsed: jsonata.Expression;
  try {
    parsed = jsonata(expression);
  } catch (error) {
    const message = (error as { message?: string }).message ?? String(error);
    throw new SkillError(StepErrorCode.InvalidParams, `invalid JSONata expression: ${message}`);
  }
  if (compiled.size >= CACHE_SIZE) compiled.delete(compiled.keys().next().value!);
  compiled.set(expression, parsed);
  return parsed;
}

/** `transform` { expression }: a JSONata expression over { input, steps: [{ output }] } -> its value. */
@Injectable()
@Skill('transform')
export class TransformSkill implements SkillHandler {
  validate(params: Record<string, unknown>, check: ParamCheck) {
    const { expression } = params;
    if (check.isRef(expression)) return [];
    if (typeof expression !== 'string' || expression.length === 0 || expression.length > MAX_EXPRESSION) {
      return [{ path: 'expression', message: `expression must be a JSONata string of 1 to ${MAX_EXPRESSION} characters` }];
    }
    try {
      compile(expression);
      return [];
    } catch (error) {
      return [{ path: 'expression', message: (error as Error).message }];
    }
  }

  async execute(params: Record<string, unknown>, context: SkillContext): Promise<unknown> {
    const expression = params.expression;
    if (typeof expression !== 'string') throw new SkillError(StepErrorCode.InvalidParams, 'expression must be a string');
    try {
      const value: unknown = await compile(expression).evaluate(context.document);
      return value === undefined ? null : value;
    } catch (error) {
      if (error instanceof SkillError) throw error;
      const message = (error as { message?: string }).message ?? String(error);
      throw new SkillError(StepErrorCode.SkillFailed, `JSONata evaluation failed: ${message}`);
    }
  }
}
