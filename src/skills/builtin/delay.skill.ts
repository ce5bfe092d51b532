import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { Skill } from '../skill.decorator.js';
import { type ParamCheck, type SkillContext, SkillError, type SkillHandler, StepErrorCode } from '../skill.interface.js';

const MAX_MS = 60_000;

const isValidMs = (ms: unknown) => typeof ms === 'number' && Number.isInteger(ms) && ms >= 0 && ms <= MAX_MS;

/** `delay` { ms } (0..60000) -> { waited_ms }. */
@Injectable()
@Skill('delay')
export class DelaySkill implements SkillHandler {
  validate(params: Record<string, unknown>, check: ParamCheck) {
    if (check.isRef(params.ms) || isValidMs(params.ms)) return [];
    return [{ path: 'ms', message: `ms must be an integer from 0 to ${MAX_MS}` }];
  }

  async execute(params: Record<string, unknown>, context: SkillContext): Promise<unknown> {
    if (!isValidMs(params.ms)) throw new SkillError(StepErrorCode.InvalidParams, `ms must be an integer from 0 to ${MAX_MS}`);
    const ms = params.ms as number;
    try {
      await sleep(ms, undefined, { signal: context.signal });
    } catch {
      throw new SkillError(StepErrorCode.Interrupted, 'delay interrupted by shutdown');
    }
    return { waited_ms: ms };
  }
}
