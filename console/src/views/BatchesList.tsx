import { useEffect } from 'react';
import { useBatches } from '../api.js';
import { StatusBadge } from '../components/Badges.js';
import { Empty, ErrorState, Loading, isNotServed } from '../components/States.js';
import { formatAgo, formatTime, shortId } from '../format.js';
import { href } from '../router.js';
import { BatchProgress, NotServed } from './BatchParts.js';

export function BatchesList({ query }: { query: URLSearchParams }) {
  const cursor = query.get('cursor') ?? undefined;
  const batches = useBatches(cursor);
  useEffect(() => {
    document.title = 'Replay batches · agent-runs console';
  }, []);
  const notServed = isNotServed(batches.error);
  return (
    <section aria-labelledby="batches-title">
      <div className="view-head">
        <h1 id="batches-title">Replay batches</h1>
        {!notServed && (
          <a className="button primary" href={href('/batches/new')}>
            New batch
          </a>
        )}
      </div>
      <p className="help">A batch replays many finished runs with the same options and reports, per run, whether the replay matched.</p>
      {notServed && <NotServed />}
      {batches.error && !notServed && <ErrorState error={batches.error} what="batch list" onRetry={() => void batches.refetch()} />}
      {batches.isPending && <Loading what="batches" />}
      {batches.data && batches.data.data.length === 0 && (
        <Empty title="No replay batches yet.">
          <p>
            <a href={href('/batches/new')}>Start one</a>: pick runs by agent, status and time, and how to replay them.
          </p>
        </Empty>
      )}
      {batches.data && batches.data.data.length > 0 && (
        <table className="batches">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Batch</th>
              <th scope="col">Progress</th>
              <th scope="col" className="wide-only">
                Mismatches
              </th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {batches.data.data.map((batch) => (
              <tr key={batch.id}>
                <td>
                  <StatusBadge status={batch.status} />
                </td>
                <td>
                  <a href={href(`/batches/${batch.id}`)} aria-label={`Batch ${batch.id}`}>
                    <code>{shortId(batch.id)}</code>
                  </a>
                </td>
                <td>
                  <BatchProgress batch={batch} label={`Progress of batch ${shortId(batch.id)}`} />
                </td>
                <td className="wide-only">{batch.counts.mismatch}</td>
                <td>
                  <time dateTime={batch.created_at} title={formatTime(batch.created_at)}>
                    {formatAgo(batch.created_at)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {batches.data?.next_cursor && (
        <nav className="pager" aria-label="Pages of batches">
          <span />
          <a className="button" href={href('/batches', { cursor: batches.data.next_cursor })}>
            Older →
          </a>
        </nav>
      )}
    </section>
  );
}
