import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoLogger } from 'nestjs-pino';
import { setUpHttpApp } from './api/http-app.js';
import { AppModule } from './app.module.js';
import { installGracefulShutdown, loadConfigOrExit, resolveRuntime } from './bootstrap.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = new Logger('Bootstrap');
  const runtime = await resolveRuntime(config, (m) => logger.log(m));
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, runtime), { bodyParser: false, bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  await setUpHttpApp(app, config);
  await app.listen(config.PORT, config.HOST);
  const url = (await app.getUrl()).replace('[::1]', 'localhost').replace('0.0.0.0', 'localhost');
  logger.log(
    `listening on ${url} (${runtime.embedded ? 'embedded PostgreSQL' : 'PostgreSQL'}, ${config.useRedis ? 'Redis + BullMQ' : 'in-memory store + in-process queue'}); API docs at ${url}/docs, web console at ${url}/console`,
  );
  logger.log(
    `create a tenant and its API key: npm run cli -- tenant:create <name>${config.ADMIN_TOKEN ? ` (or POST ${url}/admin/tenants with the ADMIN_TOKEN)` : ''}`,
  );

  installGracefulShutdown(app, runtime, config, logger, () => {
    // Stop accepting connections; requests in flight complete.
    const server = app.getHttpServer();
    server.close();
    server.closeIdleConnections();
  });
}

main().catch((error: unknown) => {
  new Logger('Bootstrap').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
