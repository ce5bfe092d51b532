import { isRef, isSecretRef, secretPlaceholder } from './param-refs.js';
import type { StepRecord } from './step.types.js';

/**
 * What is recorded, returned or logged of a step never holds a credential:
 * - a tenant secret's value reads "[secret:<name>]" (maskSecrets / SecretMask, which need the values);
 * - the values of credential headers and URL query parameters read "[redacted]" (redactValue, which
 *   needs nothing, so every read path applies it too).
 * Both are idempotent: applying them to what they produced changes nothing, so an output hashed as
 * recorded keeps its hash when a read path redacts it again.
 */

export const REDACTED = '[redacted]';
/** Header names whose values are redacted (compared case-insensitively), wherever they stand as an object member. */
export const REDACTED_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
]);
/** URL query parameter names whose values are redacted (compared case-insensitively, percent-decoded). */
export const REDACTED_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'api_key',
  'apikey',
  'access_token',
  'token',
  'password',
  'secret',
  'signature',
]);

const PLACEHOLDER = /^\[secret:[A-Za-z0-9_.-]{1,128}\]$/;
/** `name=value` after `?`, `&`, `;` or `#` (OAuth puts tokens in fragments); a value ends at a delimiter, a quote or a space. */
const QUERY_PARAM = /([?&;#])([^=&#?;\s"'<>]+)=([^&#;\s"'<>]*)/g;

function isRedactedParam(name: string): boolean {
  let decoded = name.replace(/\+/g, ' ');
  try {
    decoded = decodeURIComponent(decoded);
  } catch {
    // a malformed escape: compare the name as written
  }
  return REDACTED_QUERY_PARAMS.has(decoded.toLowerCase());
}

/** Redacts the values of the listed query parameters in any URL (or URL-like text) inside `text`. */
export function redactText(text: string): string {
  if (!text.includes('=')) return text;
  return text.replace(QUERY_PARAM, (match, sep: string, name: string, value: string) =>
    isRedactedParam(name) && value !== REDACTED && !PLACEHOLDER.test(value) ? `${sep}${name}=${REDACTED}` : match,
  );
}

/** A header value that stays as it is: a secret's placeholder, or a reference (a pending step's params as written). */
function keepsHeaderValue(value: unknown): boolean {
  return (typeof value === 'string' && PLACEHOLDER.test(value)) || isSecretRef(value) || isRef(value) || value === null;
}

/**
 * A copy of `value` with the values of credential headers (any object member named like one) and of
 * credential query parameters (in any string) replaced by "[redacted]". Secret placeholders stay.
 */
export function redactValue<T>(value: T): T {
  return mapJson(value, redactText, (key, member) =>
    REDACTED_HEADERS.has(key.toLowerCase()) && !keepsHeaderValue(member) ? { replace: REDACTED } : null,
  ) as T;
}

/** Replaces every occurrence of the values of some secrets by their placeholders. */
export class SecretMask {
  private readonly pattern: RegExp | null;
  private readonly names = new Map<string, string>();

  constructor(secrets: ReadonlyArray<{ name: string; value: string }>) {
    // The value as sent, and as it comes back JSON-escaped, percent-encoded or form-encoded.
    for (const { name, value } of secrets) {
      if (value.length === 0) continue;
      for (const variant of [value, JSON.stringify(value).slice(1, -1), ...percentEncoded(value)]) {
        if (!this.names.has(variant)) this.names.set(variant, name);
      }
    }
    // Longest first, one pass: a value inside another, or inside a placeholder, is never replaced twice.
    const variants = [...this.names.keys()].sort((a, b) => b.length - a.length);
    this.pattern = variants.length > 0 ? new RegExp(variants.map(escapeRegExp).join('|'), 'g') : null;
  }

  get empty(): boolean {
    return this.pattern === null;
  }

  /** The secret values found inside a text (a skill's error message, a log line) masked. */
  text(text: string): string {
    if (!this.pattern) return text;
    return text.replace(this.pattern, (found) => secretPlaceholder(this.names.get(found)!));
  }

  /** A copy of a JSON value with secret values masked in every string, member name, and number that spells one. */
  value<T>(value: T): T {
    if (!this.pattern) return value;
    return mapJson(
      value,
      (s) => this.text(s),
      () => null,
      (key) => this.text(key),
      (n) => {
        const name = this.names.get(String(n));
        return name === undefined ? n : secretPlaceholder(name);
      },
    ) as T;
  }
}

/** Masks secrets, then redacts: what a step's params, output or error look like wherever they are recorded. */
export function maskSecrets<T>(value: T, mask: SecretMask): T {
  return redactValue(mask.value(value));
}

/** A recorded step as every read path returns it. */
export function redactStep(step: StepRecord): StepRecord {
  return {
    ...step,
    params: redactValue(step.params),
    output: redactValue(step.output),
    error: step.error ? { ...step.error, message: redactText(step.error.message) } : null,
    mismatch: step.mismatch ? { ...step.mismatch, diff: redactValue(step.mismatch.diff) } : null,
    comparison: step.comparison
      ? { ...step.comparison, reason: step.comparison.reason === null ? null : redactText(step.comparison.reason) }
      : null,
  };
}

/** A run's step-derived fields (output of its last step, error, replay report) as every read path returns them. */
export function redactRunFields<T extends { output: unknown; error: { message: string } | null; replay: unknown }>(run: T): T {
  return {
    ...run,
    output: redactValue(run.output),
    error: run.error ? { ...run.error, message: redactText(run.error.message) } : null,
    replay: redactValue(run.replay),
  };
}

/** The value percent-encoded, and form-encoded (spaces as `+`); none for a value URI encoding refuses (a lone surrogate). */
function percentEncoded(value: string): string[] {
  try {
    const encoded = encodeURIComponent(value);
    return [encoded, encoded.replace(/%20/g, '+')];
  } catch {
    return [];
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Maps a JSON value (what a skill returned: objects with toJSON are read as JSON.stringify reads
 * them) without mutating it. Values JSON cannot hold (NaN, functions, cycles) are passed through, so
 * the canonical encoding that follows still refuses them.
 */
function mapJson(
  value: unknown,
  onString: (s: string) => string,
  onMember: (key: string, member: unknown) => { replace: unknown } | null,
  onKey: (key: string) => string = (k) => k,
  onNumber: (n: number) => unknown = (n) => n,
  ancestors: Set<object> = new Set(),
): unknown {
  if (typeof value === 'string') return onString(value);
  if (typeof value === 'number') return onNumber(value);
  if (value === null || typeof value !== 'object' || ancestors.has(value)) return value;
  const json = (value as { toJSON?: unknown }).toJSON;
  if (typeof json === 'function') return mapJson(json.call(value), onString, onMember, onKey, onNumber, ancestors);
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => mapJson(v, onString, onMember, onKey, onNumber, ancestors));
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      const replaced = onMember(key, member);
      const next = replaced ? replaced.replace : mapJson(member, onString, onMember, onKey, onNumber, ancestors);
      // defineProperty: a "__proto__" member stays a member, never a prototype.
      Object.defineProperty(out, onKey(key), { value: next, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}
