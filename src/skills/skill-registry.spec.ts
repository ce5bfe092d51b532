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

@Injectable()
@Skill('acme.sloppy')
class SloppyVolatileSkill implements SkillHandler {
  readonly volatilePaths = ['/headers/date', 'headers/age'];
  async execute() {
    return null;
  }
}

@Module({ providers: [SloppyVolatileSkill] })
class SloppySkillsModule {}

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

  it("knows each skill's volatile output paths (http.request: exactly API.md's list; llm.chat: /usage)", async () => {
    const moduleRef = await boot(CustomSkillsModule);
    await moduleRef.init();
    const registry = moduleRef.get<SkillRegistry>(SKILL_REGISTRY);
    expect(registry.volatilePaths('http.request')).toEqual([
      '/headers/date',
      '/headers/age',
      '/headers/expires',
      '/headers/set-cookie',
      '/headers/x-request-id',
      '/headers/server-timing',
      '/headers/report-to',
      '/headers/nel',
      '/headers/cf-ray',
    ]);
    expect(registry.volatilePaths('llm.chat')).toEqual(['/usage']);
    expect(registry.volatilePaths('acme.greet')).toEqual([]);
    expect(registry.volatilePaths('transform')).toEqual([]);
    expect(registry.volatilePaths('no.such.skill')).toEqual([]);
    await moduleRef.close();
  });

  it('fails the boot when a skill declares a volatile path that is not a JSON Pointer', async () => {
    const moduleRef = await boot(SloppySkillsModule);
    await expect(moduleRef.init()).rejects.toThrow(
      'Skill "acme.sloppy" (SloppyVolatileSkill) declares volatilePaths that are not non-empty RFC 6901 JSON Pointers.',
    );
  });

  it('fails the boot when two skills share a name', async () => {
    const moduleRef = await boot(ClashingSkillsModule);
    await expect(moduleRef.init()).rejects.toThrow(DuplicateSkillError);
  });
});
