import type { StepIdempotencyStore, StoredStepResult } from './step-idempotency-store.port.js';

export interface StoreUnderTest {
  store: StepIdempotencyStore;
  /** Lets `ms` of time pass for TTLs and leases (moves a clock, or waits). */
  passTime(ms: number): Promise<void>;
}

const result = (output: unknown, fingerprint = 'fp-1'): StoredStepResult => ({
  output,
  output_hash: 'h'.repeat(64),
  fingerprint,
  completed_at: '2026-01-01T00:00:00.000Z',
});

/**
 * The behaviour every StepIdempotencyStore must have; run against the memory store (unit) and the
 * Redis store (against the machine's Redis).
 */
export function describeStepIdempotencyStoreContract(name: string, setUp: () => Promise<StoreUnderTest>): void {
  describe(`StepIdempotencyStore contract: ${name}`, () => {
    let s: StoreUnderTest;
    let n = 0;
    let tenant: string;
    beforeEach(async () => {
      s = await setUp();
      tenant = `tenant-${Date.now()}-${n++}`;
    });

    it('gets nothing for an unknown key, then what was set; delete removes it', async () => {
      expect(await s.store.get(tenant, 'k')).toBeNull();
      await s.store.set(tenant, 'k', result({ a: 1 }), 60);
      expect(await s.store.get(tenant, 'k')).toEqual(result({ a: 1 }));
      await s.store.delete(tenant, 'k');
      expect(await s.store.get(tenant, 'k')).toBeNull();
    });

    it('keeps tenants apart', async () => {
      await s.store.set(tenant, 'shared', result('mine'), 60);
      expect(await s.store.get(`${tenant}-other`, 'shared')).toBeNull();
      expect((await s.store.claim(`${tenant}-other`, 'shared', 'o', 1000)).status).toBe('claimed');
    });

    it('expires results after their TTL', async () => {
      await s.store.set(tenant, 'ttl', result(1), 1);
      await s.passTime(1_100);
      expect(await s.store.get(tenant, 'ttl')).toBeNull();
    });

    it('claims once: a second owner is busy, the holder may claim again, a completed key returns its result', async () => {
      expect(await s.store.claim(tenant, 'c', 'owner-a', 5_000)).toEqual({ status: 'claimed' });
      expect(await s.store.claim(tenant, 'c', 'owner-b', 5_000)).toEqual({ status: 'busy' });
      expect(await s.store.claim(tenant, 'c', 'owner-a', 5_000)).toEqual({ status: 'claimed' });
      expect(await s.store.complete(tenant, 'c', 'owner-a', result({ done: true }), 60)).toEqual({ stored: true });
      expect(await s.store.claim(tenant, 'c', 'owner-b', 5_000)).toEqual({ status: 'completed', result: result({ done: true }) });
    });

    it('exactly one of many concurrent claimers wins', async () => {
      const claims = await Promise.all(Array.from({ length: 50 }, (_, i) => s.store.claim(tenant, 'race', `owner-${i}`, 5_000)));
      expect(claims.filter((c) => c.status === 'claimed')).toHaveLength(1);
      expect(claims.filter((c) => c.status === 'busy')).toHaveLength(49);
    });

    it("frees a claim whose lease ran out; renew extends only the holder's lease", async () => {
      await s.store.claim(tenant, 'lease', 'owner-a', 300);
      expect(await s.store.renew(tenant, 'lease', 'owner-b', 300)).toBe(false);
      expect(await s.store.renew(tenant, 'lease', 'owner-a', 300)).toBe(true);
      await s.passTime(450);
      expect(await s.store.renew(tenant, 'lease', 'owner-a', 300)).toBe(false);
      expect((await s.store.claim(tenant, 'lease', 'owner-b', 300)).status).toBe('claimed');
    });

    it('complete never overwrites a stored result and refuses an owner that lost the claim', async () => {
      await s.store.claim(tenant, 'w', 'owner-a', 5_000);
      expect(await s.store.complete(tenant, 'w', 'owner-b', result('b'), 60)).toEqual({ stored: false, standing: null });
      expect(await s.store.complete(tenant, 'w', 'owner-a', result('a'), 60)).toEqual({ stored: true });
      expect(await s.store.complete(tenant, 'w', 'owner-a', result('again'), 60)).toEqual({ stored: false, standing: result('a') });
      expect(await s.store.get(tenant, 'w')).toEqual(result('a'));
    });

    it('release frees the claim only for its holder', async () => {
      await s.store.claim(tenant, 'r', 'owner-a', 5_000);
      await s.store.release(tenant, 'r', 'owner-b');
      expect((await s.store.claim(tenant, 'r', 'owner-b', 5_000)).status).toBe('busy');
      await s.store.release(tenant, 'r', 'owner-a');
      expect((await s.store.claim(tenant, 'r', 'owner-b', 5_000)).status).toBe('claimed');
      expect(await s.store.get(tenant, 'r')).toBeNull();
    });

    it('keeps keys with any printable characters apart, including look-alikes of internal names', async () => {
      await s.store.set(tenant, 'a:claim', result('x'), 60);
      expect((await s.store.claim(tenant, 'a', 'owner', 5_000)).status).toBe('claimed');
      expect(await s.store.get(tenant, 'a:claim')).toEqual(result('x'));
      await s.store.set(tenant, '{weird} key*?', result('y'), 60);
      expect(await s.store.get(tenant, '{weird} key*?')).toEqual(result('y'));
    });
  });
}
