import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { isJsonPointer } from '../shared/json-pointer.js';
import { Skill } from './skill.decorator.js';
import type { SkillHandler } from './skill.interface.js';

export class DuplicateSkillError extends Error {
  constructor(name: string) {
    super(`Two skills are registered under the name "${name}"; skill names must be unique.`);
    this.name = 'DuplicateSkillError';
  }
}

/** Every @Skill provider of the application, found at boot. */
@Injectable()
export class SkillRegistry implements OnModuleInit {
  private readonly skills = new Map<string, SkillHandler>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: Skill.KEY })) {
      const name = this.discovery.getMetadataByDecorator(Skill, wrapper);
      if (!name || !wrapper.instance) continue;
      if (this.skills.has(name)) throw new DuplicateSkillError(name);
      const handler = wrapper.instance as SkillHandler;
      if (typeof handler.execute !== 'function') throw new Error(`Skill "${name}" (${wrapper.name}) has no execute() method.`);
      const volatile = handler.volatilePaths;
      if (
        volatile !== undefined &&
        (!Array.isArray(volatile) || volatile.some((p) => typeof p !== 'string' || p === '' || !isJsonPointer(p)))
      ) {
        throw new Error(`Skill "${name}" (${wrapper.name}) declares volatilePaths that are not non-empty RFC 6901 JSON Pointers.`);
      }
      this.skills.set(name, handler);
    }
  }

  get(name: string): SkillHandler | undefined {
    return this.skills.get(name);
  }

  /** The skill's volatile output paths (RFC 6901 pointers; none for an unknown skill). */
  volatilePaths(name: string): readonly string[] {
    return this.skills.get(name)?.volatilePaths ?? [];
  }

  /**
   * Pointers into `recorded` (an output of the skill as recorded, possibly by an earlier version) to
   * what the skill no longer records; non-empty RFC 6901 pointers only (none for an unknown skill).
   */
  unrecordedPaths(name: string, recorded: unknown): readonly string[] {
    const paths = this.skills.get(name)?.unrecordedPaths?.(recorded) ?? [];
    return paths.filter((p) => typeof p === 'string' && p !== '' && isJsonPointer(p));
  }

  names(): string[] {
    return [...this.skills.keys()].sort();
  }
}
