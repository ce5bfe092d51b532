import { type FormEvent, useEffect, useState } from 'react';
import { isActive, useRuns } from '../api.js';
import { StatusBadge, VerdictBadge } from '../components/Badges.js';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { between, formatAgo, formatDuration, formatTime, shortId } from '../format.js';
import { href, navigate } from '../router.js';

const STATUSES = ['queued', 'running', 'retry', 'waiting', 'succeeded', 'failed', 'cancelled'];

/** Cursor of the page before each page seen in this tab, so "Newer" can go back. */
const previousCursor = new Map<string, string | null>();

export function RunsList({ query }: { query: URLSearchParams }) {
  const filters = { agent_id: query.get('agent_id') ?? '', status: query.get('status') ?? '' };
  const cursor = query.get('cursor') ?? undefined;
  const runs = useRuns({ agent_id: filters.agent_id || undefined, status: filters.status || undefined, cursor });

  useEffect(() => {
    document.title = 'Runs · agent-runs console';
  }, []);
  const filtered = Boolean(filters.agent_id || filters.status);
  const page = runs.data;
  const live = page?.data.some((run) => isActive(run.status));

  return (
    <section aria-labelledby="runs-title">
      <div className="view-head">
        <h1 id="runs-title">Runs</h1>
        <p className="live" aria-live="polite">
          {runs.isFetching ? 'Refreshing…' : live ? 'Live: refreshing while runs are active' : 'Up to date'}
        </p>
      </div>
      <FilterForm key={`${filters.agent_id}|${filters.status}`} initial={filters} onRefresh={() => void runs.refetch()} />

      {runs.error && <ErrorState error={runs.error} what="run list" onRetry={() => void runs.refetch()} />}
      {runs.isPending && <Loading what="runs" />}
      {page && page.data.length === 0 && !cursor && (
        <Empty title={filtered ? 'No runs match these filters.' : 'No runs yet for this tenant.'}>
          {filtered ? (
            <p>
              <a href={href('/runs')}>Clear the filters</a> to see every run.
            </p>
          ) : (
            <>
              <p>Submit one with the API key you signed in with; it appears here within seconds:</p>
              <pre className="snippet">
                <code>{`curl -s ${window.location.origin}/v1/agents/support-bot/runs \\
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
  -d '{"steps":[{"name":"double","skill":"transform","params":{"expression":"21 * 2"}}]}'`}</code>
              </pre>
            </>
          )}
        </Empty>
      )}
      {page && page.data.length > 0 && (
        <table className="runs">
          <caption className="visually-hidden">Runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Run</th>
              <th scope="col">Agent</th>
              <th scope="col">Created</th>
              <th scope="col" className="wide-only">
                Duration
              </th>
              <th scope="col" className="wide-only">
                Replay
              </th>
            </tr>
          </thead>
          <tbody>
            {page.data.map((run) => (
              <tr key={run.id}>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>
                  <a href={href(`/runs/${run.id}`)} aria-label={`Run ${run.id}`}>
                    <code>{shortId(run.id)}</code>
                  </a>
                </td>
                <td className="agent">{run.agent_id}</td>
                <td>
                  <time dateTime={run.created_at} title={formatTime(run.created_at)}>
                    {formatAgo(run.created_at)}
                  </time>
                </td>
                <td className="wide-only">{formatDuration(between(run.created_at, run.finished_at))}</td>
                <td className="wide-only">
                  {run.replay_of ? (
                    <>
                      <a href={href(`/runs/${run.id}/diff`)}>diff</a> <VerdictBadge verdict={run.replay?.verdict} />
                    </>
                  ) : (
                    ''
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && (cursor || page.next_cursor) && (
        <nav className="pager" aria-label="Pages of runs">
          {cursor ? (
            <a className="button" href={href('/runs', { ...filters, cursor: previousCursor.get(cursor) ?? undefined })}>
              ← Newer
            </a>
          ) : (
            <span />
          )}
          {page.next_cursor && (
            <a
              className="button"
              href={href('/runs', { ...filters, cursor: page.next_cursor })}
              onClick={() => previousCursor.set(page.next_cursor!, cursor ?? null)}
            >
              Older →
            </a>
          )}
        </nav>
      )}
    </section>
  );
}

/** The filter form; it is keyed by the URL's filters, so a link or Back resets what it shows. */
function FilterForm({ initial, onRefresh }: { initial: { agent_id: string; status: string }; onRefresh: () => void }) {
  const [agent, setAgent] = useState(initial.agent_id);
  const [status, setStatus] = useState(initial.status);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    navigate(href('/runs', { agent_id: agent.trim(), status }));
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Filter runs">
      <div className="field">
        <label htmlFor="filter-agent">Agent</label>
        <input id="filter-agent" value={agent} onChange={(e) => setAgent(e.target.value)} placeholder="any agent" maxLength={128} />
      </div>
      <div className="field">
        <label htmlFor="filter-status">Status</label>
        <select id="filter-status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div className="field actions">
        <button type="submit" className="primary">
          Apply
        </button>
        {(initial.agent_id || initial.status) && (
          <a className="button" href={href('/runs')}>
            Clear filters
          </a>
        )}
        <button type="button" onClick={onRefresh}>
          Refresh
        </button>
      </div>
    </form>
  );
}
