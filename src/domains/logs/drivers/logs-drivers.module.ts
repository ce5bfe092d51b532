import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CLOCK, type Clock } from '../../../infra/clock.js';
import type { AppConfig } from '../../../infra/config/app.config.js';
import { APP_CONFIG } from '../../../infra/config/config.tokens.js';
import { REDIS_CLIENT } from '../../../infra/redis/redis.tokens.js';
import { REPLAY_ENFORCER, STEP_IDEMPOTENCY_STORE, TRACE_STORE_DRIVER } from './logs-drivers.tokens.js';
import { MemoryStepIdempotencyStore } from './memory-step-idempotency.store.js';
import { RedisStepIdempotencyStore } from './redis-step-idempotency.store.js';
import { ReplayEnforcer } from './replay-enforcer.driver.js';
import type { StepIdempotencyStore } from './step-idempotency-store.port.js';
import { TraceStoreDriver } from './trace-store.driver.js';

/**
 * Logs drivers: trace persistence, the step idempotency store (Redis when REDIS_URL is set, else
 * memory) and the replay enforcer. Exports only tokens; imported only by OrchestratorModule.
 */
@Module({
  providers: [
    {
      provide: STEP_IDEMPOTENCY_STORE,
      inject: [APP_CONFIG, CLOCK, { token: REDIS_CLIENT, optional: true }],
      useFactory: (config: AppConfig, clock: Clock, redis?: Redis): StepIdempotencyStore =>
        config.useRedis && redis ? new RedisStepIdempotencyStore(redis, config.REDIS_PREFIX) : new MemoryStepIdempotencyStore(clock),
    },
    {
      provide: REPLAY_ENFORCER,
      inject: [STEP_IDEMPOTENCY_STORE, APP_CONFIG, CLOCK],
      useFactory: (store: StepIdempotencyStore, config: AppConfig, clock: Clock) =>
        new ReplayEnforcer(store, {
          ttlSeconds: config.STEP_IDEMPOTENCY_TTL_SECONDS,
          leaseMs: config.STEP_CLAIM_LEASE_MS,
          waitMs: config.STEP_CLAIM_WAIT_MS,
          clock,
          maxOutputBytes: config.STEP_MAX_OUTPUT_BYTES,
        }),
    },
    { provide: TRACE_STORE_DRIVER, useClass: TraceStoreDriver },
  ],
  exports: [REPLAY_ENFORCER, TRACE_STORE_DRIVER, STEP_IDEMPOTENCY_STORE],
})
export class LogsDriversModule {}
