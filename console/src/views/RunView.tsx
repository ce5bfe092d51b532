import { useEffect } from 'react';
import { isActive, useCancelRun, useRun, useTrace } from '../api.js';
import { StatusBadge, VerdictBadge } from '../components/Badges.js';
import { JsonTree } from '../components/JsonTree.js';
import { ErrorState, Loading } from '../components/States.js';
import { between, formatDuration, formatTime, shortId } from '../format.js';
import { href, navigate } from '../router.js';
import { ReplayForm } from './ReplayForm.js';
import { StepPanel } from './StepPanel.js';
import { WaitingPanel } from './WaitingPanel.js';
import { Waterfall } from './Waterfall.js';

export function RunView({ id, query }: { id: string; query: URLSearchParams }) {
  const run = useRun(id);
  const trace = useTrace(id, run.data?.status);
  const cancel = useCancelRun(id);
  const stepParam = query.get('step');
  const selected = stepParam === null ? null : Number(stepParam);
  const replaying = query.get('replay') === '1';
  const fromStep = query.get('from_step');

  useEffect(() => {
    document.title = `Run ${shortId(id)} · agent-runs console`;
  }, [id]);

  if (run.error) return <ErrorState error={run.error} what="run" onRetry={() => void run.refetch()} />;
  if (!run.data) return <Loading what="run" />;
  const r = run.data;
  const steps = trace.data?.steps ?? [];
  const finished = r.status === 'succeeded' || r.status === 'failed';
  const step = selected !== null ? steps.find((s) => s.index === selected) : undefined;

  return (
    <article aria-labelledby="run-title">
      <nav className="crumbs" aria-label="Breadcrumb">
        <a href={href('/runs')}>Runs</a> / <span aria-current="page">{shortId(r.id)}</span>
      </nav>
      <div className="view-head">
        <h1 id="run-title">
          Run <code>{shortId(r.id)}</code> <StatusBadge status={r.status} />
        </h1>
        <div className="actions">
          {isActive(r.status) && (
            <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
              {cancel.isPending ? 'Cancelling…' : 'Cancel run'}
            </button>
          )}
          {finished && !replaying && (
            <a className="button primary" href={href(`/runs/${r.id}`, { step: selected ?? undefined, replay: 1 })}>
              Replay…
            </a>
          )}
          {r.replay_of && (
            <a className="button" href={href(`/runs/${r.id}/diff`)}>
              Replay diff
            </a>
          )}
        </div>
      </div>
      {cancel.error && <ErrorState error={cancel.error} what="run" />}
      <dl className="facts run-facts">
        <dt>Run id</dt>
        <dd>
          <code>{r.id}</code>
        </dd>
        <dt>Agent</dt>
        <dd>
          <a href={href('/runs', { agent_id: r.agent_id })}>{r.agent_id}</a>
        </dd>
        <dt>Idempotency key</dt>
        <dd>{r.idempotency_key ? <code>{r.idempotency_key}</code> : <span className="muted">none</span>}</dd>
        {r.replay_of && (
          <>
            <dt>Replay of</dt>
            <dd>
              <a href={href(`/runs/${r.replay_of}`)}>
                <code>{shortId(r.replay_of)}</code>
              </a>{' '}
              <VerdictBadge verdict={r.replay?.verdict} />
            </dd>
          </>
        )}
        <dt>Attempts</dt>
        <dd>{r.attempts}</dd>
        <dt>Created</dt>
        <dd>{formatTime(r.created_at)}</dd>
        <dt>Queue wait</dt>
        <dd>{formatDuration(between(r.created_at, r.started_at))}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(between(r.started_at, r.finished_at))}</dd>
        {r.usage && (
          <>
            <dt>Usage</dt>
            <dd>
              {r.usage.total_tokens} tokens ({r.usage.prompt_tokens} prompt, {r.usage.completion_tokens} completion)
            </dd>
          </>
        )}
      </dl>
      {r.error && (
        <div className="state error" role="note">
          <p className="state-title">
            {r.error.type}
            {r.error.step_index !== undefined ? ` at step #${r.error.step_index}` : ''}
          </p>
          <p>{r.error.message}</p>
        </div>
      )}

      {r.status === 'waiting' && r.waiting_for && <WaitingPanel run={r} waitingFor={r.waiting_for} />}

      {replaying && finished && trace.data && (
        <ReplayForm runId={r.id} steps={steps} initialFromStep={fromStep === null ? null : Number(fromStep)} />
      )}
      {replaying && !finished && <p className="state empty">Only a finished run (succeeded or failed) can be replayed.</p>}

      {trace.error && <ErrorState error={trace.error} what="trace" onRetry={() => void trace.refetch()} />}
      {!trace.data && !trace.error && <Loading what="trace" />}
      {trace.data && (
        <div className="run-body">
          <Waterfall
            run={r}
            steps={steps}
            asOf={trace.dataUpdatedAt}
            selected={selected}
            onSelect={(index) => navigate(href(`/runs/${r.id}`, { step: index, replay: replaying ? 1 : undefined }), { replace: true })}
          />
          {step ? (
            <StepPanel run={r} step={step} canReplay={finished} />
          ) : (
            <section className="step-panel placeholder" aria-label="Step details">
              <p className="muted">Select a step in the timeline to see its params, output, hashes and error.</p>
              <h3>Run input</h3>
              <JsonTree value={r.input} label="Run input" />
              <h3>Run output</h3>
              <JsonTree value={r.output} label="Run output" />
            </section>
          )}
        </div>
      )}
    </article>
  );
}
