import { useEffect } from 'react';
import type { Step } from '../../../client/index.js';
import { isActive, useRun, useTrace } from '../api.js';
import { StatusBadge, StepFlags, VerdictBadge } from '../components/Badges.js';
import { JsonDiff } from '../components/JsonDiff.js';
import { JsonTree } from '../components/JsonTree.js';
import { Empty, ErrorState, Loading } from '../components/States.js';
import { shortHash, shortId } from '../format.js';
import { href, navigate } from '../router.js';

type PairVerdict = 'mismatch' | 'match' | 'not compared' | 'pending' | 'cancelled' | 'failed';

export function pairVerdict(step: Step | undefined): PairVerdict {
  if (!step || step.status === 'pending' || step.status === 'running') return 'pending';
  if (step.mismatch) return 'mismatch';
  if (step.status === 'cancelled') return 'cancelled';
  if (step.status === 'failed') return 'failed';
  return step.checked ? 'match' : 'not compared';
}

function Pair({ original, replay, pinned = false }: { original: Step | undefined; replay: Step | undefined; pinned?: boolean }) {
  const verdict = pairVerdict(replay);
  const index = replay?.index ?? original?.index ?? 0;
  const name = replay?.name ?? original?.name ?? '';
  const headingId = `${pinned ? 'pinned' : 'pair'}-${index}`;
  return (
    <article className={`pair verdict-row-${verdict.replace(' ', '-')}${pinned ? ' pinned' : ''}`} aria-labelledby={headingId}>
      <header className="pair-head">
        <h3 id={headingId}>
          {pinned ? 'First divergence: ' : ''}#{index} {name}
        </h3>
        <span className={`badge verdict-${verdict.replace(' ', '-')}`}>{verdict}</span>
      </header>
      <div className="pair-sides">
        <div className="side">
          <h4>Original</h4>
          {original ? (
            <p>
              <StatusBadge status={original.status} />{' '}
              <code className="hash" title={original.output_hash ?? ''}>
                {shortHash(original.output_hash)}
              </code>
            </p>
          ) : (
            <p className="muted">No such step in the original.</p>
          )}
        </div>
        <div className="side">
          <h4>Replay</h4>
          {replay ? (
            <p>
              <StatusBadge status={replay.status} /> <StepFlags step={replay} />{' '}
              <code className="hash" title={replay.output_hash ?? ''}>
                {shortHash(replay.output_hash)}
              </code>
            </p>
          ) : (
            <p className="muted">Not reached.</p>
          )}
        </div>
      </div>
      {replay?.checked && replay.status !== 'pending' && replay.status !== 'running' && original && (
        <JsonDiff
          original={original.output}
          actual={replay.output}
          patch={replay.mismatch ? replay.mismatch.diff : null}
          ignoredPaths={replay.comparison?.ignored_paths}
        />
      )}
      {verdict === 'not compared' && replay && (
        <details>
          <summary>Outputs (this step was {replay.skipped ? 'skipped' : 'executed'}, not checked)</summary>
          <JsonTree value={replay.output} label={`Replay output of step ${index}`} />
        </details>
      )}
      {replay?.error && (
        <p className="muted">
          {replay.error.type}: {replay.error.message}
        </p>
      )}
    </article>
  );
}

/** A replay run against its original: steps paired, match or mismatch each, the first divergence on top. */
export function ReplayDiff({ id, query }: { id: string; query: URLSearchParams }) {
  const run = useRun(id);
  const live = run.data ? isActive(run.data.status) : true;
  const replayTrace = useTrace(id, run.data?.status);
  const originalTrace = useTrace(run.data?.replay_of, 'finished'); // an original is finished: read once
  const mismatchesOnly = query.get('only') === 'mismatches';

  useEffect(() => {
    document.title = `Replay diff ${shortId(id)} · agent-runs console`;
  }, [id]);

  if (run.error) return <ErrorState error={run.error} what="run" onRetry={() => void run.refetch()} />;
  if (!run.data) return <Loading what="replay" />;
  const r = run.data;
  if (!r.replay_of) {
    return (
      <Empty title="This run is not a replay.">
        <p>
          Open <a href={href(`/runs/${r.id}`, { replay: 1 })}>the run</a> and replay it to compare.
        </p>
      </Empty>
    );
  }
  const error = replayTrace.error ?? originalTrace.error;
  const replaySteps = replayTrace.data?.steps ?? [];
  const originalSteps = originalTrace.data?.steps ?? [];
  const count = Math.max(replaySteps.length, originalSteps.length);
  const pairs = Array.from({ length: count }, (_, i) => ({ original: originalSteps[i], replay: replaySteps[i] }));
  const firstDivergence = pairs.find((p) => p.replay?.mismatch);
  const shown = mismatchesOnly ? pairs.filter((p) => p.replay?.mismatch) : pairs;
  const summary = r.replay?.summary;

  return (
    <article aria-labelledby="diff-title" className="replay-diff">
      <nav className="crumbs" aria-label="Breadcrumb">
        <a href={href('/runs')}>Runs</a> / <a href={href(`/runs/${r.replay_of}`)}>{shortId(r.replay_of)}</a> /{' '}
        <a href={href(`/runs/${r.id}`)}>{shortId(r.id)}</a> / <span aria-current="page">diff</span>
      </nav>
      <div className="view-head">
        <h1 id="diff-title">
          Replay diff <StatusBadge status={r.status} /> <VerdictBadge verdict={r.replay?.verdict} />
        </h1>
        <p className="live" aria-live="polite">
          {live ? 'Replaying: refreshing until it finishes' : ''}
        </p>
      </div>
      <p>
        Replay <a href={href(`/runs/${r.id}`)}>{shortId(r.id)}</a> of original{' '}
        <a href={href(`/runs/${r.replay_of}`)}>{shortId(r.replay_of)}</a>.{r.error ? ` ${r.error.type}: ${r.error.message}` : ''}
      </p>
      {summary && (
        <ul className="summary" aria-label="Replay summary">
          <li>
            <strong>{summary.executed}</strong> executed
          </li>
          <li>
            <strong>{summary.skipped}</strong> skipped
          </li>
          <li>
            <strong>{summary.checked}</strong> checked
          </li>
          <li>
            <strong>{summary.from_cache}</strong> from cache
          </li>
          <li className={summary.mismatches > 0 ? 'bad' : ''}>
            <strong>{summary.mismatches}</strong> mismatch{summary.mismatches === 1 ? '' : 'es'}
          </li>
        </ul>
      )}
      {error && <ErrorState error={error} what="trace" />}
      {(!replayTrace.data || !originalTrace.data) && !error && <Loading what="traces" />}
      {replayTrace.data && originalTrace.data && (
        <>
          {firstDivergence ? (
            <Pair original={firstDivergence.original} replay={firstDivergence.replay} pinned />
          ) : (
            !live && <p className="state empty">No step diverged: every checked step matched.</p>
          )}
          <div className="section-head">
            <h2>Steps, original and replay</h2>
            <label className="inline-check">
              <input
                type="checkbox"
                checked={mismatchesOnly}
                onChange={(e) =>
                  navigate(href(`/runs/${r.id}/diff`, { only: e.target.checked ? 'mismatches' : undefined }), { replace: true })
                }
              />{' '}
              Mismatches only
            </label>
          </div>
          {shown.length === 0 && <p className="state empty">No mismatches.</p>}
          {shown.map((p, i) => (
            <Pair key={p.replay?.index ?? p.original?.index ?? i} original={p.original} replay={p.replay} />
          ))}
        </>
      )}
    </article>
  );
}
