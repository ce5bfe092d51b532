import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CLOCK, type Clock } from '../../../infra/clock.js';
import type { AppConfig } from '../../../infra/config/app.config.js';
import { CONFIG_TOKENS } from '../../../infra/config/config.tokens.js';
import { REDIS_CLIENT } from '../../../infra/redis/redis.tokens.js';
import { ComparisonPool } from './comparison-pool.js';
import { COMPARISON_POOL, REPLAY_ENFORCER, STEP_IDEMPOTENCY_STORE, TRACE_STORE_DRIVER } from './logs-drivers.tokens.js';
import { MemoryStepIdempotencyStore } from './memory-step-idempotency.store.js';
import { RedisStepIdempotencyStore } from './redis-step-idempotency.store.js';
import { ReplayEnforcer } from './replay-enforcer.driver.js';
import type { StepIdempotencyStore } from './step-idempotency-store.port.js';
import { TraceStoreDriver } from './trace-store.driver.js';

/**
 * Logs drivers: trace persistence, the step idempotency store (Redis when REDIS_URL is set, else
 * memory), the replay enforcer and its comparison threads. Exports only tokens; imported only by OrchestratorModule.
 */
@Module({
  providers: [
    {
      provide: STEP_IDEMPOTENCY_STORE,
      inject: [CONFIG_TOKENS.redis, CLOCK, { token: REDIS_CLIENT, optional: true }],
      useFactory: (config: AppConfig['redis'], clock: Clock, redis?: Redis): StepIdempotencyStore =>
        config.url && redis ? new RedisStepIdempotencyStore(redis, config.prefix) : new MemoryStepIdempotencyStore(clock),
    },
    { provide: COMPARISON_POOL, useFactory: () => new ComparisonPool() },
    {
      provide: REPLAY_ENFORCER,
      inject: [STEP_IDEMPOTENCY_STORE, CONFIG_TOKENS.stepClaims, CONFIG_TOKENS.limits, CLOCK, COMPARISON_POOL],
      useFactory: (
        store: StepIdempotencyStore,
        claims: AppConfig['stepClaims'],
        limits: AppConfig['limits'],
        clock: Clock,
        comparisons: ComparisonPool,
      ) => new ReplayEnforcer(store, { ...claims, clock, maxOutputBytes: limits.maxStepOutputBytes, comparisons }),
    },
    { provide: TRACE_STORE_DRIVER, useClass: TraceStoreDriver },
  ],
  exports: [REPLAY_ENFORCER, TRACE_STORE_DRIVER, STEP_IDEMPOTENCY_STORE],
})
export class LogsDriversModule {}
