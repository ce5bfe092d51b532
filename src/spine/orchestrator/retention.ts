const DAY_MS = 86_400_000;

/**
 * A run may not be replayed once it is within this much of its purge: a replay created just before its
 * original is purged would find no recorded outputs to skip with. An hour covers any request in flight
 * and the clock differences between processes.
 */
export const REPLAY_BEFORE_PURGE_MARGIN_MS = 3_600_000;

/** Runs that finished before this instant are purged (RUN_RETENTION_DAYS); null when retention is off. */
export function purgeCutoff(now: Date, retentionDays: number): Date | null {
  return retentionDays > 0 ? new Date(now.getTime() - retentionDays * DAY_MS) : null;
}

/** True when a run that finished at `finishedAt` is too close to its purge to be replayed. */
export function tooCloseToPurge(finishedAt: Date | null, now: Date, retentionDays: number): boolean {
  const cutoff = purgeCutoff(now, retentionDays);
  return cutoff !== null && finishedAt !== null && finishedAt.getTime() < cutoff.getTime() + REPLAY_BEFORE_PURGE_MARGIN_MS;
}
