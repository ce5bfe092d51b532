import { loadConfig } from '../../infra/config/app.config.js';
import { LlmChatSkill } from './llm-chat.skill.js';

describe('LlmChatSkill.usage', () => {
  const skill = new LlmChatSkill(loadConfig({ NODE_ENV: 'test' }).llm);

  it('reads the usage an OpenAI-compatible answer reports', () => {
    expect(
      skill.usage({ content: 'x', usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12, prompt_tokens_details: {} } }),
    ).toEqual({
      prompt_tokens: 5,
      completion_tokens: 7,
      total_tokens: 12,
    });
  });

  it('sums a missing total, reads bad counts as 0, and reports nothing without usage', () => {
    expect(skill.usage({ usage: { prompt_tokens: 3, completion_tokens: 4 } })).toEqual({
      prompt_tokens: 3,
      completion_tokens: 4,
      total_tokens: 7,
    });
    expect(skill.usage({ usage: { prompt_tokens: -1, completion_tokens: 1.5, total_tokens: '9' } })).toEqual({
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
    });
    expect(skill.usage({ usage: null })).toBeNull();
    expect(skill.usage({ usage: [1] })).toBeNull();
    expect(skill.usage(null)).toBeNull();
    expect(skill.usage('text')).toBeNull();
  });
});
