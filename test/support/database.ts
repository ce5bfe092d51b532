import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TEST_DATABASE_ADMIN_URL } from './env.js';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh database for one test file, on the machine's PostgreSQL. Its name always holds "test". */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `test_agentruns_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (!name.includes('test')) throw new Error('refusing a test database whose name lacks "test"');
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_DATABASE_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () =>
      admin(async (c) => {
        await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      }),
  };
}
