import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DelaySkill } from './builtin/delay.skill.js';
import { HttpRequestSkill } from './builtin/http-request.skill.js';
import { LlmChatSkill } from './builtin/llm-chat.skill.js';
import { TransformSkill } from './builtin/transform.skill.js';
import { WaitSkill } from './builtin/wait.skill.js';
import { SkillRegistry } from './skill-registry.js';
import { SKILL_REGISTRY } from './skills.tokens.js';

/** Built-in skills and the registry that also finds custom @Skill providers anywhere in the app. */
@Module({
  imports: [DiscoveryModule],
  providers: [
    HttpRequestSkill,
    TransformSkill,
    LlmChatSkill,
    DelaySkill,
    WaitSkill,
    SkillRegistry,
    { provide: SKILL_REGISTRY, useExisting: SkillRegistry },
  ],
  exports: [SKILL_REGISTRY],
})
export class SkillsModule {}
