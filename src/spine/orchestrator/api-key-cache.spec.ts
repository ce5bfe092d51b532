import { ApiKeyCache } from './api-key-cache.js';

describe('ApiKeyCache', () => {
  let now = 0;
  let sub = { live: true, epoch: 1 };
  const cache = (ttl = 1_000, max = 100) =>
    new ApiKeyCache(
      ttl,
      max,
      () => now,
      () => sub,
    );
  const key = { keyId: 'k1', tenantId: 't1' };

  beforeEach(() => {
    now = 0;
    sub = { live: true, epoch: 1 };
  });

  it('keeps a looked-up key for the TTL, then forgets it', () => {
    const c = cache();
    c.set('h1', key, c.ticket());
    now = 999;
    expect(c.get('h1')).toEqual(key);
    now = 1_000;
    expect(c.get('h1')).toBeNull();
  });

  it('keeps nothing from a lookup that a revocation overtook (the revoked key stays out)', () => {
    const c = cache();
    const ticket = c.ticket(); // lookup starts: the database still says live
    c.revoke('k1'); // the revocation arrives before the lookup's answer
    c.set('h1', key, ticket);
    expect(c.get('h1')).toBeNull();
    c.set('h1', key, c.ticket()); // a later lookup is kept
    expect(c.get('h1')).toEqual(key);
  });

  it('drops a revoked key by its id', () => {
    const c = cache();
    c.set('h1', key, c.ticket());
    c.set('h2', { keyId: 'k2', tenantId: 't1' }, c.ticket());
    c.revoke('k1');
    expect(c.get('h1')).toBeNull();
    expect(c.get('h2')).not.toBeNull();
  });

  it('trusts nothing while the subscription is down, nor anything cached before it dropped', () => {
    const c = cache();
    c.set('h1', key, c.ticket());
    sub = { live: false, epoch: 2 };
    expect(c.get('h1')).toBeNull();
    c.set('h1', key, c.ticket()); // not kept while down
    sub = { live: true, epoch: 3 };
    expect(c.get('h1')).toBeNull();
    const ticket = c.ticket();
    sub = { live: true, epoch: 4 }; // dropped and back during the lookup
    c.set('h1', key, ticket);
    expect(c.get('h1')).toBeNull();
  });

  it('caches nothing with a TTL of 0 or without a subscription, and holds at most maxEntries', () => {
    const off = cache(0);
    off.set('h1', key, off.ticket());
    expect(off.get('h1')).toBeNull();
    const none = new ApiKeyCache(
      1_000,
      10,
      () => now,
      () => null,
    );
    none.set('h1', key, none.ticket());
    expect(none.get('h1')).toBeNull();
    const small = cache(1_000, 2);
    for (const h of ['a', 'b', 'c']) small.set(h, key, small.ticket());
    expect(small.size).toBe(2);
    expect(small.get('a')).toBeNull();
    expect(small.get('c')).toEqual(key);
  });
});
