import { Injectable } from '@nestjs/common';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import type { StepUsage } from '../../shared/step.types.js';
import { Skill } from '../skill.decorator.js';
import { type ParamCheck, type SkillContext, SkillError, type SkillHandler, StepErrorCode } from '../skill.interface.js';

interface ChatCompletion {
  model?: string;
  choices?: Array<{ message?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: unknown;
}

/**
 * `llm.chat` { model, messages, temperature?, max_tokens? } -> { content, model, finish_reason, usage },
 * an OpenAI-compatible chat completion at LLM_BASE_URL (an operator setting, so not host-filtered).
 */
@Injectable()
@Skill('llm.chat')
export class LlmChatSkill implements SkillHandler {
  /**
   * Token counts differ whenever the wording does: a replay's `check` (unless `strict`) compares the
   * answer, not its cost. (The run's `usage` still reads them.)
   */
  readonly volatilePaths: readonly string[] = Object.freeze(['/usage']);

  constructor(@InjectConfig('llm') private readonly config: AppConfig['llm']) {}

  validate(params: Record<string, unknown>, check: ParamCheck) {
    const errors: Array<{ path: string; message: string }> = [];
    const { model, messages, temperature, max_tokens } = params;
    if (!check.isRef(model) && (typeof model !== 'string' || model.length === 0 || model.length > 200)) {
      errors.push({ path: 'model', message: 'model must be a non-empty string' });
    }
    if (!check.isRef(messages)) {
      const ok =
        Array.isArray(messages) &&
        messages.length > 0 &&
        messages.every(
          (m) => check.isRef(m) || (m !== null && typeof m === 'object' && typeof (m as { role?: unknown }).role === 'string'),
        );
      if (!ok) errors.push({ path: 'messages', message: 'messages must be a non-empty array of { role, content }' });
    }
    if (
      temperature !== undefined &&
      !check.isRef(temperature) &&
      !(typeof temperature === 'number' && temperature >= 0 && temperature <= 2)
    ) {
      errors.push({ path: 'temperature', message: 'temperature must be a number from 0 to 2' });
    }
    if (max_tokens !== undefined && !check.isRef(max_tokens) && !(Number.isInteger(max_tokens) && (max_tokens as number) >= 1)) {
      errors.push({ path: 'max_tokens', message: 'max_tokens must be a positive integer' });
    }
    return errors;
  }

  async execute(params: Record<string, unknown>, context: SkillContext): Promise<unknown> {
    const { model, messages, temperature, max_tokens } = params;
    const url = `${this.config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    let response: globalThis.Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body: JSON.stringify({ model, messages, temperature, max_tokens }),
        signal: AbortSignal.any([context.signal, AbortSignal.timeout(this.config.timeoutMs)]),
      });
    } catch (error) {
      throw new SkillError(
        StepErrorCode.RemoteUnavailable,
        `LLM request failed: ${(error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message}`,
      );
    }
    if (response.status === 429 || response.status >= 500)
      throw new SkillError(StepErrorCode.RemoteUnavailable, `LLM answered ${response.status}`);
    if (!response.ok)
      throw new SkillError(StepErrorCode.RemoteRejected, `LLM answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
    const completion = (await response.json().catch(() => null)) as ChatCompletion | null;
    const choice = completion?.choices?.[0];
    if (!choice) throw new SkillError(StepErrorCode.RemoteUnavailable, 'LLM answer has no choices');
    return {
      content: choice.message?.content ?? null,
      model: completion?.model ?? model,
      finish_reason: choice.finish_reason ?? null,
      usage: completion?.usage ?? null,
    };
  }

  /**
   * The `usage` of an output, as OpenAI-compatible servers report it. Counts that are missing or not
   * non-negative integers read 0; a missing `total_tokens` is the sum of the other two.
   */
  usage(output: unknown): StepUsage | null {
    const usage = (output as { usage?: unknown } | null)?.usage;
    if (usage === null || typeof usage !== 'object' || Array.isArray(usage)) return null;
    const { prompt_tokens, completion_tokens, total_tokens } = usage as Record<string, unknown>;
    const count = (v: unknown): number | null => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : null);
    const prompt = count(prompt_tokens) ?? 0;
    const completion = count(completion_tokens) ?? 0;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: count(total_tokens) ?? prompt + completion };
  }
}
