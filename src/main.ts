import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { setUpHttpApp } from './api/http-app.js';
import { AppModule } from './app.module.js';
import { processAppLogger } from './infra/logging/logger.js';
import { logSettings } from './infra/logging/logging.module.js';
import { installGracefulShutdown, loadConfigOrExit, resolveRuntime } from './bootstrap.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  // One logger from the first line on (bootstrap, embedded PostgreSQL, Nest, requests).
  Logger.overrideLogger(processAppLogger(logSettings(config.logging)));
  const logger = new Logger('Bootstrap');
  const runtime = await resolveRuntime(config, (m) => logger.log(m));
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, runtime), {
    bodyParser: false,
    logger: processAppLogger(logSettings(config.logging)),
  });
  await setUpHttpApp(app, config);
  await app.listen(config.http.port, config.http.host);
  const url = (await app.getUrl()).replace('[::1]', 'localhost').replace('0.0.0.0', 'localhost');
  const mode = `${runtime.embedded ? 'embedded PostgreSQL' : 'PostgreSQL'}, ${config.redis.url ? 'Redis + BullMQ' : 'in-memory store + in-process queue'}`;
  logger.log(`listening on ${url} (${mode})`);
  logger.log(`API docs: ${url}/docs (OpenAPI document: ${url}/openapi.json)`);
  logger.log(`web console: ${url}/console (sign in with an API key)`);
  logger.log(
    `API key: npm run cli -- tenant:create <name> prints a tenant and its key${config.admin.token ? ` (or POST ${url}/admin/tenants with the ADMIN_TOKEN)` : ''}`,
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
