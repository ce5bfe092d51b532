import type { Redis } from 'ioredis';
import type { ClaimResult, CompleteResult, StepIdempotencyStore, StoredStepResult } from './step-idempotency-store.port.js';

// KEYS[1] = result key, KEYS[2] = claim key. Each script runs atomically in Redis.
const CLAIM = `
local r = redis.call('GET', KEYS[1])
if r then return {'completed', r} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'claimed'} end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return {'claimed'}
end
return {'busy'}`;

const COMPLETE = `
local r = redis.call('GET', KEYS[1])
if r then return {'standing', r} end
local c = redis.call('GET', KEYS[2])
if c and c ~= ARGV[1] then return {'lost'} end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('DEL', KEYS[2])
return {'stored'}`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type ScriptReply = [string, string?];

/**
 * Redis store. Keys are hash-tagged by tenant (`{tenant}`) so a tenant's result and claim keys live in
 * one Redis Cluster slot and the scripts stay single-slot. Result and claim keys use distinct
 * prefixes, so no user key can name another key's claim.
 */
export class RedisStepIdempotencyStore implements StepIdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private resultKey(tenantId: string, key: string): string {
    return `${this.prefix}:step-result:{${tenantId}}:${key}`;
  }

  private claimKey(tenantId: string, key: string): string {
    return `${this.prefix}:step-claim:{${tenantId}}:${key}`;
  }

  async get(tenantId: string, key: string): Promise<StoredStepResult | null> {
    const raw = await this.redis.get(this.resultKey(tenantId, key));
    return raw ? (JSON.parse(raw) as StoredStepResult) : null;
  }

  async set(tenantId: string, key: string, result: StoredStepResult, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.resultKey(tenantId, key), JSON.stringify(result), 'EX', ttlSeconds);
  }

  async delete(tenantId: string, key: string): Promise<void> {
    await this.redis.del(this.resultKey(tenantId, key), this.claimKey(tenantId, key));
  }

  async claim(tenantId: string, key: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const [status, raw] = (await this.redis.eval(
      CLAIM,
      2,
      this.resultKey(tenantId, key),
      this.claimKey(tenantId, key),
      owner,
      leaseMs,
    )) as ScriptReply;
    if (status === 'completed') return { status, result: JSON.parse(raw!) as StoredStepResult };
    return status === 'claimed' ? { status: 'claimed' } : { status: 'busy' };
  }

  async renew(tenantId: string, key: string, owner: string, leaseMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.claimKey(tenantId, key), owner, leaseMs)) === 1;
  }

  async complete(tenantId: string, key: string, owner: string, result: StoredStepResult, ttlSeconds: number): Promise<CompleteResult> {
    const [status, raw] = (await this.redis.eval(
      COMPLETE,
      2,
      this.resultKey(tenantId, key),
      this.claimKey(tenantId, key),
      owner,
      JSON.stringify(result),
      ttlSeconds,
    )) as ScriptReply;
    if (status === 'stored') return { stored: true };
    return { stored: false, standing: status === 'standing' ? (JSON.parse(raw!) as StoredStepResult) : null };
  }

  async release(tenantId: string, key: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.claimKey(tenantId, key), owner);
  }
}
