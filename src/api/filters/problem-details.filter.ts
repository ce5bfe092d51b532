import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { loggableError } from '../../infra/logging/loggable-error.js';
import { type FieldError, SpineErrorCode, SpineException } from '../../spine/spine.exception.js';
import { PROBLEM_CONTENT_TYPE, type Problem, ProblemException } from '../problem.js';

const SPINE_PROBLEMS: Record<SpineErrorCode, { status: number; type: string; title: string }> = {
  [SpineErrorCode.TenantNotFound]: { status: 404, type: 'not-found', title: 'Not found' },
  [SpineErrorCode.ApiKeyNotFound]: { status: 404, type: 'not-found', title: 'Not found' },
  [SpineErrorCode.RunNotFound]: { status: 404, type: 'not-found', title: 'Not found' },
  [SpineErrorCode.InvalidRunRequest]: { status: 400, type: 'validation-error', title: 'Invalid request' },
  [SpineErrorCode.InvalidCursor]: { status: 400, type: 'invalid-cursor', title: 'Invalid cursor' },
  [SpineErrorCode.IdempotencyKeyReused]: {
    status: 422,
    type: 'idempotency-key-reused',
    title: 'Idempotency key reused with another request',
  },
  [SpineErrorCode.IdempotencyRequestInProgress]: {
    status: 409,
    type: 'idempotency-request-in-progress',
    title: 'A request with this idempotency key is in progress',
  },
  [SpineErrorCode.RunNotCancellable]: { status: 409, type: 'run-not-cancellable', title: 'Run is finished' },
  [SpineErrorCode.RunNotReplayable]: { status: 409, type: 'run-not-replayable', title: 'Run cannot be replayed' },
  [SpineErrorCode.SignalAlreadySent]: {
    status: 409,
    type: 'signal-already-sent',
    title: 'A signal of this name was already sent to the run with another payload',
  },
  [SpineErrorCode.RunFinished]: { status: 409, type: 'run-finished', title: 'Run is finished' },
  [SpineErrorCode.SecretNotFound]: { status: 404, type: 'not-found', title: 'Not found' },
  [SpineErrorCode.SecretsDisabled]: { status: 503, type: 'secrets-disabled', title: 'Secrets are disabled' },
  [SpineErrorCode.ReplayBatchNotFound]: { status: 404, type: 'not-found', title: 'Not found' },
  [SpineErrorCode.ReplayBatchFinished]: { status: 409, type: 'replay-batch-finished', title: 'Replay batch is finished' },
  [SpineErrorCode.RevocationUnconfirmed]: {
    status: 503,
    type: 'revocation-unconfirmed',
    title: 'Revoked, but not yet confirmed by every API process',
  },
};

const STATUS_TITLES: Record<number, [string, string]> = {
  400: ['bad-request', 'Bad request'],
  401: ['unauthorized', 'Unauthorized'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  406: ['not-acceptable', 'Not acceptable'],
  409: ['conflict', 'Conflict'],
  413: ['payload-too-large', 'Payload too large'],
  415: ['unsupported-media-type', 'Unsupported media type'],
  429: ['rate-limited', 'Too many requests'],
  503: ['service-unavailable', 'Service unavailable'],
};

/** Network and PostgreSQL codes meaning a dependency (database, Redis) is down or refusing. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Connection is closed|max retries per request|Stream isn't writeable|ECONNREFUSED|connect ETIMEDOUT|not currently accepting connections|the database system is (starting up|shutting down|in recovery mode)/i;

/** True for an error that says a dependency is unreachable (answered 503 + Retry-After, not 500). */
export function isDependencyUnavailable(error: unknown): boolean {
  for (
    let e = error as { code?: unknown; message?: unknown; name?: unknown; driverError?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 4;
    depth++
  ) {
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
    if (e.name === 'MaxRetriesPerRequestError') return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
    e = (e.driverError ?? e.cause) as typeof e;
  }
  return false;
}

/** Field errors listed in one problem; the rest are counted in one more entry (a body of 600 bad indexes stays small). */
export const MAX_FIELD_ERRORS = 100;

/** The first MAX_FIELD_ERRORS field errors, then `{ field: "(more)", message: "...and N more errors" }`. */
export function capErrors(errors: FieldError[]): FieldError[] {
  if (errors.length <= MAX_FIELD_ERRORS) return errors;
  const more = errors.length - MAX_FIELD_ERRORS;
  return [...errors.slice(0, MAX_FIELD_ERRORS), { field: '(more)', message: `...and ${more} more error${more === 1 ? '' : 's'}` }];
}

/** Errors from Express' body parser (raised before Nest routing) carry a `type` and a `status`. */
interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/**
 * Turns any error into RFC 9457 problem+json. Known errors keep their meaning; everything else is a
 * 500 that names only the request id, never a stack, SQL or an internal name.
 */
export function toProblem(error: unknown): { problem: Omit<Problem, 'request_id'>; headers: Record<string, string> } {
  if (error instanceof ProblemException) {
    const { errors, ...problem } = error.problem;
    return { problem: { ...problem, ...(errors ? { errors: capErrors(errors) } : {}) }, headers: error.headers };
  }
  if (error instanceof SpineException) {
    const mapped = SPINE_PROBLEMS[error.code];
    const headers: Record<string, string> = {};
    if (error.details.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.details.retryAfterSeconds);
    return {
      problem: {
        type: mapped.type,
        title: mapped.title,
        status: mapped.status,
        detail: error.message,
        ...(error.details.errors ? { errors: capErrors(error.details.errors) } : {}),
      },
      headers,
    };
  }
  // Nest 12 wraps body-parser errors in an HttpException whose cause is the original error.
  const bodyError = (error instanceof HttpException && error.cause ? error.cause : error) as BodyParserError;
  if (bodyError && typeof bodyError === 'object' && typeof bodyError.type === 'string' && bodyError.expose) {
    if (bodyError.type === 'entity.too.large') {
      return {
        problem: { type: 'payload-too-large', title: 'Payload too large', status: 413, detail: 'The request body exceeds the size limit.' },
        headers: {},
      };
    }
    if (bodyError.type === 'entity.parse.failed') {
      return {
        problem: { type: 'malformed-json', title: 'Malformed JSON', status: 400, detail: 'The request body is not valid JSON.' },
        headers: {},
      };
    }
    const status = bodyError.status ?? bodyError.statusCode ?? 400;
    if (status >= 400 && status < 500) {
      const [type, title] = STATUS_TITLES[status] ?? ['bad-request', 'Bad request'];
      return { problem: { type, title, status, detail: 'The request body could not be read.' }, headers: {} };
    }
  }
  if (error instanceof HttpException && isTerminusReport(error.getResponse())) {
    const report = error.getResponse() as { details: unknown };
    return {
      problem: {
        type: 'service-unavailable',
        title: 'Service unavailable',
        status: error.getStatus(),
        detail: 'A dependency is not ready.',
        checks: report.details,
      },
      headers: { 'Retry-After': '5' },
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const [type, title] =
      STATUS_TITLES[status] ?? (status < 500 ? ['client-error', 'Client error'] : ['internal-error', 'Internal server error']);
    const response = error.getResponse();
    const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const detail = status < 500 && typeof message === 'string' ? message : title;
    return { problem: { type, title, status, detail }, headers: {} };
  }
  if (isDependencyUnavailable(error)) {
    return {
      problem: {
        type: 'service-unavailable',
        title: 'Service unavailable',
        status: 503,
        detail: 'A dependency of the service is unavailable; retry later.',
      },
      headers: { 'Retry-After': '5' },
    };
  }
  return {
    problem: {
      type: 'internal-error',
      title: 'Internal server error',
      status: 500,
      detail: 'An unexpected error occurred. Quote the request id when reporting it.',
    },
    headers: {},
  };
}

function isTerminusReport(response: unknown): boolean {
  return (
    typeof response === 'object' && response !== null && (response as { status?: unknown }).status === 'error' && 'details' in response
  );
}

export function sendProblem(req: Request, res: Response, error: unknown, logger: Logger): void {
  const { problem, headers } = toProblem(error);
  const requestId = String(res.getHeader('X-Request-Id') ?? '');
  if (problem.status === 500) {
    logger.error({ err: loggableError(error), requestId }, `unhandled error on ${req.method} ${req.path}`);
  } else if (problem.type === 'service-unavailable') {
    logger.warn({ requestId, reason: loggableError(error).message }, `dependency unavailable on ${req.method} ${req.path}`);
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify({ ...problem, instance: req.originalUrl, request_id: requestId || undefined }));
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(http.getRequest<Request>(), http.getResponse<Response>(), error, this.logger);
  }
}

/** Express error middleware for errors raised before Nest routing (body parser: 400 / 413). */
export function expressProblemHandler(logger = new Logger('ProblemDetails')) {
  return (error: unknown, req: Request, res: Response, _next: (err?: unknown) => void): void => {
    sendProblem(req, res, error, logger);
  };
}
