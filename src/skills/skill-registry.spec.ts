import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { loadConfig } from '../infra/config/app.config.js';
import { ConfigModule } from '../infra/config/config.module.js';
import { DuplicateSkillError, type SkillRegistry } from './skill-registry.js';
import { Skill } from './skill.decorator.js';
import type { SkillContext, SkillHandler } from './skill.interface.js';
import { SkillsModule } from './skills.module.js';
import { SKILL_REGISTRY } from './skills.tokens.js';

@Injectable()
@Skill('acme.greet')
class GreetSkill implements SkillHandler {
  async execute(params: Record<string, unknown>, _context: SkillContext) {
    return { greeting: `hello ${String(params.name)}` };
  }
}

@Injectable()
@Skill('delay')
class AnotherDelaySkill implements SkillHandler {
  async execute() {
    return null;
  }
}

@Module({ providers: [GreetSkill] })
class CustomSkillsModule {}

@Module({ providers: [AnotherDelaySkill] })
class ClashingSkillsModule {}

const boot = (extra: unknown) =>
  Test.createTestingModule({ imports: [ConfigModule.forRoot(loadConfig({})), SkillsModule, extra as never] }).compile();

describe('SkillRegistry', () => {
  it('finds the built-in skills and a custom @Skill provider in any module', async () => {
    const moduleRef = await boot(CustomSkillsModule);
    await moduleRef.init();
    const registry = moduleRef.get<SkillRegistry>(SKILL_REGISTRY);
    expect(registry.names()).toEqual(['acme.greet', 'delay', 'http.request', 'llm.chat', 'transform', 'wait']);
    const greet = registry.get('acme.greet')!;
    expect(await greet.execute({ name: 'ada' }, {} as SkillContext)).toEqual({ greeting: 'hello ada' });
    await moduleRef.close();
  });

  it('fails the boot when two skills share a name', async () => {
    const moduleRef = await boot(ClashingSkillsModule);
    await expect(moduleRef.init()).rejects.toThrow(DuplicateSkillError);
  });
});
