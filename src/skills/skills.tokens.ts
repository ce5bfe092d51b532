export const SKILL_REGISTRY = Symbol('SKILL_REGISTRY');
