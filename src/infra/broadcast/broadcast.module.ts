import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/app.config.js';
import { REDIS_CLIENT } from '../redis/redis.tokens.js';
import { BROADCAST, type Broadcast } from './broadcast.port.js';
import { InProcessBroadcast } from './in-process-broadcast.js';
import { RedisBroadcast } from './redis-broadcast.js';

class BroadcastLifecycle implements OnApplicationShutdown {
  constructor(@Inject(BROADCAST) private readonly broadcast: Broadcast) {}
  onApplicationShutdown(): void {
    if (this.broadcast instanceof RedisBroadcast) this.broadcast.close();
  }
}

/** BROADCAST: Redis pub/sub when REDIS_URL is set (every process of the deployment), else in process. */
@Global()
@Module({})
export class BroadcastModule {
  static forRoot(redis: AppConfig['redis']): DynamicModule {
    return {
      module: BroadcastModule,
      providers: [
        {
          provide: BROADCAST,
          inject: [{ token: REDIS_CLIENT, optional: true }],
          useFactory: (client?: Redis) => (client ? new RedisBroadcast(client, redis.prefix) : new InProcessBroadcast()),
        },
        BroadcastLifecycle,
      ],
      exports: [BROADCAST],
    };
  }
}
