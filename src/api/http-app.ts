import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import express from 'express';
import type { AppConfig } from '../infra/config/app.config.js';
import { mountConsole } from './console.js';
import { expressProblemHandler } from './filters/problem-details.filter.js';
import { requestIdMiddleware } from './middleware/request-id.middleware.js';
import { setUpOpenApi } from './openapi.js';
import { createValidationPipe } from './validation.js';

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
  http.use(express.json({ limit: config.limits.maxBodyBytes, type: ['application/json', 'application/*+json'], strict: false }));
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
