import { randomBytes } from 'node:crypto';
import { SecretCipher, SecretsDisabledError, secretsKeyId, SecretUnreadableError } from './secret-cipher.js';

describe('SecretCipher (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const cipher = new SecretCipher(() => key);

  it('round-trips a value bound to its tenant and name; the key id is stored beside it', () => {
    const sealed = cipher.seal('sk_live_ünïcode 🔑', 't1\0stripe');
    expect(sealed.keyId).toBe(secretsKeyId(key));
    expect(sealed.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.tag).toHaveLength(16);
    expect(sealed.ciphertext.toString('utf8')).not.toContain('sk_live');
    expect(cipher.open(sealed, 't1\0stripe')).toBe('sk_live_ünïcode 🔑');
  });

  it('uses a random IV per value: the same value seals differently each time', () => {
    const a = cipher.seal('same', 'x');
    const b = cipher.seal('same', 'x');
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('refuses a value moved to another row, altered, or sealed under another key', () => {
    const sealed = cipher.seal('v', 't1\0a');
    expect(() => cipher.open(sealed, 't2\0a')).toThrow(SecretUnreadableError);
    const altered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext.map((b) => b ^ 1)) };
    expect(() => cipher.open(altered, 't1\0a')).toThrow(SecretUnreadableError);
    const other = new SecretCipher(() => randomBytes(32));
    expect(() => other.open(sealed, 't1\0a')).toThrow(/encrypted under key id/);
  });

  it('without a key, is disabled and refuses to seal or open', () => {
    const off = new SecretCipher(() => null);
    expect(off.enabled).toBe(false);
    expect(() => off.seal('v', 'x')).toThrow(SecretsDisabledError);
  });
});
