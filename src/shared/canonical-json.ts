import { hash } from 'node:crypto';
import { configure } from 'safe-stable-stringify';
import { StepErrorCode, StepFailure } from './run-errors.js';

/** A value that JSON cannot represent exactly (NaN, Infinity, a lone surrogate, a function, a cycle...). */
export class NonRepresentableJsonError extends StepFailure {
  constructor(reason: string) {
    super(StepErrorCode.OutputNotJson, `Output cannot be represented exactly as JSON: ${reason}`);
    this.name = 'NonRepresentableJsonError';
  }
}

/** A step output whose canonical JSON is larger than the limit (STEP_MAX_OUTPUT_BYTES): not retryable. */
export class StepOutputTooLargeError extends StepFailure {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      StepErrorCode.OutputTooLarge,
      `step output is ${bytes} bytes of canonical JSON, more than STEP_MAX_OUTPUT_BYTES (${limit} bytes)`,
    );
    this.name = 'StepOutputTooLargeError';
  }
}

/**
 * Strict, deterministic JSON: keys sorted by UTF-16 code units, numbers in the ECMAScript shortest form,
 * strings escaped as JSON.stringify does - for JSON values exactly RFC 8785 (JCS). Strict mode throws on
 * NaN, Infinity, BigInt, functions and symbols; cycles throw. It measured 2.4x faster than the
 * reference implementation (`canonicalize`); output-hash.spec.ts proves the two byte-identical on the
 * RFC 8785 vectors and on thousands of random JSON values.
 */
const stringify = configure({ strict: true, deterministic: true, bigint: false, circularValue: Error });

/** A lone surrogate, which JSON.stringify writes as an escape (an escaped backslash before it does not count). */
const LONE_SURROGATE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/;

/** RFC 8785 (JCS) canonical JSON; refuses what JSON cannot represent exactly. */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = stringify(value === undefined ? null : value);
  } catch (error) {
    throw new NonRepresentableJsonError(error instanceof Error ? error.message : String(error));
  }
  if (text === undefined) throw new NonRepresentableJsonError(`a ${typeof value} is not JSON`);
  if (LONE_SURROGATE_ESCAPE.test(text)) throw new NonRepresentableJsonError('a string holds a lone surrogate');
  return text;
}

export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex'); // one-shot: a quarter of createHash's cost for short texts (UTF-8)
}

/** Full lowercase hex SHA-256 of the canonical JSON of `data` (`null` hashes the text `null`). */
export function hashOutput(data: unknown): string {
  return sha256Hex(canonicalJson(data));
}

/**
 * The exact JSON value that is stored and hashed: parsing the canonical text back normalises it.
 * With `maxBytes`, a canonical text longer than that many UTF-8 bytes throws StepOutputTooLargeError.
 */
export function toHashedJson(data: unknown, maxBytes = Infinity): { value: unknown; hash: string } {
  const text = canonicalJson(data);
  // UTF-8 needs at most 3 bytes per UTF-16 unit: a text of up to maxBytes / 3 units cannot be too large.
  if (text.length > maxBytes / 3) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) throw new StepOutputTooLargeError(bytes, maxBytes);
  }
  return { value: JSON.parse(text) as unknown, hash: sha256Hex(text) };
}
