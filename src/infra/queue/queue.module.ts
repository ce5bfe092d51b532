import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { AppConfig } from '../config/app.config.js';
import { BullmqRunQueue, type RunJobData } from './bullmq-run.queue.js';
import { InProcessRunQueue } from './in-process-run.queue.js';
import { RUN_QUEUE, RUNS_QUEUE_NAME } from './run-queue.port.js';

/** RUN_QUEUE: BullMQ when REDIS_URL is set, else the in-process queue. */
@Global()
@Module({})
export class QueueModule {
  static forRoot(redis: AppConfig['redis']): DynamicModule {
    if (!redis.url) {
      return { module: QueueModule, providers: [{ provide: RUN_QUEUE, useValue: new InProcessRunQueue() }], exports: [RUN_QUEUE] };
    }
    return {
      module: QueueModule,
      imports: [
        BullModule.forRoot({
          // BullMQ needs maxRetriesPerRequest: null on connections used by workers.
          connection: { url: redis.url, maxRetriesPerRequest: null },
          prefix: `${redis.prefix}:bull`,
        }),
        BullModule.registerQueue({ name: RUNS_QUEUE_NAME }),
      ],
      providers: [
        {
          provide: RUN_QUEUE,
          inject: [getQueueToken(RUNS_QUEUE_NAME)],
          useFactory: (queue: Queue<RunJobData>) => new BullmqRunQueue(queue),
        },
      ],
      exports: [RUN_QUEUE],
    };
  }
}
