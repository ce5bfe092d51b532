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
 * KEYS[1]: the tenant's backlog (sorted set: job id -> when it joined, ms). ARGV: job id, now (ms),
 * max age (ms), '1' when the job joins the backlog ('0': a timer job, ranked but not counted).
 * Returns the job's rank in the backlog, from 1: a new member is last; a member already there (the
 * sweep adds a job that exists) keeps its place.
 */
const RANK_SCRIPT = `
local now = tonumber(ARGV[2])
local maxAge = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - maxAge))
if ARGV[4] ~= '1' then
  return redis.call('ZCARD', KEYS[1]) + 1
end
local added = redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], maxAge)
if added == 1 then
  return redis.call('ZCARD', KEYS[1])
end
return redis.call('ZRANK', KEYS[1], ARGV[1]) + 1
`;

const LEAVE_SCRIPT = `return redis.call('ZREM', KEYS[1], ARGV[1])`;

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

  key(tenantId: string): string {
    return `${this.keyPrefix}:backlog:${tenantId}`;
  }

  /**
   * The job's BullMQ priority: its rank in its tenant's backlog (1 = first), clamped to MAX_PRIORITY.
   * `joins` false (a timer due later) ranks the job after the tenant's backlog without counting it.
   */
  async priority(tenantId: string, jobId: string, joins: boolean): Promise<number> {
    const client = await this.withScripts();
    const rank: unknown = await client.runCommand(RANK, [this.key(tenantId), jobId, Date.now(), BACKLOG_MAX_AGE_MS, joins ? '1' : '0']);
    return Math.min(Math.max(1, Number(rank)), MAX_PRIORITY);
  }

  /** The job finished (completed, or failed for good): it no longer counts. */
  async leave(tenantId: string, jobId: string): Promise<void> {
    await (await this.withScripts()).runCommand(LEAVE, [this.key(tenantId), jobId]);
  }

  private async withScripts(): Promise<RedisClient> {
    const client = await this.client();
    if (!defined.has(client)) {
      client.defineCommand(RANK, { numberOfKeys: 1, lua: RANK_SCRIPT });
      client.defineCommand(LEAVE, { numberOfKeys: 1, lua: LEAVE_SCRIPT });
      defined.add(client);
    }
    return client;
  }
}
