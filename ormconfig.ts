/**
 * TypeORM CLI data source (`npm run migration:run`, `npx typeorm migration:revert -d dist/ormconfig.js`).
 * The service itself runs the same migrations at boot (DB_MIGRATIONS_RUN), under an advisory lock.
 */
import 'reflect-metadata';
import { createDataSource } from './src/infra/database/data-source.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must be set to run TypeORM CLI commands');

export default createDataSource({ url, poolSize: 2, migrationsRun: false });
