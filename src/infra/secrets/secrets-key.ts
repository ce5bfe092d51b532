import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The embedded mode's key file, in EMBEDDED_DATA_DIR. */
export const SECRETS_KEY_FILE = 'secrets.key';
const KEY_BYTES = 32;

/** The 32 bytes of a base64 key, or null when the text is not the canonical base64 of exactly 32 bytes. */
export function decodeSecretsKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) return null;
  const key = Buffer.from(trimmed, 'base64');
  return key.length === KEY_BYTES && key.toString('base64') === trimmed ? key : null;
}

/**
 * Reads the key kept in `dir`, or creates it once (32 random bytes, base64, mode 0600). Creation uses
 * O_EXCL, so two processes starting together end up with the same key. A file with looser
 * permissions is tightened to 0600; a file that does not hold a key stops everything rather than being replaced.
 */
export function loadOrCreateKeyFile(dir: string, log: (message: string) => void): Buffer {
  const path = resolve(dir, SECRETS_KEY_FILE);
  mkdirSync(resolve(dir), { recursive: true });
  try {
    writeFileSync(path, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    log(`generated the secrets key ${path} (mode 0600); keep it with the data: without it stored secrets cannot be read`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    chmodSync(path, 0o600);
    log(`tightened the permissions of ${path} to 0600`);
  }
  const key = decodeSecretsKey(readFileSync(path, 'utf8'));
  if (!key) throw new Error(`${path} does not hold a base64 key of 32 bytes; restore it, or remove it together with the stored secrets`);
  return key;
}

/** The `secrets` slice of the configuration. */
export interface SecretsKeySettings {
  /** SECRETS_KEY, or null. */
  readonly key: string | null;
  /** EMBEDDED_DATA_DIR in embedded mode (no DATABASE_URL), else null. */
  readonly embeddedDataDir: string | null;
}

/**
 * Where the secrets key comes from: SECRETS_KEY when set; else, in embedded mode (no DATABASE_URL), a
 * key generated once in the data directory; else none (production without SECRETS_KEY: secrets are
 * off). Resolved on first use and then kept, so booting never writes a file that is not needed.
 */
export function secretsKeySource(settings: SecretsKeySettings, log: (message: string) => void): () => Buffer | null {
  let key: Buffer | null | undefined;
  return () => {
    if (key !== undefined) return key;
    if (settings.key) key = decodeSecretsKey(settings.key);
    else if (settings.embeddedDataDir !== null) key = loadOrCreateKeyFile(settings.embeddedDataDir, log);
    else key = null;
    return key;
  };
}
