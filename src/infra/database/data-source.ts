import { DataSource, type DataSourceOptions, type EntitySchema, type MixedList } from 'typeorm';
import { migrations } from './migrations/index.js';
import { ParameterFreeTypeOrmLogger } from './typeorm-logger.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type EntityList = MixedList<Function | string | EntitySchema>;

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  /** Run pending migrations at boot (under an advisory lock; see DatabaseModule). */
  migrationsRun: boolean;
}

/** TypeORM options for PostgreSQL. `synchronize` is never on: the schema comes from migrations. */
export function dataSourceOptions(db: DatabaseSettings, entities: EntityList): DataSourceOptions {
  return {
    type: 'postgres',
    url: db.url,
    entities,
    migrations,
    migrationsRun: false, // DatabaseModule runs them itself, under a lock
    synchronize: false,
    logging: ['error', 'warn', 'migration'],
    logger: new ParameterFreeTypeOrmLogger(), // never prints query parameters (run inputs, params, outputs)
    extra: { max: db.poolSize, connectionTimeoutMillis: 5_000, application_name: 'agent-runs' },
  };
}

export function createDataSource(db: DatabaseSettings, entities: EntityList): DataSource {
  return new DataSource(dataSourceOptions(db, entities));
}
