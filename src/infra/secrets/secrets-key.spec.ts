import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSecretsKey, loadOrCreateKeyFile, SECRETS_KEY_FILE, secretsKeySource } from './secrets-key.js';

describe('secrets key', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'secrets-key-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const log = () => undefined;

  it('decodes only the canonical base64 of exactly 32 bytes', () => {
    const key = randomBytes(32);
    expect(decodeSecretsKey(key.toString('base64'))?.equals(key)).toBe(true);
    expect(decodeSecretsKey(`${key.toString('base64')}\n`)?.equals(key)).toBe(true);
    for (const bad of [
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      'not base64 at all',
      key.toString('hex'),
      '',
    ]) {
      expect(decodeSecretsKey(bad)).toBeNull();
    }
  });

  it('creates the key file once, mode 0600, and reads the same key afterwards', () => {
    const messages: string[] = [];
    const first = loadOrCreateKeyFile(join(dir, 'nested'), (m) => messages.push(m));
    expect(first).toHaveLength(32);
    const path = join(dir, 'nested', SECRETS_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(messages.join()).toMatch(/generated the secrets key/);
    expect(loadOrCreateKeyFile(join(dir, 'nested'), log).equals(first)).toBe(true);
    expect(readFileSync(path, 'utf8').trim()).toBe(first.toString('base64'));
  });

  it('tightens a key file readable by others to 0600, and refuses a file that holds no key', () => {
    const path = join(dir, SECRETS_KEY_FILE);
    writeFileSync(path, randomBytes(32).toString('base64'));
    chmodSync(path, 0o644);
    loadOrCreateKeyFile(dir, log);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileSync(path, 'garbage');
    expect(() => loadOrCreateKeyFile(dir, log)).toThrow(/does not hold a base64 key/);
  });

  it('SECRETS_KEY first; else embedded mode keeps a key in the data dir; production without it: off. Resolved lazily', () => {
    const env = randomBytes(32);
    expect(secretsKeySource({ key: env.toString('base64'), embeddedDataDir: dir }, log)()?.equals(env)).toBe(true);
    const production = secretsKeySource({ key: null, embeddedDataDir: null }, log);
    expect(production()).toBeNull();
    const embedded = secretsKeySource({ key: null, embeddedDataDir: join(dir, 'data') }, log);
    expect(() => statSync(join(dir, 'data', SECRETS_KEY_FILE))).toThrow(); // nothing written before first use
    expect(embedded()).toHaveLength(32);
    expect(statSync(join(dir, 'data', SECRETS_KEY_FILE)).mode & 0o777).toBe(0o600);
  });
});
