import { ConfigValidationError, loadConfig } from './app.config.js';

describe('loadConfig', () => {
  it('gives documented defaults for an empty environment (embedded mode)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      MAX_BODY_BYTES: 1_048_576,
      MAX_STEPS: 100,
      IDEMPOTENCY_TTL_SECONDS: 86_400,
      STEP_IDEMPOTENCY_TTL_SECONDS: 86_400,
      IDEMPOTENCY_KEY_REQUIRED: false,
      SKILL_HTTP_ALLOWED_HOSTS: '*',
      useRedis: false,
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('reads values and booleans written in the usual ways', () => {
    const config = loadConfig({
      PORT: '8080',
      IDEMPOTENCY_KEY_REQUIRED: 'true',
      WORKER_ENABLED: 'no',
      REDIS_URL: 'redis://localhost:6379',
    });
    expect(config).toMatchObject({ PORT: 8080, IDEMPOTENCY_KEY_REQUIRED: true, WORKER_ENABLED: false, useRedis: true });
  });

  it('names every invalid variable', () => {
    const attempt = () =>
      loadConfig({ PORT: 'eighty', MAX_STEPS: '0', DATABASE_URL: 'mysql://x', IDEMPOTENCY_KEY_REQUIRED: 'maybe', ADMIN_TOKEN: 'short' });
    expect(attempt).toThrow(ConfigValidationError);
    const problems = (() => {
      try {
        attempt();
        return [];
      } catch (e) {
        return (e as ConfigValidationError).problems;
      }
    })();
    const text = problems.join('\n');
    for (const name of ['PORT', 'MAX_STEPS', 'DATABASE_URL', 'IDEMPOTENCY_KEY_REQUIRED', 'ADMIN_TOKEN']) expect(text).toContain(name);
    expect(problems).toHaveLength(5);
  });

  it('takes a SECRETS_KEY of 32 base64 bytes, and refuses another without echoing it', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ SECRETS_KEY: key }).SECRETS_KEY).toBe(key);
    const short = Buffer.from('sixteen-byte-key').toString('base64');
    try {
      loadConfig({ SECRETS_KEY: short });
      throw new Error('accepted a 16-byte key');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigValidationError);
      expect((e as Error).message).toMatch(/SECRETS_KEY must be the base64 of exactly 32 bytes/);
      expect((e as Error).message).not.toContain(short);
    }
  });
});
