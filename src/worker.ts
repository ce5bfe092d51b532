import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { processAppLogger } from './infra/logging/logger.js';
import { logSettings } from './infra/logging/logging.module.js';
import { METRICS, type Metrics } from './infra/metrics/metrics.js';
import { serveMetrics } from './infra/metrics/metrics-server.js';
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
  const { metricsPort } = config.worker;
  const metrics = metricsPort > 0 ? await serveMetrics(app.get<Metrics>(METRICS), metricsPort, config.http.host) : null;
  if (metrics) logger.log(`metrics on http://${config.http.host}:${metrics.port}/metrics`);
  logger.log(`worker started (concurrency ${config.worker.concurrency})`);
  installGracefulShutdown(app, runtime, config, logger, () => metrics?.server.close());
}

main().catch((error: unknown) => {
  new Logger('Worker').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
