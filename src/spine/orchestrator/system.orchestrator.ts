import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { REDIS_CLIENT } from '../../infra/redis/redis.tokens.js';

/** Readiness of the dependencies, for the health endpoints. */
@Injectable()
export class SystemOrchestrator {
  constructor(
    private readonly dataSource: DataSource,
    @Optional() @Inject(REDIS_CLIENT) private readonly redis?: Redis,
  ) {}

  async pingDatabase(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  /** True when Redis is in use and answered; null when the embedded mode runs without Redis. */
  async pingRedis(): Promise<boolean | null> {
    if (!this.redis) return null;
    return (await this.redis.ping()) === 'PONG';
  }
}
