import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { spawnApi, type ApiProcess } from './support/api-process.js';
import { assertFreshDist } from './support/dist.js';
import { TEST_REDIS_URL } from './support/env.js';
import { ADMIN_TOKEN, createTestEnvironment, type TestEnvironment } from './support/test-app.js';

/**
 * The in-process cache of API keys, on two real API processes (`dist/src/main.js`) sharing PostgreSQL
 * and Redis. "At once" means: from the moment DELETE /admin/api-keys/{id} answers 204 on one process,
 * every API process refuses the key (each confirmed over Redis pub/sub that it dropped it). A process
 * whose subscription drops forgets every cached key; API_KEY_CACHE_TTL_MS bounds what a process that
 * missed a message without noticing could still accept.
 */
describe('API keys cached in process, revoked at once across processes', () => {
  let env: TestEnvironment;
  let a: ApiProcess;
  let b: ApiProcess;
  let db: pg.Client;
  let redis: Redis;
  let tenantId: string;

  const admin = (api: ApiProcess, method: string, path: string) =>
    fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const newKey = async (): Promise<{ id: string; auth: string }> => {
    const res = await admin(a, 'POST', `/admin/tenants/${tenantId}/api-keys`);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; api_key: string };
    return { id: body.id, auth: `Bearer ${body.api_key}` };
  };
  const status = async (api: ApiProcess, auth: string) => (await fetch(`${api.url}/v1/runs`, { headers: { authorization: auth } })).status;
  /** Revokes behind the service's back: the database only, no broadcast (a message that got lost). */
  const revokeInDatabaseOnly = (keyId: string) => db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [keyId]);
  /** The broadcast subscriber connections of this test's processes (named `<prefix>:broadcast`) with both channels subscribed. */
  const subscriberIds = async (): Promise<string[]> =>
    ((await redis.client('LIST')) as string)
      .split('\n')
      .filter((line) => line.includes(` name=${env.redisPrefix}:broadcast `) && line.includes(' sub=2 '))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)![1]);
  const waitForSubscribers = async (count: number, except: string[] = []) => {
    const deadline = Date.now() + 10_000;
    while ((await subscriberIds()).filter((id) => !except.includes(id)).length < count) {
      if (Date.now() > deadline) throw new Error(`${count} subscribers did not (re)subscribe`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    assertFreshDist();
    env = await createTestEnvironment({
      API_KEY_CACHE_TTL_MS: '600000',
      WORKER_ENABLED: 'false',
      LOG_LEVEL: 'info',
      LOG_REQUESTS: 'false',
    });
    [a, b] = await Promise.all([spawnApi(env.env), spawnApi(env.env)]);
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
    redis = new Redis(TEST_REDIS_URL);
    const created = await fetch(`${a.url}/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cache' }),
    });
    tenantId = ((await created.json()) as { id: string }).id;
    // each API process subscribes at boot; its cache keeps keys once the subscription is confirmed
    await waitForSubscribers(2);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.end();
    redis?.disconnect();
    await env?.dispose();
  });

  it('serves a live key from the cache (a revocation that only reached the database is not seen)', async () => {
    const key = await newKey();
    expect(await status(b, key.auth)).toBe(200);
    await revokeInDatabaseOnly(key.id);
    // B answers from its cache; this is what the broadcast (next test) and the TTL (last test) are for.
    expect(await status(b, key.auth)).toBe(200);
  });

  it('a key revoked through one process is refused by the other as soon as the revoke answers', async () => {
    for (let i = 0; i < 10; i++) {
      const key = await newKey();
      // both processes have the key cached
      expect([await status(a, key.auth), await status(b, key.auth), await status(b, key.auth)]).toEqual([200, 200, 200]);
      const revoker = i % 2 === 0 ? a : b;
      const other = revoker === a ? b : a;
      expect((await admin(revoker, 'DELETE', `/admin/api-keys/${key.id}`)).status).toBe(204);
      expect(await status(other, key.auth)).toBe(401);
      expect(await status(revoker, key.auth)).toBe(401);
    }
  });

  it('the CLI revokes at once too: it broadcasts and waits for the confirmations', async () => {
    const key = await newKey();
    expect([await status(a, key.auth), await status(b, key.auth)]).toEqual([200, 200]);
    const cli = spawnSync(process.execPath, [resolve('dist/src/cli.js'), 'api-key:revoke', key.id], {
      env: { PATH: process.env.PATH ?? '', ...env.env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(cli.status).toBe(0);
    expect(await status(a, key.auth)).toBe(401);
    expect(await status(b, key.auth)).toBe(401);
  });

  it('a revocation that a process cannot confirm (frozen) answers 503, and a retry confirms once it is back', async () => {
    const key = await newKey();
    expect([await status(a, key.auth), await status(b, key.auth)]).toEqual([200, 200]);
    b.child.kill('SIGSTOP');
    try {
      const started = Date.now();
      const res = await admin(a, 'DELETE', `/admin/api-keys/${key.id}`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { type: string }).type).toBe('revocation-unconfirmed');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      // the revocation itself is committed: this process refuses the key already
      expect(await status(a, key.auth)).toBe(401);
    } finally {
      b.child.kill('SIGCONT');
    }
    // B, thawed, handles the message it missed before anything else it had waiting
    expect(await status(b, key.auth)).toBe(401);
    expect((await admin(a, 'DELETE', `/admin/api-keys/${key.id}`)).status).toBe(204);
  });

  it('a process whose subscription dropped forgets every cached key', async () => {
    const key = await newKey();
    expect(await status(b, key.auth)).toBe(200);
    await revokeInDatabaseOnly(key.id);
    expect(await status(b, key.auth)).toBe(200); // cached
    const before = await subscriberIds();
    expect(before).toHaveLength(2);
    for (const id of before) await redis.client('KILL', 'ID', id);
    // both processes reconnect and subscribe again (a new epoch): nothing cached before is trusted
    await waitForSubscribers(2, before);
    expect(await status(b, key.auth)).toBe(401);
  });
});

describe('API_KEY_CACHE_TTL_MS caps how long a key is answered from the cache', () => {
  let env: TestEnvironment;
  let api: ApiProcess;
  let db: pg.Client;

  beforeAll(async () => {
    assertFreshDist();
    env = await createTestEnvironment({ API_KEY_CACHE_TTL_MS: '1000', WORKER_ENABLED: 'false', LOG_LEVEL: 'info', LOG_REQUESTS: 'false' });
    api = await spawnApi(env.env);
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
  });

  afterAll(async () => {
    await api?.stop();
    await db?.end();
    await env?.dispose();
  });

  it('a revocation the process never heard of is refused once the entry is older than the TTL', async () => {
    const created = await fetch(`${api.url}/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ttl' }),
    });
    const { api_key: apiKey } = (await created.json()) as { api_key: string };
    const auth = `Bearer ${apiKey}`;
    const status = async () => (await fetch(`${api.url}/v1/runs`, { headers: { authorization: auth } })).status;
    const redis = new Redis(TEST_REDIS_URL);
    try {
      // the subscription is confirmed (the cache keeps keys only then)
      while (
        !((await redis.client('LIST')) as string)
          .split('\n')
          .some((l) => l.includes(` name=${env.redisPrefix}:broadcast `) && l.includes(' sub=2 '))
      )
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      redis.disconnect();
    }
    expect(await status()).toBe(200);
    const cachedAt = Date.now();
    await db.query('UPDATE api_keys SET revoked_at = now()');
    expect(await status()).toBe(200); // from the cache
    let refusedAt = 0;
    while (Date.now() - cachedAt < 5_000) {
      if ((await status()) === 401) {
        refusedAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(refusedAt).toBeGreaterThan(0);
    expect(refusedAt - cachedAt).toBeLessThan(1_000 + 1_500); // the TTL, plus a margin for a loaded machine
  });
});
