import { type DynamicModule, Module } from '@nestjs/common';
import { ApiModule } from './api/api.module.js';
import { BroadcastModule } from './infra/broadcast/broadcast.module.js';
import type { AppConfig } from './infra/config/app.config.js';
import { ConfigModule } from './infra/config/config.module.js';
import { DatabaseModule } from './infra/database/database.module.js';
import { LoggingModule } from './infra/logging/logging.module.js';
import { MetricsModule } from './infra/metrics/metrics.js';
import { QueueModule } from './infra/queue/queue.module.js';
import { RedisModule } from './infra/redis/redis.module.js';
import { OrchestratorModule } from './spine/orchestrator/orchestrator.module.js';
import { WorkersModule } from './workers/workers.module.js';

export interface RuntimeSettings {
  /** DATABASE_URL, or the URL of the embedded PostgreSQL started at bootstrap. */
  databaseUrl: string;
}

export interface AppModuleOptions {
  /** Serve HTTP (the API process). */
  api: boolean;
  /** Consume the run queue (the worker process; the API process too while WORKER_ENABLED). */
  worker: boolean;
}

/** Composition root: the same modules in both modes; infra picks PostgreSQL/Redis or the embedded parts. */
@Module({})
export class AppModule {
  static forRoot(
    config: AppConfig,
    runtime: RuntimeSettings,
    options: AppModuleOptions = { api: true, worker: config.worker.enabled },
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config.logging),
        DatabaseModule.forRoot({
          url: runtime.databaseUrl,
          poolSize: config.database.poolSize,
          migrationsRun: config.database.migrationsRun,
        }),
        ...(config.redis.url ? [RedisModule.forRoot(config.redis.url)] : []),
        QueueModule.forRoot(config.redis),
        BroadcastModule.forRoot(config.redis),
        MetricsModule,
        OrchestratorModule,
        ...(options.api ? [ApiModule] : []),
        ...(options.worker ? [WorkersModule] : []),
      ],
    };
  }
}
