import type { Subscription } from '../../infra/broadcast/broadcast.port.js';

export interface CachedKey {
  keyId: string;
  tenantId: string;
}

interface Entry extends CachedKey {
  expiresAt: number;
  epoch: number;
}

/** Taken before a database lookup; the lookup's answer is cached only if nothing was invalidated meanwhile. */
export interface LookupTicket {
  epoch: number;
  invalidations: number;
}

/**
 * Live API keys by the SHA-256 of their secret (never the secret), in process. An entry is trusted
 * only while the revocation subscription that guards it is live and in the epoch it was cached in
 * (a dropped connection drops every entry at once), and for at most `ttlMs` (the backstop for a
 * process that misses a message without noticing). Unknown and revoked keys are never cached: a new
 * key works at once, everywhere.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private invalidations = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
    /** The revocation messages' subscription (null: caching off). */
    private readonly subscription: () => Subscription | null,
  ) {}

  get(keyHash: string): CachedKey | null {
    const sub = this.subscription();
    if (!sub?.live) return null;
    const entry = this.entries.get(keyHash);
    if (!entry) return null;
    if (entry.epoch !== sub.epoch || entry.expiresAt <= this.now()) {
      this.entries.delete(keyHash);
      return null;
    }
    return { keyId: entry.keyId, tenantId: entry.tenantId };
  }

  ticket(): LookupTicket {
    return { epoch: this.subscription()?.epoch ?? -1, invalidations: this.invalidations };
  }

  /** Keeps what a lookup that started at `ticket` found, unless a revocation or a lost connection came in between. */
  set(keyHash: string, key: CachedKey, ticket: LookupTicket): void {
    if (this.ttlMs <= 0) return;
    const sub = this.subscription();
    if (!sub?.live || sub.epoch !== ticket.epoch || this.invalidations !== ticket.invalidations) return;
    this.entries.delete(keyHash);
    this.entries.set(keyHash, { ...key, expiresAt: this.now() + this.ttlMs, epoch: sub.epoch });
    // Oldest first (insertion order): a bound on memory, not an LRU; evicted keys are simply looked up again.
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** A key was revoked: forget it, and keep no lookup that was in flight. */
  revoke(keyId: string): void {
    this.invalidations++;
    for (const [hash, entry] of this.entries) if (entry.keyId === keyId) this.entries.delete(hash);
  }

  get size(): number {
    return this.entries.size;
  }
}
