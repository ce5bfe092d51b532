import { useEffect } from 'react';
import type { BatchVerdict } from '../../../client/index.js';
import { useBatch, useBatchItems, useCancelBatch } from '../api.js';
import { StatusBadge, VerdictBadge } from '../components/Badges.js';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { formatTime, shortId } from '../format.js';
import { href, navigate } from '../router.js';
import { BatchProgress, VERDICTS } from './BatchParts.js';

export function BatchView({ id, query }: { id: string; query: URLSearchParams }) {
  const verdictParam = query.get('verdict');
  const verdict = (VERDICTS as readonly string[]).includes(verdictParam ?? '') ? (verdictParam as BatchVerdict) : undefined;
  const cursor = query.get('cursor') ?? undefined;
  const batch = useBatch(id);
  const running = batch.data?.status === 'running';
  const items = useBatchItems(id, verdict, cursor, running);
  const cancel = useCancelBatch(id);

  useEffect(() => {
    document.title = `Batch ${shortId(id)} · agent-runs console`;
  }, [id]);

  if (batch.error) return <ErrorState error={batch.error} what="replay batch" onRetry={() => void batch.refetch()} />;
  if (!batch.data) return <Loading what="replay batch" />;
  const b = batch.data;
  const filterTo = (v: string) => navigate(href(`/batches/${id}`, { verdict: v || undefined }), { replace: true });

  return (
    <article aria-labelledby="batch-title">
      <nav className="crumbs" aria-label="Breadcrumb">
        <a href={href('/batches')}>Replay batches</a> / <span aria-current="page">{shortId(b.id)}</span>
      </nav>
      <div className="view-head">
        <h1 id="batch-title">
          Batch <code>{shortId(b.id)}</code> <StatusBadge status={b.status} />
        </h1>
        {running && (
          <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
            {cancel.isPending ? 'Cancelling…' : 'Cancel batch'}
          </button>
        )}
      </div>
      {cancel.error && <ErrorState error={cancel.error} what="replay batch" />}
      <BatchProgress batch={b} label="Batch progress" />
      <ul className="summary" aria-label="Items by verdict">
        {VERDICTS.map((v) => (
          <li key={v} className={v === 'mismatch' && b.counts.mismatch > 0 ? 'bad' : ''}>
            <button type="button" className="link-button" aria-pressed={verdict === v} onClick={() => filterTo(verdict === v ? '' : v)}>
              <strong>{b.counts[v]}</strong> {v}
            </button>
          </li>
        ))}
      </ul>
      <p className="muted">
        Created {formatTime(b.created_at)}
        {b.finished_at ? `, finished ${formatTime(b.finished_at)}` : ''}. {b.total} run{b.total === 1 ? '' : 's'} matched the filter.
      </p>
      <div className="filters">
        <div className="field">
          <label htmlFor="verdict-filter">Verdict</label>
          <select id="verdict-filter" value={verdict ?? ''} onChange={(e) => filterTo(e.target.value)}>
            <option value="">all items</option>
            {VERDICTS.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </div>
      </div>
      {items.error && <ErrorState error={items.error} what="batch items" onRetry={() => void items.refetch()} />}
      {items.isPending && <Loading what="items" />}
      {items.data && items.data.data.length === 0 && <Empty title={verdict ? `No ${verdict} items.` : 'No items.'} />}
      {items.data && items.data.data.length > 0 && (
        <table className="items">
          <thead>
            <tr>
              <th scope="col">Verdict</th>
              <th scope="col">Original run</th>
              <th scope="col">Replay</th>
              <th scope="col" className="wide-only">
                First mismatch
              </th>
              <th scope="col" className="wide-only">
                Reason
              </th>
            </tr>
          </thead>
          <tbody>
            {items.data.data.map((item) => (
              <tr key={item.run_id}>
                <td>
                  <VerdictBadge verdict={item.verdict} />
                </td>
                <td>
                  <a href={href(`/runs/${item.run_id}`)}>
                    <code>{shortId(item.run_id)}</code>
                  </a>
                </td>
                <td>
                  {item.replay_run_id ? (
                    <a
                      href={href(`/runs/${item.replay_run_id}/diff`)}
                      aria-label={`diff ${shortId(item.replay_run_id)}: the replay of run ${shortId(item.run_id)}`}
                    >
                      diff <code>{shortId(item.replay_run_id)}</code>
                    </a>
                  ) : (
                    <span className="muted">not started</span>
                  )}
                </td>
                <td className="wide-only">{item.first_mismatch_step ?? '—'}</td>
                <td className="wide-only">{item.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {items.data?.next_cursor && (
        <nav className="pager" aria-label="Pages of items">
          <span />
          <a className="button" href={href(`/batches/${id}`, { verdict, cursor: items.data.next_cursor })}>
            More →
          </a>
        </nav>
      )}
    </article>
  );
}
