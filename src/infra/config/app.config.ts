import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, validateSync } from 'class-validator';
import { decodeSecretsKey } from '../secrets/secrets-key.js';

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  return value; // left as a string so IsBoolean reports the variable
};

/**
 * Every environment variable the service reads, validated once at boot.
 * Invalid values stop the boot with a message naming the variable (see loadConfig).
 * `.env.example` documents each one; keep the two in step.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: string = 'development';

  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 3000;

  @IsString()
  HOST: string = '0.0.0.0';

  @IsOptional()
  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional()
  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL?: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'REDIS_PREFIX must be 1-64 of [A-Za-z0-9_-]' })
  REDIS_PREFIX: string = 'agentruns';

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'ADMIN_TOKEN must be at least 16 characters' })
  ADMIN_TOKEN?: string;

  /**
   * Key of the tenant secrets (base64 of 32 bytes). Unset: embedded mode keeps a generated key in
   * EMBEDDED_DATA_DIR; production mode has secrets off. Checked in loadConfig (never echoed).
   */
  @IsOptional()
  @IsString()
  SECRETS_KEY?: string;

  @IsString()
  SKILL_HTTP_ALLOWED_HOSTS: string = '*';

  @IsInt()
  @Min(1)
  @Max(120_000)
  SKILL_HTTP_TIMEOUT_MS: number = 10_000;

  @IsInt()
  @Min(1024)
  @Max(50 * 1024 * 1024)
  SKILL_HTTP_MAX_RESPONSE_BYTES: number = 5 * 1024 * 1024;

  @IsString()
  @Matches(/^https?:\/\//, { message: 'LLM_BASE_URL must be an http(s) URL' })
  LLM_BASE_URL: string = 'https://api.openai.com/v1';

  @IsOptional()
  @IsString()
  LLM_API_KEY?: string;

  @IsInt()
  @Min(1)
  @Max(365 * 86400)
  IDEMPOTENCY_TTL_SECONDS: number = 86_400;

  @IsInt()
  @Min(1)
  @Max(365 * 86400)
  STEP_IDEMPOTENCY_TTL_SECONDS: number = 86_400;

  @IsInt()
  @Min(100)
  @Max(3_600_000)
  STEP_CLAIM_LEASE_MS: number = 30_000;

  @IsInt()
  @Min(100)
  @Max(3_600_000)
  STEP_CLAIM_WAIT_MS: number = 120_000;

  @Transform(toBoolean)
  @IsBoolean()
  IDEMPOTENCY_KEY_REQUIRED: boolean = false;

  @IsInt()
  @Min(1024)
  @Max(100 * 1024 * 1024)
  MAX_BODY_BYTES: number = 1024 * 1024;

  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_STEPS: number = 100;

  @IsInt()
  @Min(1)
  @Max(100)
  RUN_MAX_ATTEMPTS: number = 3;

  @IsInt()
  @Min(0)
  @Max(3_600_000)
  RUN_RETRY_BACKOFF_MS: number = 1_000;

  @Transform(toBoolean)
  @IsBoolean()
  WORKER_ENABLED: boolean = true;

  @IsInt()
  @Min(1)
  @Max(1000)
  WORKER_CONCURRENCY: number = 10;

  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  WORKER_LOCK_DURATION_MS: number = 30_000;

  @IsInt()
  @Min(100)
  @Max(3_600_000)
  SWEEP_INTERVAL_MS: number = 10_000;

  @IsInt()
  @Min(100)
  @Max(86_400_000)
  SWEEP_STALE_AFTER_MS: number = 30_000;

  /**
   * Finished runs (and everything recorded with them) are deleted this many days after they finished;
   * 0 = kept forever. At least IDEMPOTENCY_TTL_SECONDS and STEP_IDEMPOTENCY_TTL_SECONDS (checked in loadConfig).
   */
  @IsInt()
  @Min(0)
  @Max(36_500)
  RUN_RETENTION_DAYS: number = 0;

  @Transform(toBoolean)
  @IsBoolean()
  DB_MIGRATIONS_RUN: boolean = true;

  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE: number = 10;

  @IsString()
  @MaxLength(4096)
  EMBEDDED_DATA_DIR: string = './.data';

  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT: number = 54329;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  /** `json` lines, `pretty` human lines, or `auto`: pretty when stdout is a terminal and NODE_ENV is not production. */
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT: string = 'auto';

  /** Log one line per HTTP request (its id, method, URL, status and duration). */
  @Transform(toBoolean)
  @IsBoolean()
  LOG_REQUESTS: boolean = true;

  /**
   * How long an API process may answer from its in-process cache of live API keys before it reads the
   * key again (0 = no cache: every request reads PostgreSQL). Revocations reach the caches at once over
   * Redis pub/sub; this bounds what a process that missed one could serve.
   */
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  API_KEY_CACHE_TTL_MS: number = 10_000;

  /** Requests per second one tenant may make to /v1 (0 = no limit); counted in Redis when REDIS_URL is set. */
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_PER_SECOND: number = 100;

  /** Longest evaluation of one `transform` (JSONata, in a sandbox process); past it the step fails, not retryable. */
  @IsInt()
  @Min(10)
  @Max(600_000)
  TRANSFORM_TIMEOUT_MS: number = 1_000;

  /** Heap of a transform sandbox process (V8 old generation); past it the step fails, not retryable. */
  @IsInt()
  @Min(16)
  @Max(16_384)
  TRANSFORM_MAX_MEMORY_MB: number = 64;

  /** Sandbox processes per worker process that evaluate transforms (each a small Node process). */
  @IsInt()
  @Min(1)
  @Max(64)
  TRANSFORM_POOL_SIZE: number = 2;

  /** Largest step output (bytes of canonical JSON); a larger output fails the step, not retryable. */
  @IsInt()
  @Min(1024)
  @Max(256 * 1024 * 1024)
  STEP_MAX_OUTPUT_BYTES: number = 1024 * 1024;

  /** Worker processes (`npm run start:worker`) serve GET /metrics on this port (0 = not served). */
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_METRICS_PORT: number = 0;

  /** Replay runs of one replay batch active at once (queued or running); the rest of the batch waits in PostgreSQL. */
  @IsInt()
  @Min(1)
  @Max(1000)
  REPLAY_BATCH_CONCURRENCY: number = 4;

  /** On SIGTERM: how long running steps may take to finish before they are asked to stop. */
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_GRACE_MS: number = 25_000;
}

/**
 * The configuration in slices, one per consumer group (immich's grouped env data, brocoders'
 * `registerAs` namespaces): each consumer is handed its slice by `@InjectConfig('<slice>')`, never the
 * whole. Built once at boot from the validated EnvironmentVariables; frozen.
 */
export interface AppConfig {
  /** The API's HTTP listener. */
  readonly http: { readonly port: number; readonly host: string };
  /** Sizes and rates a client may use; maxStepOutputBytes caps a step's output (bytes of canonical JSON). */
  readonly limits: {
    readonly maxBodyBytes: number;
    readonly maxSteps: number;
    readonly rateLimitPerSecond: number;
    readonly maxStepOutputBytes: number;
  };
  /** /admin: null when ADMIN_TOKEN is unset (the admin API answers 404). */
  readonly admin: { readonly token: string | null };
  /** Authentication of API keys: how long a live key may be answered from the in-process cache (0: no cache). */
  readonly auth: { readonly apiKeyCacheTtlMs: number };
  /** Idempotency keys of run creation and replay. */
  readonly idempotency: { readonly ttlSeconds: number; readonly keyRequired: boolean };
  /** Retries of a run. */
  readonly runs: { readonly maxAttempts: number; readonly retryBackoffMs: number };
  /** Run-queue consumption: BullMQ worker, run leases, the stranded-run sweep. */
  readonly worker: {
    readonly enabled: boolean;
    readonly concurrency: number;
    /** BullMQ's job lock and the run lease of the attempt that holds a running run. */
    readonly lockDurationMs: number;
    readonly sweepIntervalMs: number;
    readonly sweepStaleAfterMs: number;
    /** A worker process (`npm run start:worker`) serves GET /metrics on this port; 0: not served. */
    readonly metricsPort: number;
  };
  /** Replay batches: how many replay runs of one batch may be active at once (every process must use the same value). */
  readonly replayBatches: { readonly concurrency: number };
  /**
   * Retention: a finished run, its trace and its signals are purged `runDays` days after it finished
   * (0: never). Never shorter than the request and step idempotency TTLs (a live key never points to a purged run).
   */
  readonly retention: { readonly runDays: number };
  /** The transform sandbox: child processes that evaluate JSONata, each bounded in time and heap. */
  readonly transforms: { readonly timeoutMs: number; readonly maxMemoryMb: number; readonly poolSize: number };
  /** Step idempotency keys: how long a completed key is remembered, the claim lease, how long to wait for a claim. */
  readonly stepClaims: { readonly ttlSeconds: number; readonly leaseMs: number; readonly waitMs: number };
  readonly httpSkill: { readonly allowedHosts: string; readonly timeoutMs: number; readonly maxResponseBytes: number };
  readonly llm: { readonly baseUrl: string; readonly apiKey: string | null; readonly timeoutMs: number };
  /** PostgreSQL: DATABASE_URL, or (url null) the embedded server. */
  readonly database: {
    readonly url: string | null;
    readonly poolSize: number;
    readonly migrationsRun: boolean;
    readonly embedded: { readonly dataDir: string; readonly port: number };
  };
  /** Redis (BullMQ, step store, rate limits): url null means the embedded in-process parts. */
  readonly redis: { readonly url: string | null; readonly prefix: string };
  readonly logging: { readonly level: string; readonly format: string; readonly requests: boolean; readonly production: boolean };
  readonly shutdown: { readonly graceMs: number };
  /**
   * Tenant secrets: `key` is SECRETS_KEY (base64 of 32 bytes) or null; `embeddedDataDir` is where the
   * embedded mode (no DATABASE_URL) keeps a generated key, null otherwise (no key: secrets are off).
   */
  readonly secrets: { readonly key: string | null; readonly embeddedDataDir: string | null };
}

export type ConfigSlice = keyof AppConfig;

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (child !== null && typeof child === 'object') deepFreeze(child as object);
  return Object.freeze(value);
}

/** The one place environment variables become slices. */
function toSlices(env: EnvironmentVariables): AppConfig {
  return deepFreeze({
    http: { port: env.PORT, host: env.HOST },
    limits: {
      maxBodyBytes: env.MAX_BODY_BYTES,
      maxSteps: env.MAX_STEPS,
      rateLimitPerSecond: env.RATE_LIMIT_PER_SECOND,
      maxStepOutputBytes: env.STEP_MAX_OUTPUT_BYTES,
    },
    admin: { token: env.ADMIN_TOKEN ?? null },
    auth: { apiKeyCacheTtlMs: env.API_KEY_CACHE_TTL_MS },
    idempotency: { ttlSeconds: env.IDEMPOTENCY_TTL_SECONDS, keyRequired: env.IDEMPOTENCY_KEY_REQUIRED },
    runs: { maxAttempts: env.RUN_MAX_ATTEMPTS, retryBackoffMs: env.RUN_RETRY_BACKOFF_MS },
    worker: {
      enabled: env.WORKER_ENABLED,
      concurrency: env.WORKER_CONCURRENCY,
      lockDurationMs: env.WORKER_LOCK_DURATION_MS,
      sweepIntervalMs: env.SWEEP_INTERVAL_MS,
      sweepStaleAfterMs: env.SWEEP_STALE_AFTER_MS,
      metricsPort: env.WORKER_METRICS_PORT,
    },
    replayBatches: { concurrency: env.REPLAY_BATCH_CONCURRENCY },
    retention: { runDays: env.RUN_RETENTION_DAYS },
    transforms: { timeoutMs: env.TRANSFORM_TIMEOUT_MS, maxMemoryMb: env.TRANSFORM_MAX_MEMORY_MB, poolSize: env.TRANSFORM_POOL_SIZE },
    stepClaims: { ttlSeconds: env.STEP_IDEMPOTENCY_TTL_SECONDS, leaseMs: env.STEP_CLAIM_LEASE_MS, waitMs: env.STEP_CLAIM_WAIT_MS },
    httpSkill: {
      allowedHosts: env.SKILL_HTTP_ALLOWED_HOSTS,
      timeoutMs: env.SKILL_HTTP_TIMEOUT_MS,
      maxResponseBytes: env.SKILL_HTTP_MAX_RESPONSE_BYTES,
    },
    // A chat completion may take far longer than an HTTP call: six times the HTTP skill's timeout.
    llm: { baseUrl: env.LLM_BASE_URL, apiKey: env.LLM_API_KEY ?? null, timeoutMs: env.SKILL_HTTP_TIMEOUT_MS * 6 },
    database: {
      url: env.DATABASE_URL ?? null,
      poolSize: env.DB_POOL_SIZE,
      migrationsRun: env.DB_MIGRATIONS_RUN,
      embedded: { dataDir: env.EMBEDDED_DATA_DIR, port: env.EMBEDDED_PG_PORT },
    },
    redis: { url: env.REDIS_URL ?? null, prefix: env.REDIS_PREFIX },
    logging: { level: env.LOG_LEVEL, format: env.LOG_FORMAT, requests: env.LOG_REQUESTS, production: env.NODE_ENV === 'production' },
    shutdown: { graceMs: env.SHUTDOWN_GRACE_MS },
    secrets: { key: env.SECRETS_KEY ?? null, embeddedDataDir: env.DATABASE_URL ? null : env.EMBEDDED_DATA_DIR },
  });
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

const INT_KEYS = new Set(
  Object.entries(new EnvironmentVariables())
    .filter(([, v]) => typeof v === 'number')
    .map(([k]) => k),
);

/**
 * Why a process that executes runs must not start with this configuration, or null. Without
 * REDIS_URL the queue and the step key store live in one process's memory: that is only safe when
 * no other process shares the database, which embedded mode guarantees and DATABASE_URL does not.
 */
export function executionTopologyProblem(config: Pick<EnvironmentVariables, 'DATABASE_URL' | 'REDIS_URL'>): string | null {
  if (!config.DATABASE_URL || config.REDIS_URL) return null;
  return (
    'DATABASE_URL is set but REDIS_URL is not: without Redis the run queue and the step idempotency keys live in ' +
    "this process's memory, so a second process on the same database would take the same runs (its stranded-run " +
    'sweep re-enqueues them) and repeat keyed side effects. Set REDIS_URL (production: any number of processes), ' +
    'or unset DATABASE_URL (embedded mode: one process with its own PostgreSQL).'
  );
}

export interface LoadConfigOptions {
  /** The process executes or creates runs (API and worker processes); the CLI does not. Default true. */
  executesRuns?: boolean;
}

/**
 * Reads and validates the environment, then slices it. Throws ConfigValidationError naming each bad variable (and,
 * for processes that execute runs, a DATABASE_URL without REDIS_URL: see executionTopologyProblem).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): AppConfig {
  const known = Object.keys(new EnvironmentVariables()).concat(['DATABASE_URL', 'REDIS_URL', 'ADMIN_TOKEN', 'LLM_API_KEY', 'SECRETS_KEY']);
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of known) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    if (INT_KEYS.has(key)) {
      if (!/^-?\d+$/.test(value.trim())) {
        problems.push(`${key} must be an integer (got "${value}")`);
        continue;
      }
      raw[key] = Number(value.trim());
    } else {
      raw[key] = value;
    }
  }
  const instance = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  for (const error of validateSync(instance, { skipMissingProperties: false })) {
    const messages = Object.values(error.constraints ?? {});
    const first = messages[0] ?? 'is invalid';
    problems.push(first.startsWith(error.property) ? first : `${error.property}: ${first}`);
  }
  if (instance.SECRETS_KEY !== undefined && !decodeSecretsKey(instance.SECRETS_KEY)) {
    problems.push('SECRETS_KEY must be the base64 of exactly 32 bytes (make one with: openssl rand -base64 32)');
  }
  const retentionSeconds = instance.RUN_RETENTION_DAYS * 86_400;
  for (const ttl of ['IDEMPOTENCY_TTL_SECONDS', 'STEP_IDEMPOTENCY_TTL_SECONDS'] as const) {
    if (retentionSeconds > 0 && retentionSeconds < instance[ttl]) {
      problems.push(
        `RUN_RETENTION_DAYS=${instance.RUN_RETENTION_DAYS} (${retentionSeconds} s) must be at least ${ttl}=${instance[ttl]}: a live key must never point to a purged run`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  const topology = options.executesRuns === false ? null : executionTopologyProblem(instance);
  if (topology) throw new ConfigValidationError([topology]);
  return toSlices(instance);
}
