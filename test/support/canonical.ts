import { createHash } from 'node:crypto';

/**
 * An independent canonical form for the tests' simple values (ASCII strings, safe integers, nested
 * objects and arrays): for such values RFC 8785 is exactly JSON with keys sorted. Written here, not
 * imported from src, so a hash computed by the service is checked against a second implementation.
 */
export function simpleCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(simpleCanonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${simpleCanonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error('simpleCanonical handles integers only');
  if (typeof value === 'string' && !/^[\x20-\x7e]*$/.test(value)) throw new Error('simpleCanonical handles printable ASCII only');
  return JSON.stringify(value);
}

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
