import type { INestApplicationContext, Logger } from '@nestjs/common';
import { type AppConfig, ConfigValidationError, loadConfig, type LoadConfigOptions } from './infra/config/app.config.js';
import { startEmbeddedPostgres } from './infra/database/embedded-postgres.js';
import type { RuntimeSettings } from './app.module.js';
import { RUN_EXECUTION_ORCHESTRATOR } from './spine/orchestrator/orchestrator.tokens.js';
import type { RunExecutionOrchestrator } from './spine/orchestrator/run-execution.orchestrator.js';

/** After SHUTDOWN_GRACE_MS, how long aborted skills have to unwind before the process exits regardless. */
const SHUTDOWN_HARD_STOP_MS = 10_000;

export interface Runtime extends RuntimeSettings {
  embedded: boolean;
  /** Stops what bootstrap started (the embedded PostgreSQL), after the app has closed. */
  stop(): Promise<void>;
}

/** Loads the configuration or exits with a message naming each bad variable. */
export function loadConfigOrExit(options: LoadConfigOptions = {}): AppConfig {
  try {
    return loadConfig(process.env, options);
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** Production mode uses DATABASE_URL; with none, the embedded PostgreSQL (data in EMBEDDED_DATA_DIR). */
export async function resolveRuntime(config: Pick<AppConfig, 'database'>, log: (message: string) => void): Promise<Runtime> {
  const { url, embedded } = config.database;
  if (url) {
    return { databaseUrl: url, embedded: false, stop: async () => undefined };
  }
  const db = await startEmbeddedPostgres(embedded.dataDir, embedded.port, log);
  log(`embedded PostgreSQL on 127.0.0.1:${embedded.port} (data in ${embedded.dataDir})`);
  return { databaseUrl: db.url, embedded: true, stop: () => db.stop() };
}

/**
 * SIGTERM / SIGINT: `beforeClose` (the API stops accepting connections), then the app closes (workers
 * stop taking jobs and wait for theirs; past SHUTDOWN_GRACE_MS running skills are asked to stop and
 * their runs go back to the queue), then what bootstrap started (embedded PostgreSQL) stops.
 */
export function installGracefulShutdown(
  app: INestApplicationContext,
  runtime: Runtime,
  config: Pick<AppConfig, 'shutdown'>,
  logger: Logger,
  beforeClose: () => void = () => undefined,
): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const { graceMs } = config.shutdown;
    logger.log(`${signal}: finishing the work in hand, then exiting`);
    beforeClose();
    const grace = setTimeout(() => app.get<RunExecutionOrchestrator>(RUN_EXECUTION_ORCHESTRATOR).abortRunningSkills(), graceMs);
    grace.unref();
    // The whole shutdown has a deadline: aborted skills get SHUTDOWN_HARD_STOP_MS to unwind, then the
    // process exits anyway (their runs are taken again once their leases run out).
    const deadline = setTimeout(() => {
      logger.error(`shutdown did not finish within ${graceMs + SHUTDOWN_HARD_STOP_MS} ms; exiting now`);
      process.exit(1);
    }, graceMs + SHUTDOWN_HARD_STOP_MS);
    deadline.unref();
    await app.close();
    await runtime.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
