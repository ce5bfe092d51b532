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

  it('refuses DATABASE_URL without REDIS_URL for processes that execute runs, saying why', () => {
    const attempt = () => loadConfig({ DATABASE_URL: 'postgresql://db/app' });
    expect(attempt).toThrow(ConfigValidationError);
    expect(attempt).toThrow(/DATABASE_URL is set but REDIS_URL is not.*second process.*repeat keyed side effects/s);
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/app', REDIS_URL: 'redis://r:6379' }).useRedis).toBe(true);
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/app' }, { executesRuns: false }).DATABASE_URL).toBe('postgresql://db/app');
  });

  it('reads the sandbox and output limits, with documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      TRANSFORM_TIMEOUT_MS: 1000,
      TRANSFORM_MAX_MEMORY_MB: 64,
      TRANSFORM_POOL_SIZE: 2,
      STEP_MAX_OUTPUT_BYTES: 1_048_576,
      WORKER_METRICS_PORT: 0,
    });
    expect(loadConfig({ TRANSFORM_TIMEOUT_MS: '250', STEP_MAX_OUTPUT_BYTES: '4096' })).toMatchObject({
      TRANSFORM_TIMEOUT_MS: 250,
      STEP_MAX_OUTPUT_BYTES: 4096,
    });
    expect(() => loadConfig({ TRANSFORM_MAX_MEMORY_MB: '1' })).toThrow(/TRANSFORM_MAX_MEMORY_MB/);
  });
});
