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

  /** Log one line per HTTP request (pino-http). */
  @Transform(toBoolean)
  @IsBoolean()
  LOG_REQUESTS: boolean = true;

  /** Requests per second one tenant may make to /v1 (0 = no limit); counted in Redis when REDIS_URL is set. */
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  RATE_LIMIT_PER_SECOND: number = 100;

  /** On SIGTERM: how long running steps may take to finish before they are asked to stop. */
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_GRACE_MS: number = 25_000;
}

export type AppConfig = Readonly<EnvironmentVariables> & {
  /** True when REDIS_URL is set: BullMQ queue and Redis step-idempotency store. */
  readonly useRedis: boolean;
};

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

/** Reads and validates the environment. Throws ConfigValidationError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
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
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return Object.freeze({ ...instance, useRedis: Boolean(instance.REDIS_URL) });
}
