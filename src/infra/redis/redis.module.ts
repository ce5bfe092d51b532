import { DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_CLIENT } from './redis.tokens.js';

class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** One ioredis connection for commands (BullMQ opens its own blocking connections). */
@Global()
@Module({})
export class RedisModule {
  static forRoot(url: string): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        { provide: REDIS_CLIENT, useFactory: () => new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true }) },
        RedisLifecycle,
      ],
      exports: [REDIS_CLIENT],
    };
  }
}
