import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A secret value at rest: AES-256-GCM ciphertext, its random IV and tag, and the id of the key that sealed it. */
export interface SealedSecret {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** Secrets are off: no SECRETS_KEY in production mode. */
export class SecretsDisabledError extends Error {
  constructor() {
    super('Secrets are disabled: SECRETS_KEY is not set.');
    this.name = 'SecretsDisabledError';
  }
}

/** A sealed value this process cannot open: another key sealed it, or it was altered. */
export class SecretUnreadableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SecretUnreadableError';
  }
}

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;

/** The id stored beside each value: names the key without revealing it, so keys can be rotated later. */
export function secretsKeyId(key: Buffer): string {
  return createHash('sha256').update('agent-runs secrets key id\0').update(key).digest('hex').slice(0, 16);
}

/**
 * AES-256-GCM under SECRETS_KEY, a random 96-bit IV per value. The associated data binds a value to
 * its tenant and name, so a ciphertext copied to another row does not open.
 */
export class SecretCipher {
  /** `key` resolves the 32-byte key (lazily: the embedded mode creates its key file on first use), or null when secrets are off. */
  constructor(private readonly key: () => Buffer | null) {}

  get enabled(): boolean {
    return this.key() !== null;
  }

  seal(plaintext: string, associatedData: string): SealedSecret {
    const key = this.requireKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: secretsKeyId(key), iv, ciphertext, tag: cipher.getAuthTag() };
  }

  open(sealed: SealedSecret, associatedData: string): string {
    const key = this.requireKey();
    const keyId = secretsKeyId(key);
    if (sealed.keyId !== keyId) {
      throw new SecretUnreadableError(`it was encrypted under key id ${sealed.keyId}; this process holds key id ${keyId}`);
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, key, sealed.iv);
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(sealed.tag);
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadableError('its ciphertext does not authenticate under this key (altered, or moved to another row)');
    }
  }

  private requireKey(): Buffer {
    const key = this.key();
    if (!key) throw new SecretsDisabledError();
    return key;
  }
}
