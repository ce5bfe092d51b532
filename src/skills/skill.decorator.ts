import { DiscoveryService } from '@nestjs/core';

/** Marks a provider implementing SkillHandler as the skill `name`. */
export const Skill = DiscoveryService.createDecorator<string>();
