/**
 * The two references a step's params may hold:
 * - `{ "$ref": "<JSON Pointer>" }`: a value of the run's document (input, earlier outputs);
 * - `{ "$secret": "<name>" }`: a tenant secret, resolved at the last moment before the skill runs.
 * Only references written in the plan count: a value brought in by `$ref` is data, never a reference,
 * so an upstream answer cannot name a secret for a later step to send.
 */

/** Names of tenant secrets (also the `{name}` of /v1/secrets/{name}). */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** `{ "$ref": "<pointer>" }`: exactly one member, a string. */
export function isRef(value: unknown): value is { $ref: string } {
  return isSingleStringMember(value, '$ref');
}

/** `{ "$secret": "<name>" }`: exactly one member, a string (the name's pattern is checked at submission). */
export function isSecretRef(value: unknown): value is { $secret: string } {
  return isSingleStringMember(value, '$secret');
}

function isSingleStringMember(value: unknown, member: string): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === member && typeof (value as Record<string, unknown>)[member] === 'string';
}

/** What a secret reads as wherever a step is recorded, returned or logged. */
export function secretPlaceholder(name: string): string {
  return `[secret:${name}]`;
}

/** Every object with a `$secret` member inside `params` as written, with the path where it stands (`params.headers.authorization`). */
export function collectSecretRefs(params: unknown, path: string, out: Array<{ path: string; ref: unknown }> = []): typeof out {
  if (params === null || typeof params !== 'object' || isRef(params)) return out;
  if (Array.isArray(params)) {
    params.forEach((v, i) => collectSecretRefs(v, `${path}[${i}]`, out));
    return out;
  }
  if (Object.prototype.hasOwnProperty.call(params, '$secret')) {
    out.push({ path, ref: params });
    return out;
  }
  for (const [k, v] of Object.entries(params)) collectSecretRefs(v, `${path}.${k}`, out);
  return out;
}

/** Why a `$secret` object is not a valid reference, or null when it is. */
export function secretRefProblem(ref: unknown): string | null {
  if (!isSecretRef(ref)) return '$secret must be an object with exactly one member "$secret" holding a secret name';
  if (!SECRET_NAME_PATTERN.test(ref.$secret)) return `"${ref.$secret}" is not a secret name (^[A-Za-z0-9_.-]{1,128}$)`;
  return null;
}

/** The distinct secret names referenced by params as written (valid references only). */
export function secretNames(params: unknown): string[] {
  const names = new Set<string>();
  for (const { ref } of collectSecretRefs(params, 'params')) if (isSecretRef(ref)) names.add(ref.$secret);
  return [...names];
}

/** The distinct secret names referenced anywhere in a plan. */
export function planSecretNames(steps: ReadonlyArray<{ params: unknown }>): string[] {
  return [...new Set(steps.flatMap((s) => secretNames(s.params)))];
}

/**
 * Replaces the `$secret` references of `written` (params as written) in `resolved` (the same params
 * after `$ref` resolution) by `replace(name)`. Values that `$ref` brought in are taken as they are.
 */
export function substituteSecrets(written: unknown, resolved: unknown, replace: (name: string) => unknown): unknown {
  if (isSecretRef(written)) return replace(written.$secret);
  if (written === null || typeof written !== 'object' || isRef(written)) return resolved;
  if (Array.isArray(written)) {
    return Array.isArray(resolved) ? resolved.map((v: unknown, i) => substituteSecrets(written[i], v, replace)) : resolved;
  }
  if (resolved === null || typeof resolved !== 'object' || Array.isArray(resolved)) return resolved;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resolved as Record<string, unknown>)) {
    const next: unknown = Object.prototype.hasOwnProperty.call(written, key)
      ? substituteSecrets((written as Record<string, unknown>)[key], value, replace)
      : value;
    Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
