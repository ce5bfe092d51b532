import type { Clock } from '../../../infra/clock.js';
import type { ClaimResult, CompleteResult, StepIdempotencyStore, StoredStepResult } from './step-idempotency-store.port.js';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/** In-process store of the embedded mode: one process, so a Map is atomic enough. Lost on restart. */
export class MemoryStepIdempotencyStore implements StepIdempotencyStore {
  private readonly results = new Map<string, Expiring<StoredStepResult>>();
  private readonly claims = new Map<string, Expiring<string>>();

  constructor(private readonly clock: Clock) {}

  private id(tenantId: string, key: string): string {
    return `${tenantId}\u0000${key}`;
  }

  private live<T>(map: Map<string, Expiring<T>>, id: string): T | null {
    const entry = map.get(id);
    if (!entry) return null;
    if (entry.expiresAt <= this.clock.now().getTime()) {
      map.delete(id);
      return null;
    }
    return entry.value;
  }

  async get(tenantId: string, key: string): Promise<StoredStepResult | null> {
    return structuredClone(this.live(this.results, this.id(tenantId, key)));
  }

  async set(tenantId: string, key: string, result: StoredStepResult, ttlSeconds: number): Promise<void> {
    this.results.set(this.id(tenantId, key), { value: structuredClone(result), expiresAt: this.clock.now().getTime() + ttlSeconds * 1000 });
  }

  async delete(tenantId: string, key: string): Promise<void> {
    this.results.delete(this.id(tenantId, key));
    this.claims.delete(this.id(tenantId, key));
  }

  async claim(tenantId: string, key: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const id = this.id(tenantId, key);
    const result = this.live(this.results, id);
    if (result) return { status: 'completed', result: structuredClone(result) };
    const holder = this.live(this.claims, id);
    if (holder !== null && holder !== owner) return { status: 'busy' };
    this.claims.set(id, { value: owner, expiresAt: this.clock.now().getTime() + leaseMs });
    return { status: 'claimed' };
  }

  async renew(tenantId: string, key: string, owner: string, leaseMs: number): Promise<boolean> {
    const id = this.id(tenantId, key);
    if (this.live(this.claims, id) !== owner) return false;
    this.claims.set(id, { value: owner, expiresAt: this.clock.now().getTime() + leaseMs });
    return true;
  }

  async complete(tenantId: string, key: string, owner: string, result: StoredStepResult, ttlSeconds: number): Promise<CompleteResult> {
    const id = this.id(tenantId, key);
    const existing = this.live(this.results, id);
    if (existing) return { stored: false, standing: structuredClone(existing) };
    const holder = this.live(this.claims, id);
    if (holder !== null && holder !== owner) return { stored: false, standing: null };
    this.claims.delete(id);
    await this.set(tenantId, key, result, ttlSeconds);
    return { stored: true };
  }

  async release(tenantId: string, key: string, owner: string): Promise<void> {
    const id = this.id(tenantId, key);
    if (this.live(this.claims, id) === owner) this.claims.delete(id);
  }
}
