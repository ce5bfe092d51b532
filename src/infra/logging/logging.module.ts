import type { IncomingMessage } from 'node:http';
import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '../config/app.config.js';

/**
 * Log fields pino censors wherever they turn up: credentials of requests and responses, and anything
 * named like a secret or a key, at the top of a log object or one level down (`{ err: { ... } }`).
 * Step params and outputs are never logged; these paths are the second line of defence.
 */
const CREDENTIAL_FIELDS = [
  'authorization',
  '["proxy-authorization"]',
  'cookie',
  '["set-cookie"]',
  '["x-api-key"]',
  '["api-key"]',
  'password',
  'secret',
  'secrets',
  'secret_value',
  'api_key',
  'apiKey',
  'token',
  'access_token',
  'parameters',
];
export const LOG_REDACT_PATHS = [
  ...['req.headers', 'res.headers', 'headers', '*.headers'].flatMap((at) =>
    ['authorization', '["proxy-authorization"]', 'cookie', '["set-cookie"]', '["x-api-key"]', '["api-key"]'].map(
      (f) => `${at}${f.startsWith('[') ? '' : '.'}${f}`,
    ),
  ),
  ...CREDENTIAL_FIELDS.flatMap((f) => (f.startsWith('[') ? [`*${f}`] : [f, `*.${f}`])),
];

/** Structured JSON logs (pino) with the request id of X-Request-Id on every request line; credentials censored. */
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            autoLogging: config.LOG_REQUESTS,
            genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id?: string }).id ?? 'unknown',
            redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
            serializers: {
              req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
            },
          },
        }),
      ],
    };
  }
}
