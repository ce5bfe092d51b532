import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { AppConfig } from '../config/app.config.js';
import { BullmqRunQueue, type RunJobData } from './bullmq-run.queue.js';
import { InProcessRunQueue } from './in-process-run.queue.js';
import { bullmqPrefix, RUN_QUEUE, RUNS_QUEUE_NAME } from './run-queue.port.js';

/** RUN_QUEUE: BullMQ when REDIS_URL is set, else the in-process queue. */
@Global()
@Module({})
export class QueueModule {
  static forRoot(redis: AppConfig['redis']): DynamicModule {
    if (!redis.url) {
      return { module: QueueModule, providers: [{ provide: RUN_QUEUE, useValue: new InProcessRunQueue() }], exports: [RUN_QUEUE] };
    }
    const url = redis.url;
    return {
      module: QueueModule,
      imports: [
        BullModule.forRoot({
          // The producer fails fast while Redis is down (no offline queue): a run's create must not
          // wait for Redis, the stranded-run sweep enqueues it later. Workers get their own connection.
          connection: { url, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
          prefix: bullmqPrefix(redis.prefix),
        }),
        BullModule.registerQueue({ name: RUNS_QUEUE_NAME }),
      ],
      providers: [
        {
          provide: RUN_QUEUE,
          inject: [getQueueToken(RUNS_QUEUE_NAME)],
          // BullMQ needs maxRetriesPerRequest: null on the blocking connections of workers.
          useFactory: (queue: Queue<RunJobData>) => new BullmqRunQueue(queue, { url, maxRetriesPerRequest: null }),
        },
      ],
      exports: [RUN_QUEUE],
    };
  }
}
