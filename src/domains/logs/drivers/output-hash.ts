import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** A value that JSON cannot represent exactly (NaN, Infinity, a lone surrogate, a function, a cycle...). */
export class NonRepresentableJsonError extends Error {
  constructor(reason: string) {
    super(`Output cannot be represented exactly as JSON: ${reason}`);
    this.name = 'NonRepresentableJsonError';
  }
}

/**
 * RFC 8785 (JCS) canonical JSON, by the reference implementation (`canonicalize`). It refuses NaN,
 * Infinity, lone surrogates and cycles; `undefined` members are dropped as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value === undefined ? null : value);
  } catch (error) {
    throw new NonRepresentableJsonError(error instanceof Error ? error.message : String(error));
  }
  if (text === undefined) throw new NonRepresentableJsonError(`a ${typeof value} is not JSON`);
  return text;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Full lowercase hex SHA-256 of the canonical JSON of `data` (`null` hashes the text `null`). */
export function hashOutput(data: unknown): string {
  return sha256Hex(canonicalJson(data));
}

/**
 * The exact JSON value that is stored and hashed: parsing the canonical text back both normalises
 * the value (what is stored is what was hashed) and rejects what canonicalize let through (a
 * function or symbol nested in an object).
 */
export function toHashedJson(data: unknown): { value: unknown; hash: string } {
  const text = canonicalJson(data);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new NonRepresentableJsonError('it holds values (functions, symbols, BigInts) that are not JSON');
  }
  return { value, hash: sha256Hex(text) };
}
