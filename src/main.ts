import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { setUpHttpApp } from './api/http-app.js';
import { AppModule } from './app.module.js';
import { loadConfigOrExit, resolveRuntime } from './bootstrap.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = new Logger('Bootstrap');
  const runtime = await resolveRuntime(config, (m) => logger.log(m));
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, runtime), { bodyParser: false });
  await setUpHttpApp(app, config);
  await app.listen(config.PORT, config.HOST);
  const url = (await app.getUrl()).replace('[::1]', 'localhost').replace('0.0.0.0', 'localhost');
  logger.log(`listening on ${url} (${runtime.embedded ? 'embedded PostgreSQL' : 'PostgreSQL'}, ${config.useRedis ? 'Redis + BullMQ' : 'in-memory store + in-process queue'})`);
  logger.log(`create a tenant and its API key: npm run cli -- tenant:create <name>${config.ADMIN_TOKEN ? ` (or POST ${url}/admin/tenants with the ADMIN_TOKEN)` : ''}`);
  const shutdown = async (signal: string) => {
    logger.log(`${signal}: shutting down`);
    await app.close();
    await runtime.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  new Logger('Bootstrap').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
