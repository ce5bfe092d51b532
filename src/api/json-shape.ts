/** Deepest nesting a request body may have; deeper bodies are refused before anything recurses into them. */
export const MAX_JSON_DEPTH = 100;
/** Refused anywhere in a body: the prototype-pollution key. */
const POLLUTING_KEY = '__proto__';
/** Refused where DTO classes validate (top level, a step): class-validator's whitelist cannot see them. */
const CLASS_KEYS = new Set(['constructor', 'prototype']);
const isClassLevel = (path: string) => path === '' || /^steps\[\d+\]$/.test(path);

/**
 * Checks a parsed JSON body without recursion: nesting depth, `__proto__` anywhere, and
 * `constructor`/`prototype` where DTOs are validated. Free-form objects (input, metadata, params)
 * may otherwise hold any key. Returns the problem or null.
 */
export function jsonShapeProblem(body: unknown): { field: string; message: string } | null {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: body, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return { field: path || '(body)', message: `the body is nested deeper than ${MAX_JSON_DEPTH} levels` };
    if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, depth: depth + 1, path: `${path}[${i}]` }));
      continue;
    }
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (key === POLLUTING_KEY || (CLASS_KEYS.has(key) && isClassLevel(path))) return { field: at, message: `"${key}" is a reserved key` };
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: at });
    }
  }
  return null;
}

/** True when an object anywhere in `body` has a `constructor` or `prototype` key (the shape check has run). */
export function hasClassKeys(body: unknown): boolean {
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      stack.push(...(value as unknown[]));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (CLASS_KEYS.has(key)) return true;
      stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return false;
}
