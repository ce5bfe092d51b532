import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { processAppLogger } from './infra/logging/logger.js';
import { logSettings } from './infra/logging/logging.module.js';
import { installGracefulShutdown, loadConfigOrExit, resolveRuntime } from './bootstrap.js';

/** A worker process: consumes the run queue, serves no HTTP. Needs REDIS_URL (a shared queue). */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  Logger.overrideLogger(processAppLogger(logSettings(config.logging)));
  const logger = new Logger('Worker');
  if (!config.redis.url) {
    process.stderr.write('REDIS_URL must be set for a separate worker process (embedded mode runs its worker inside `npm start`).\n');
    process.exit(78);
  }
  const runtime = await resolveRuntime(config, (m) => logger.log(m));
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, runtime, { api: false, worker: true }), {
    logger: processAppLogger(logSettings(config.logging)),
  });
  logger.log(`worker started (concurrency ${config.worker.concurrency})`);
  installGracefulShutdown(app, runtime, config, logger);
}

main().catch((error: unknown) => {
  new Logger('Worker').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
