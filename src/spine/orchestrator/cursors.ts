import { SpineErrorCode, SpineException } from '../spine.exception.js';

/** Opaque list cursors: base64url JSON of the last row's key. A cursor this API never issued is a 400. */

const MAX_BIGINT = 2n ** 63n - 1n;
const MAX_INT = 2 ** 31 - 1;

function invalid(): SpineException {
  return new SpineException(SpineErrorCode.InvalidCursor, 'The cursor is not one this API returned.');
}

function parse(cursor: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw invalid();
}

/** A cursor after a row of sequence number `seq` (a PostgreSQL bigint, as a string). */
export function encodeCursor(seq: string): string {
  return Buffer.from(JSON.stringify({ s: seq }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const s = parse(cursor).s;
  // A seq is a PostgreSQL bigint: 19 digits may still be beyond its range (a forged cursor).
  if (typeof s === 'string' && /^[1-9]\d{0,18}$/.test(s) && BigInt(s) <= MAX_BIGINT) return s;
  throw invalid();
}

/** A cursor after the item at `position` (a PostgreSQL int). */
export function encodePositionCursor(position: number): string {
  return Buffer.from(JSON.stringify({ p: position }), 'utf8').toString('base64url');
}

export function decodePositionCursor(cursor: string): number {
  const p = parse(cursor).p;
  if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= MAX_INT) return p;
  throw invalid();
}
