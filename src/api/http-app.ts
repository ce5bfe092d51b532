import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppConfig } from '../infra/config/app.config.js';
import { mountConsole } from './console.js';
import { expressProblemHandler } from './filters/problem-details.filter.js';
import { ProblemException } from './problem.js';
import { requestIdMiddleware } from './middleware/request-id.middleware.js';
import { setUpOpenApi } from './openapi.js';
import { createValidationPipe } from './validation.js';

const JSON_TYPES = ['application/json', 'application/*+json'];

function refuseNonJsonBodies(req: Request, _res: Response, next: NextFunction): void {
  if (!Buffer.isBuffer(req.body)) return next();
  if (req.body.length === 0) {
    req.body = undefined; // no body at all (as if nothing had read it): an endpoint sees "no payload", not an empty buffer
    return next();
  }
  next(
    new ProblemException({
      type: 'unsupported-media-type',
      title: 'Unsupported media type',
      status: 415,
      detail: 'Request bodies must be JSON (Content-Type: application/json).',
    }),
  );
}

/**
 * HTTP set-up shared by main.ts and the e2e tests, so tests exercise exactly what runs in production.
 * The app must be created with `{ bodyParser: false }`: the JSON parser is mounted here with the
 * MAX_BODY_BYTES limit, and its 400/413 errors are turned into problem+json by an Express error
 * handler appended after Nest's routes.
 */
export async function setUpHttpApp(app: INestApplication, config: Pick<AppConfig, 'limits'>): Promise<void> {
  const http = app as NestExpressApplication;
  http.disable('x-powered-by');
  http.set('etag', false);
  http.set('trust proxy', false);
  http.use(requestIdMiddleware);
  mountConsole(http);
  http.use(express.json({ limit: config.limits.maxBodyBytes, type: JSON_TYPES, strict: false }));
  // Any other body is read too, only to hold it to MAX_BODY_BYTES (413 whatever the content type),
  // then refused (415): no endpoint takes anything but JSON.
  http.use(express.raw({ limit: config.limits.maxBodyBytes, type: (req) => !(req as Request).is(JSON_TYPES) }));
  http.use(refuseNonJsonBodies);
  http.useGlobalPipes(createValidationPipe());
  setUpOpenApi(http);
  await http.init();
  http.use(expressProblemHandler());
  // Requests Node's HTTP parser refuses (oversized headers, bad bytes) still get problem+json.
  http.getHttpServer().on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) return socket.destroy();
    const [status, title] = error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request header fields too large'] : [400, 'Bad request'];
    const requestId = randomUUID();
    const body = JSON.stringify({
      type: status === 431 ? 'headers-too-large' : 'bad-request',
      title,
      status,
      detail: 'The request could not be parsed as HTTP.',
      request_id: requestId,
    });
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nX-Request-Id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
