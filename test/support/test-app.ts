import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { setUpHttpApp } from '../../src/api/http-app.js';
import { AppModule } from '../../src/app.module.js';
import { CLOCK, type Clock } from '../../src/infra/clock.js';
import { type AppConfig, loadConfig } from '../../src/infra/config/app.config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startSideEffectServer, type SideEffectServer } from './side-effect-server.js';
import { TEST_REDIS_URL } from './env.js';
import { deleteRedisPrefix, testRedisPrefix } from './redis.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface TestEnvironment {
  db: TestDatabase;
  redisPrefix: string;
  /** Environment for processes of this test (child workers) and for loadConfig. */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

/** One database and one Redis prefix for a test file. */
export async function createTestEnvironment(overrides: Record<string, string> = {}): Promise<TestEnvironment> {
  const db = await createTestDatabase();
  const redisPrefix = testRedisPrefix();
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_SECOND: '0', // the rate limit has its own test; storms here must not be throttled
    ...overrides,
  };
  return {
    db,
    redisPrefix,
    env,
    dispose: async () => {
      await db.drop();
      await deleteRedisPrefix(redisPrefix);
    },
  };
}

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  http: ReturnType<typeof request>;
  close(): Promise<void>;
}

/** Boots the real AppModule (as main.ts does) against the test environment. */
export async function startTestApp(env: Record<string, string>, options: { clock?: Clock } = {}): Promise<TestApp> {
  const config = loadConfig({ ...env });
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot(config, { databaseUrl: env.DATABASE_URL ?? '' })] });
  if (options.clock) builder = builder.overrideProvider(CLOCK).useValue(options.clock);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: ['error', 'warn'] });
  await setUpHttpApp(app, config);
  const server = app.getHttpServer();
  return { app, config, http: request(server), close: () => app.close() };
}

/** A worker-only application context (what `npm run start:worker` runs), in this process. */
export async function startTestWorker(env: Record<string, string>, options: { clock?: Clock } = {}): Promise<INestApplicationContext> {
  const config = loadConfig({ ...env, WORKER_ENABLED: 'true' });
  let builder = Test.createTestingModule({
    imports: [AppModule.forRoot(config, { databaseUrl: env.DATABASE_URL ?? '' }, { api: false, worker: true })],
  });
  if (options.clock) builder = builder.overrideProvider(CLOCK).useValue(options.clock);
  const moduleRef = await builder.compile();
  await moduleRef.init();
  return moduleRef;
}

/** Creates a tenant through the admin endpoint; returns its id and API key. */
export async function createTenant(app: TestApp, name = 'acme'): Promise<{ id: string; apiKey: string; auth: string }> {
  const res = await app.http.post('/admin/tenants').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ name }).expect(201);
  return { id: res.body.id, apiKey: res.body.api_key, auth: `Bearer ${res.body.api_key}` };
}

/** Polls until `check` returns a value (not undefined) or the time runs out. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** What the run suites share: a side-effect server, a test environment, the app and one tenant. */
export interface RunsHarness {
  env: TestEnvironment;
  app: TestApp;
  server: SideEffectServer;
  auth: string;
  dispose(): Promise<void>;
}

/** Starts the side-effect server first, so the environment can allow its port (`envFor(server)`). */
export async function startRunsHarness(
  tenantName: string,
  envFor: (server: SideEffectServer) => Record<string, string>,
): Promise<RunsHarness> {
  const server = await startSideEffectServer();
  const env = await createTestEnvironment(envFor(server));
  const app = await startTestApp(env.env);
  const auth = (await createTenant(app, tenantName)).auth;
  return {
    env,
    app,
    server,
    auth,
    dispose: async () => {
      await app.close();
      await server.close();
      await env.dispose();
    },
  };
}
