import { Redis } from 'ioredis';
import { RedisStepIdempotencyStore } from '../src/domains/logs/drivers/redis-step-idempotency.store.js';
import { describeStepIdempotencyStoreContract } from '../src/domains/logs/drivers/step-idempotency-store.contract.js';
import { TEST_REDIS_URL } from './support/env.js';
import { deleteRedisPrefix, testRedisPrefix } from './support/redis.js';

const prefix = testRedisPrefix();
const redis = new Redis(TEST_REDIS_URL);

afterAll(async () => {
  await deleteRedisPrefix(prefix);
  redis.disconnect();
});

describeStepIdempotencyStoreContract('redis', async () => ({
  store: new RedisStepIdempotencyStore(redis, prefix),
  passTime: (ms) => new Promise((r) => setTimeout(r, ms)),
}));

describe('RedisStepIdempotencyStore key layout', () => {
  it("hash-tags every key by tenant, so a tenant's keys share one Redis Cluster slot", async () => {
    const store = new RedisStepIdempotencyStore(redis, prefix);
    await store.claim('tenant-z', 'k1', 'o', 5_000);
    const keys = await redis.keys(`${prefix}:*tenant-z*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toContain('{tenant-z}');
  });
});
