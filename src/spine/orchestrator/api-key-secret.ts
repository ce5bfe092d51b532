import { hash, randomBytes } from 'node:crypto';

const PREFIX = 'ak_';

/** A new API key: 256 random bits, base64url, with a recognisable prefix. */
export function generateApiKey(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** Keys are high-entropy secrets, so a plain SHA-256 is a sound at-rest hash (no slow KDF needed). */
export function hashApiKey(secret: string): string {
  return hash('sha256', secret, 'hex'); // one-shot (UTF-8): every authenticated request hashes its key
}
