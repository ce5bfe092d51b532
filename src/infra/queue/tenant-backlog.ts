import type { RedisClient } from 'bullmq';

/** BullMQ's largest job priority (2^21 - 1): a rank beyond it shares the last place. */
export const MAX_PRIORITY = 2 ** 21 - 1;

/**
 * How long a job counts in its tenant's backlog at most. A job whose end was never seen (its worker
 * died between completing it and leaving the backlog, a Redis that lost the job but not the set)
 * stops counting after this; a real backlog older than this is a capacity problem, not a fairness one.
 */
export const BACKLOG_MAX_AGE_MS = 60 * 60_000;

/**
 * KEYS[1]: the tenant's backlog (sorted set: job id -> the priority it was given); KEYS[2]: when each
 * member joined (sorted set: job id -> ms), for the ageing. ARGV: job id, now (ms), max age (ms), '1'
 * when the job joins the backlog ('0': a timer job, ranked but not counted), MAX_PRIORITY.
 * A new job's priority is the larger of its rank (the backlog's size with it) and the tenant's highest
 * pending priority: a tenant's priorities never go down while it has jobs pending, so a new job never
 * goes ahead of the tenant's older ones (BullMQ takes equal priorities in the order they were added),
 * while another tenant's k-th job still goes before this tenant's (k+1)-th. A member already there
 * (the sweep adds a job that exists) keeps the priority it was given.
 */
const RANK_SCRIPT = `
local now = tonumber(ARGV[2])
local maxAge = tonumber(ARGV[3])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - maxAge), 'LIMIT', 0, 1000)
if #stale > 0 then
  redis.call('ZREM', KEYS[1], unpack(stale))
  redis.call('ZREM', KEYS[2], unpack(stale))
end
local given = redis.call('ZSCORE', KEYS[1], ARGV[1])
if given then
  return tonumber(given)
end
local priority = redis.call('ZCARD', KEYS[1]) + 1
local highest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if highest[2] and tonumber(highest[2]) > priority then
  priority = tonumber(highest[2])
end
priority = math.min(priority, tonumber(ARGV[5]))
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], priority, ARGV[1])
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], maxAge)
  redis.call('PEXPIRE', KEYS[2], maxAge)
end
return priority
`;

const LEAVE_SCRIPT = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
`;

const RANK = 'agentrunsBacklogRank';
const LEAVE = 'agentrunsBacklogLeave';
const defined = new WeakSet<RedisClient>();

/**
 * Each tenant's backlog of pending jobs (added, not yet finished), kept in Redis beside the queue:
 * the source of the fair-share priority. Membership is idempotent (a sorted set of job ids, not a
 * counter), so adding a job that exists (the stranded-run sweep does) or finishing a job twice never
 * skews a count; members older than BACKLOG_MAX_AGE_MS are dropped, so a lost finish heals itself.
 */
export class TenantBacklog {
  constructor(
    private readonly client: () => Promise<RedisClient>,
    /** BullMQ's prefix and queue name: the sets live in the queue's Cluster hash slot. */
    private readonly keyPrefix: string,
  ) {}

  /** The tenant's pending jobs and their priorities (v2: scores are priorities, no longer join times). */
  key(tenantId: string): string {
    return `${this.keyPrefix}:backlog2:${tenantId}`;
  }

  /** When each of the tenant's pending jobs joined (ms), for the ageing. Same hash slot as `key`. */
  joinedKey(tenantId: string): string {
    return `${this.keyPrefix}:backlog2:${tenantId}:joined`;
  }

  /**
   * The job's BullMQ priority: its rank in its tenant's backlog (1 = first), raised to the tenant's highest
   * pending priority (never ahead of the tenant's older jobs), clamped to MAX_PRIORITY.
   * `joins` false (a timer due later) ranks the job after the tenant's backlog without counting it.
   */
  async priority(tenantId: string, jobId: string, joins: boolean): Promise<number> {
    const client = await this.withScripts();
    const rank: unknown = await client.runCommand(RANK, [
      this.key(tenantId),
      this.joinedKey(tenantId),
      jobId,
      Date.now(),
      BACKLOG_MAX_AGE_MS,
      joins ? '1' : '0',
      MAX_PRIORITY,
    ]);
    return Math.min(Math.max(1, Number(rank)), MAX_PRIORITY);
  }

  /** The job finished (completed, or failed for good): it no longer counts. */
  async leave(tenantId: string, jobId: string): Promise<void> {
    await (await this.withScripts()).runCommand(LEAVE, [this.key(tenantId), this.joinedKey(tenantId), jobId]);
  }

  private async withScripts(): Promise<RedisClient> {
    const client = await this.client();
    if (!defined.has(client)) {
      client.defineCommand(RANK, { numberOfKeys: 2, lua: RANK_SCRIPT });
      client.defineCommand(LEAVE, { numberOfKeys: 2, lua: LEAVE_SCRIPT });
      defined.add(client);
    }
    return client;
  }
}
