import { ConfigValidationError, loadConfig } from './app.config.js';

describe('loadConfig', () => {
  it('gives documented defaults for an empty environment (embedded mode)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      http: { port: 3000 },
      limits: { maxBodyBytes: 1_048_576, maxSteps: 100 },
      idempotency: { ttlSeconds: 86_400, keyRequired: false },
      stepClaims: { ttlSeconds: 86_400 },
      httpSkill: { allowedHosts: '*' },
      redis: { url: null },
    });
    expect(config.database.url).toBeNull();
  });

  it('reads values and booleans written in the usual ways', () => {
    const config = loadConfig({
      PORT: '8080',
      IDEMPOTENCY_KEY_REQUIRED: 'true',
      WORKER_ENABLED: 'no',
      REDIS_URL: 'redis://localhost:6379',
    });
    expect(config).toMatchObject({
      http: { port: 8080 },
      idempotency: { keyRequired: true },
      worker: { enabled: false },
      redis: { url: 'redis://localhost:6379' },
    });
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

  it('hands every variable to its slice, and the slices are frozen', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '1',
      HOST: '127.0.0.2',
      DATABASE_URL: 'postgres://db/x',
      REDIS_URL: 'redis://r:1',
      REDIS_PREFIX: 'p',
      ADMIN_TOKEN: 'a-long-admin-token-123',
      SKILL_HTTP_ALLOWED_HOSTS: 'example.org',
      SKILL_HTTP_TIMEOUT_MS: '3',
      SKILL_HTTP_MAX_RESPONSE_BYTES: '2048',
      LLM_BASE_URL: 'http://llm',
      LLM_API_KEY: 'k',
      IDEMPOTENCY_TTL_SECONDS: '5',
      STEP_IDEMPOTENCY_TTL_SECONDS: '6',
      STEP_CLAIM_LEASE_MS: '700',
      STEP_CLAIM_WAIT_MS: '800',
      IDEMPOTENCY_KEY_REQUIRED: 'true',
      MAX_BODY_BYTES: '2000',
      MAX_STEPS: '9',
      RUN_MAX_ATTEMPTS: '10',
      RUN_RETRY_BACKOFF_MS: '11',
      WORKER_ENABLED: 'false',
      WORKER_CONCURRENCY: '12',
      WORKER_LOCK_DURATION_MS: '1300',
      SWEEP_INTERVAL_MS: '1400',
      SWEEP_STALE_AFTER_MS: '1500',
      RUN_RETENTION_DAYS: '25',
      DB_MIGRATIONS_RUN: 'false',
      DB_POOL_SIZE: '16',
      EMBEDDED_DATA_DIR: '/d',
      EMBEDDED_PG_PORT: '17',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      LOG_REQUESTS: 'false',
      RATE_LIMIT_PER_SECOND: '18',
      SHUTDOWN_GRACE_MS: '19',
      TRANSFORM_TIMEOUT_MS: '20',
      TRANSFORM_MAX_MEMORY_MB: '21',
      TRANSFORM_POOL_SIZE: '22',
      STEP_MAX_OUTPUT_BYTES: '2300',
      WORKER_METRICS_PORT: '24',
      REPLAY_BATCH_CONCURRENCY: '26',
      API_KEY_CACHE_TTL_MS: '25',
    });
    expect(config).toEqual({
      http: { port: 1, host: '127.0.0.2' },
      limits: { maxBodyBytes: 2000, maxSteps: 9, rateLimitPerSecond: 18, maxStepOutputBytes: 2300 },
      admin: { token: 'a-long-admin-token-123' },
      auth: { apiKeyCacheTtlMs: 25 },
      idempotency: { ttlSeconds: 5, keyRequired: true },
      runs: { maxAttempts: 10, retryBackoffMs: 11 },
      worker: { enabled: false, concurrency: 12, lockDurationMs: 1300, sweepIntervalMs: 1400, sweepStaleAfterMs: 1500, metricsPort: 24 },
      retention: { runDays: 25 },
      transforms: { timeoutMs: 20, maxMemoryMb: 21, poolSize: 22 },
      replayBatches: { concurrency: 26 },
      stepClaims: { ttlSeconds: 6, leaseMs: 700, waitMs: 800 },
      httpSkill: { allowedHosts: 'example.org', timeoutMs: 3, maxResponseBytes: 2048 },
      llm: { baseUrl: 'http://llm', apiKey: 'k', timeoutMs: 18 },
      database: { url: 'postgres://db/x', poolSize: 16, migrationsRun: false, embedded: { dataDir: '/d', port: 17 } },
      redis: { url: 'redis://r:1', prefix: 'p' },
      logging: { level: 'warn', format: 'json', requests: false, production: true },
      shutdown: { graceMs: 19 },
      secrets: { key: null, embeddedDataDir: null },
    });
    expect(Object.isFrozen(config.worker)).toBe(true);
    expect(Object.isFrozen(config.database.embedded)).toBe(true);
  });

  it('takes a SECRETS_KEY of 32 base64 bytes, and refuses another without echoing it', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ SECRETS_KEY: key }).secrets).toEqual({ key, embeddedDataDir: './.data' });
    expect(loadConfig({ SECRETS_KEY: key, DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r:1' }).secrets).toEqual({
      key,
      embeddedDataDir: null,
    });
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

  it('keeps runs forever by default; a RUN_RETENTION_DAYS shorter than an idempotency TTL is refused', () => {
    expect(loadConfig({}).retention).toEqual({ runDays: 0 });
    expect(loadConfig({ RUN_RETENTION_DAYS: '1' }).retention).toEqual({ runDays: 1 }); // = the 86400 s defaults
    expect(() => loadConfig({ RUN_RETENTION_DAYS: '1', IDEMPOTENCY_TTL_SECONDS: '86401' })).toThrow(
      /RUN_RETENTION_DAYS=1 \(86400 s\) must be at least IDEMPOTENCY_TTL_SECONDS=86401/,
    );
    expect(() => loadConfig({ RUN_RETENTION_DAYS: '2', STEP_IDEMPOTENCY_TTL_SECONDS: '200000' })).toThrow(
      /must be at least STEP_IDEMPOTENCY_TTL_SECONDS=200000/,
    );
    expect(loadConfig({ RUN_RETENTION_DAYS: '0', IDEMPOTENCY_TTL_SECONDS: '31536000' }).retention.runDays).toBe(0);
    expect(() => loadConfig({ RUN_RETENTION_DAYS: '-1' })).toThrow(/RUN_RETENTION_DAYS/);
  });

  it('refuses DATABASE_URL without REDIS_URL for processes that execute runs, saying why', () => {
    const attempt = () => loadConfig({ DATABASE_URL: 'postgresql://db/app' });
    expect(attempt).toThrow(ConfigValidationError);
    expect(attempt).toThrow(/DATABASE_URL is set but REDIS_URL is not.*second process.*repeat keyed side effects/s);
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/app', REDIS_URL: 'redis://r:6379' }).redis.url).toBe('redis://r:6379');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/app' }, { executesRuns: false }).database.url).toBe('postgresql://db/app');
  });

  it('reads the sandbox and output limits, with documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      transforms: { timeoutMs: 1000, maxMemoryMb: 64, poolSize: 2 },
      limits: { maxStepOutputBytes: 1_048_576 },
      worker: { metricsPort: 0 },
    });
    expect(loadConfig({ TRANSFORM_TIMEOUT_MS: '250', STEP_MAX_OUTPUT_BYTES: '4096' })).toMatchObject({
      transforms: { timeoutMs: 250 },
      limits: { maxStepOutputBytes: 4096 },
    });
    expect(() => loadConfig({ TRANSFORM_MAX_MEMORY_MB: '1' })).toThrow(/TRANSFORM_MAX_MEMORY_MB/);
  });
});
