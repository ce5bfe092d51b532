import { DataSource, type DataSourceOptions } from 'typeorm';
import { migrations } from './migrations/index.js';
import { ParameterFreeTypeOrmLogger } from './typeorm-logger.js';

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
    extra: { max: db.poolSize, connectionTimeoutMillis: 5_000, application_name: 'agent-runs' },
  };
}

export function createDataSource(db: DatabaseSettings): DataSource {
  return new DataSource(dataSourceOptions(db));
}
