import { type DynamicModule, Global, Inject, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import type { AppConfig } from '../config/app.config.js';
import { AppLogger, createHttpLogger, processAppLogger, resolveLogFormat, type LogSettings } from './logger.js';

const LOG_SETTINGS = Symbol('LOG_SETTINGS');

export function logSettings(logging: AppConfig['logging']): LogSettings {
  return { level: logging.level, requests: logging.requests, format: resolveLogFormat(logging.format, logging.production) };
}

/**
 * Logs through pino: JSON lines (or human lines in a terminal, see resolveLogFormat), one line per HTTP
 * request with its X-Request-Id, and the request's id on every line logged while handling it.
 * `AppLogger` is the Nest LoggerService (`app.useLogger(app.get(AppLogger))`).
 */
@Global()
@Module({})
export class LoggingModule implements NestModule {
  constructor(@Inject(LOG_SETTINGS) private readonly settings: LogSettings) {}

  static forRoot(logging: AppConfig['logging']): DynamicModule {
    return {
      module: LoggingModule,
      providers: [
        { provide: LOG_SETTINGS, useValue: logSettings(logging) },
        { provide: AppLogger, useFactory: (settings: LogSettings) => processAppLogger(settings), inject: [LOG_SETTINGS] },
      ],
      exports: [AppLogger],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    const logger = processAppLogger(this.settings);
    // `{/*splat}` (no leading slash) matches every path, the root included, without Nest's wildcard warning.
    consumer.apply(createHttpLogger(logger.root, this.settings)).forRoutes({ path: '{/*splat}', method: RequestMethod.ALL });
  }
}
