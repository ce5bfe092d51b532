import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger as Pino } from 'pino';

export type LogFormat = 'json' | 'pretty';

export interface LogSettings {
  level: string;
  /** One line per HTTP request. */
  requests: boolean;
  format: LogFormat;
}

/**
 * JSON lines unless a person is watching: `pretty` only when asked (LOG_FORMAT=pretty), or with
 * LOG_FORMAT=auto when stdout is a terminal and NODE_ENV is not production.
 */
export function resolveLogFormat(requested: string, production: boolean, isTty = process.stdout.isTTY === true): LogFormat {
  if (requested === 'json' || requested === 'pretty') return requested;
  return isTty && !production ? 'pretty' : 'json';
}

/** Nest's start-up chatter (one line per module and route): dropped from human output, kept in JSON. */
const FRAMEWORK_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/**
 * Log fields pino censors wherever they turn up: credentials of requests and responses, and anything
 * named like a secret or a key, at the top of a log object or one level down (`{ err: { ... } }`).
 * Step params and outputs are never logged; these paths are the second line of defence.
 */
const CREDENTIAL_HEADERS = ['authorization', '["proxy-authorization"]', 'cookie', '["set-cookie"]', '["x-api-key"]', '["api-key"]'];
const CREDENTIAL_FIELDS = [
  ...CREDENTIAL_HEADERS,
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
    CREDENTIAL_HEADERS.map((f) => `${at}${f.startsWith('[') ? '' : '.'}${f}`),
  ),
  ...CREDENTIAL_FIELDS.flatMap((f) => (f.startsWith('[') ? [`*${f}`] : [f, `*.${f}`])),
];

const REDACT = { paths: LOG_REDACT_PATHS, censor: '[redacted]' };

/**
 * The root pino logger. Pretty output goes through pino-pretty in a transport thread; pino-pretty is a
 * development dependency, so where it is missing (a production install) the output stays JSON.
 */
export function createRootLogger(settings: LogSettings, destination?: DestinationStream): Pino {
  const options = { level: settings.level, redact: REDACT };
  if (destination) return pino(options, destination);
  if (settings.format === 'pretty') {
    try {
      return pino({
        ...options,
        transport: {
          target: 'pino-pretty',
          options: {
            colorize: true,
            translateTime: 'SYS:HH:MM:ss',
            ignore: 'pid,hostname,context,req,res,responseTime,reqId',
            messageFormat: '{if context}{context}: {end}{msg}',
            singleLine: true,
          },
        },
      });
    } catch {
      // pino-pretty not installed: JSON
    }
  }
  return pino(options);
}

/** What a line logged while handling a request is bound to: the request, and its logger once one is needed. */
interface RequestContext {
  req: { id: string; method: string; url: string };
  logger?: Pino;
}

/** The request being handled, for logs made while handling it (AppLogger writes them with its id). */
const requestContext = new AsyncLocalStorage<RequestContext>();

type LoggedRequest = IncomingMessage & { id?: string; originalUrl?: string };

/**
 * One line per request when `settings.requests` (`request completed`, or `request errored` at level
 * error for a 5xx), with the X-Request-Id set by the request-id middleware, then the binding that makes
 * AppLogger write lines logged while handling the request with its id.
 *
 * The line is `{ req: { id, method, url }, res: { statusCode }, responseTime, msg }` (pino-http's
 * shape, which this replaced: it built a child logger per request and ran the redaction over each line).
 * Those fields are all it holds, none a credential, so it is written by a logger without the redaction
 * paths (the redaction walked some forty paths per line: a fifth of the logging cost of a request);
 * everything else keeps them, including lines logged while handling a request, whose logger is made
 * only when one is logged.
 */
export function createHttpLogger(root: Pino, settings: LogSettings) {
  const human = settings.format === 'pretty';
  const lines = root.child({}, { redact: [] });
  return (incoming: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const req = incoming as LoggedRequest;
    const context: RequestContext = { req: { id: req.id ?? 'unknown', method: req.method ?? '', url: req.originalUrl ?? req.url ?? '' } };
    if (settings.requests) {
      const started = Date.now();
      let logged = false;
      const done = () => {
        if (logged) return;
        logged = true;
        res.removeListener('finish', done);
        res.removeListener('close', done);
        const responseTime = Date.now() - started;
        const { statusCode } = res;
        const failed = statusCode >= 500;
        const aborted = !res.writableFinished;
        const msg = human
          ? `${context.req.method} ${context.req.url} ${statusCode}${failed ? '' : ` (${responseTime} ms)`}${aborted ? ' (aborted)' : ''}`
          : failed
            ? 'request errored'
            : aborted
              ? 'request aborted'
              : 'request completed';
        lines[failed ? 'error' : 'info']({ req: context.req, res: { statusCode }, responseTime }, msg);
      };
      res.on('finish', done);
      res.on('close', done);
    }
    requestContext.run(context, next);
  };
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * Nest's LoggerService on pino: `new Logger('Context').log(...)` anywhere becomes a pino line with
 * `context`, written through the current request's logger when there is one. Nest passes the context
 * as the last argument and, for errors, a stack before it.
 */
export class AppLogger implements LoggerService {
  private readonly quiet: ReadonlySet<string>;

  constructor(
    readonly root: Pino,
    format: LogFormat,
  ) {
    this.quiet = format === 'pretty' ? FRAMEWORK_CONTEXTS : new Set();
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: Level, message: unknown, rest: unknown[]): void {
    const context = requestContext.getStore();
    const logger = context ? (context.logger ??= this.root.child({ req: context.req })) : this.root;
    const fields: Record<string, unknown> = {};
    const args = [...rest];
    if (args.length > 0 && typeof args[args.length - 1] === 'string') fields.context = args.pop();
    if (
      typeof fields.context === 'string' &&
      this.quiet.has(fields.context) &&
      (level === 'info' || level === 'debug' || level === 'trace')
    ) {
      return;
    }
    if (message instanceof Error) {
      logger[level]({ ...fields, err: message });
    } else if (message !== null && typeof message === 'object') {
      // `logger.warn({ fields }, 'text')`: the text is the line's message.
      if (typeof args[0] === 'string') logger[level]({ ...fields, ...(message as Record<string, unknown>) }, args[0]);
      else logger[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else if (level === 'error' && typeof args[0] === 'string' && args[0].includes('\n    at ')) {
      // Nest's contract for exceptions: error(message, stack, context)
      logger.error({ ...fields, err: { message: String(message), stack: args[0] } }, String(message));
    } else {
      logger[level](fields, String(message));
    }
  }
}

let processLogger: AppLogger | undefined;

/**
 * The process's logger, created on first use (by main.ts / worker.ts before Nest starts, or by the
 * LoggingModule), so bootstrap lines, Nest's lines and request lines share one pino and one output.
 */
export function processAppLogger(settings: LogSettings): AppLogger {
  processLogger ??= new AppLogger(createRootLogger(settings), settings.format);
  return processLogger;
}
