import { type CanActivate, type ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { REDIS_CLIENT } from '../../infra/redis/redis.tokens.js';
import { orAfter } from '../../infra/timeout.js';
import { ProblemException } from '../problem.js';
import type { AuthenticatedRequest } from './api-key.guard.js';

/** A Redis that holds the connection but does not answer (frozen, overloaded) is not waited for longer. */
const REDIS_ANSWER_TIMEOUT_MS = 300;

/**
 * RATE_LIMIT_PER_SECOND requests per tenant (runs after ApiKeyGuard, which sets the tenant).
 * Counted in Redis when there is one, so every API process shares a tenant's budget; while Redis is
 * unreachable a per-process memory limiter stands in at once (not after ioredis' retries: an outage
 * of the limiter neither blocks nor slows anyone; a run's create answers within 2 s without Redis).
 * 429 answers carry Retry-After.
 */
@Injectable()
export class TenantRateLimitGuard implements CanActivate {
  private readonly limiter: RateLimiterAbstract | null;
  /** The per-process limiter that stands in while Redis is unreachable or slow. */
  private readonly insurance: RateLimiterMemory | null;
  private readonly points: number;

  constructor(
    @InjectConfig('limits') limits: AppConfig['limits'],
    @InjectConfig('redis') redisConfig: AppConfig['redis'],
    @Optional() @Inject(REDIS_CLIENT) redis?: Redis,
  ) {
    this.points = limits.rateLimitPerSecond;
    const options = { points: this.points, duration: 1 };
    this.insurance = this.points > 0 && redis ? new RateLimiterMemory(options) : null;
    this.limiter =
      this.points === 0
        ? null
        : redis
          ? new RateLimiterRedis({
              ...options,
              storeClient: redis,
              keyPrefix: `${redisConfig.prefix}:ratelimit`,
              rejectIfRedisNotReady: true,
              insuranceLimiter: this.insurance!,
            })
          : new RateLimiterMemory(options);
  }

  /** Counts one request: in Redis, or in the insurance limiter if Redis has not answered in time. */
  private consume(limiter: RateLimiterAbstract, tenantId: string): Promise<RateLimiterRes> {
    const insurance = this.insurance;
    if (!insurance) return limiter.consume(tenantId);
    return orAfter(limiter.consume(tenantId), REDIS_ANSWER_TIMEOUT_MS, () => insurance.consume(tenantId));
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.limiter) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<AuthenticatedRequest>();
    const res = http.getResponse<Response>();
    try {
      const state = await this.consume(this.limiter, req.tenantId);
      res.setHeader('RateLimit-Limit', String(this.points));
      res.setHeader('RateLimit-Remaining', String(state.remainingPoints));
      return true;
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      const retryAfter = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
      throw new ProblemException(
        {
          type: 'rate-limited',
          title: 'Too many requests',
          status: 429,
          detail: `More than ${this.points} requests per second for this tenant; retry after ${retryAfter} s.`,
        },
        { 'Retry-After': String(retryAfter), 'RateLimit-Limit': String(this.points), 'RateLimit-Remaining': '0' },
      );
    }
  }
}
