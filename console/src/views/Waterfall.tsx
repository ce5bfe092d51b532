import type { Run, Step } from '../../../client/index.js';
import { StatusBadge, StepFlags } from '../components/Badges.js';
import { between, formatDuration } from '../format.js';

interface Segment {
  start: number;
  length: number;
}

/** Where a step sits on the run's time axis: the wait before it (queue, handoff, retry backoff) and its execution. */
export function layoutSteps(run: Run, steps: Step[], now: number) {
  const origin = Date.parse(run.created_at);
  const lastFinish = Math.max(
    ...steps.map((s) => (s.finished_at ? Date.parse(s.finished_at) : 0)),
    run.finished_at ? Date.parse(run.finished_at) : 0,
  );
  const end = Math.max(run.finished_at ? Date.parse(run.finished_at) : now, lastFinish, origin + 1);
  const span = end - origin;
  const pct = (ms: number) => (ms / span) * 100;
  const queue: Segment | null = run.started_at ? { start: 0, length: pct(Date.parse(run.started_at) - origin) } : null;
  let previousEnd = run.started_at ? Date.parse(run.started_at) : origin;
  const rows = steps.map((step) => {
    if (!step.started_at) return { step, wait: null, exec: null };
    const started = Date.parse(step.started_at);
    const finished = step.finished_at ? Date.parse(step.finished_at) : step.status === 'running' ? now : started + (step.duration_ms ?? 0);
    const wait = started > previousEnd ? { start: pct(previousEnd - origin), length: pct(started - previousEnd) } : null;
    previousEnd = Math.max(previousEnd, finished);
    return { step, wait, exec: { start: pct(started - origin), length: pct(finished - started) } };
  });
  return { span, queue, rows };
}

function Bar({ segment, kind, label }: { segment: Segment; kind: string; label: string }) {
  return <span className={`wf-bar ${kind}`} style={{ left: `${segment.start}%`, width: `${segment.length}%` }} title={label} />;
}

/** The run as a waterfall: queue wait, then each step's wait and execution, with its attempts and how it got its output. */
export function Waterfall({
  run,
  steps,
  asOf,
  selected,
  onSelect,
}: {
  run: Run;
  steps: Step[];
  /** When the trace was read: the end of a running step's bar. */
  asOf: number;
  selected: number | null;
  onSelect: (index: number) => void;
}) {
  const { span, queue, rows } = layoutSteps(run, steps, asOf);
  const queued = between(run.created_at, run.started_at);
  return (
    <section aria-labelledby="timeline-title" className="timeline">
      <div className="section-head">
        <h2 id="timeline-title">Timeline</h2>
        <p className="legend" aria-hidden="true">
          <span className="key queue" /> queue wait <span className="key wait" /> wait between steps <span className="key exec" /> execution
        </p>
      </div>
      <p className="visually-hidden">Total {formatDuration(span)}. Select a step to see its params, output and hashes.</p>
      <ol className="waterfall">
        <li className="wf-row wf-static">
          <span className="wf-label">
            <span className="wf-name">queued</span>
            <span className="wf-skill">until a worker took the run</span>
          </span>
          <span className="wf-track">{queue && <Bar segment={queue} kind="queue" label={`queued ${formatDuration(queued)}`} />}</span>
          <span className="wf-time">{formatDuration(queued)}</span>
        </li>
        {rows.map(({ step, wait, exec }) => (
          <li key={step.index}>
            <button
              type="button"
              className={`wf-row${selected === step.index ? ' selected' : ''}`}
              aria-pressed={selected === step.index}
              onClick={() => onSelect(step.index)}
            >
              <span className="wf-label">
                <span className="wf-name">
                  #{step.index} {step.name}
                </span>
                <span className="wf-skill">
                  {step.skill}
                  {step.attempts > 1 ? ` · ${step.attempts} attempts` : ''}
                </span>
              </span>
              <span className="wf-track" aria-hidden="true">
                {wait && <Bar segment={wait} kind="wait" label="wait" />}
                {exec && <Bar segment={exec} kind={`exec status-${step.status}`} label={step.status} />}
              </span>
              <span className="wf-time">
                <StatusBadge status={step.status} /> {formatDuration(step.duration_ms)}
              </span>
              <span className="wf-flags">
                <StepFlags step={step} />
              </span>
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
