import { Injectable } from '@nestjs/common';
import { parseWaitParams, WAIT_SKILL } from '../../shared/signals.js';
import { Skill } from '../skill.decorator.js';
import { type ParamCheck, SkillError, type SkillHandler, StepErrorCode } from '../skill.interface.js';

/**
 * `wait` { signal, timeout_ms? } -> the signal's payload. The step runner handles it (the run becomes
 * `waiting` and holds no worker until its signal arrives or the timeout passes); this handler only
 * checks params at submission, so a plan with a bad signal name is refused with 400.
 */
@Injectable()
@Skill(WAIT_SKILL)
export class WaitSkill implements SkillHandler {
  validate(params: Record<string, unknown>, check: ParamCheck) {
    const checked = { ...params };
    if (check.isRef(checked.signal)) checked.signal = 'ref';
    if (check.isRef(checked.timeout_ms)) delete checked.timeout_ms;
    const parsed = parseWaitParams(checked);
    return 'path' in parsed ? [parsed] : [];
  }

  execute(): Promise<unknown> {
    return Promise.reject(new SkillError(StepErrorCode.Internal, 'wait steps are run by the step runner, not as a skill'));
  }
}
