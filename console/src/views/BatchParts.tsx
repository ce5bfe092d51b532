import type { ReplayBatch } from '../../../client/index.js';

export const VERDICTS = ['match', 'mismatch', 'failed', 'pending', 'cancelled'] as const;

/** Done items of a batch (everything but pending) over its total, as a native progress bar. */
export function BatchProgress({ batch, label }: { batch: ReplayBatch; label: string }) {
  const done = batch.total - batch.counts.pending;
  return (
    <span className="batch-progress">
      <progress max={Math.max(batch.total, 1)} value={batch.total === 0 ? 1 : done} aria-label={label} />
      <span>
        {done} of {batch.total} done
      </span>
    </span>
  );
}

export function NotServed() {
  return (
    <div className="state empty" role="note">
      <p className="state-title">This server does not serve replay batches yet.</p>
      <p>
        <code>GET /v1/replays</code> answered 404. Replay runs one at a time from a run&apos;s page; batches appear here once the service
        offers them.
      </p>
    </div>
  );
}
