import { DataSource, type DataSourceOptions } from 'typeorm';
import { migrations } from './migrations/index.js';
import { ParameterFreeTypeOrmLogger } from './typeorm-logger.js';

/** How long a transaction may sit idle (its process frozen or gone) before the server ends it. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 15_000;

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  /** Run pending migrations at boot (under an advisory lock; see DatabaseModule). */
  migrationsRun: boolean;
}

/**
 * TypeORM options for PostgreSQL. `synchronize` is never on: the schema comes from migrations. No
 * entities: drivers write SQL against the table descriptions of `sql.ts`'s `Table` (one per table),
 * TypeORM provides the pool, the EntityManager (transactions) and the migration runner.
 */
export function dataSourceOptions(db: DatabaseSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: db.url,
    migrations,
    migrationsRun: false, // DatabaseModule runs them itself, under a lock
    synchronize: false,
    logging: ['error', 'warn', 'migration'],
    logger: new ParameterFreeTypeOrmLogger(), // never prints query parameters (run inputs, params, outputs)
    extra: {
      max: db.poolSize,
      connectionTimeoutMillis: 5_000,
      application_name: 'agent-runs',
      // A process frozen inside a transaction (SIGSTOP, a stalled host) would hold its row locks, and so
      // block takeovers, cancels and signals for that run, for as long as it is frozen. Our transactions
      // are a few statements long: the server ends one left idle for this long and releases its locks.
      options: `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
    },
  };
}

export function createDataSource(db: DatabaseSettings): DataSource {
  return new DataSource(dataSourceOptions(db));
}
