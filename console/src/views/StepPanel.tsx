import type { ReactNode } from 'react';
import type { Run, Step } from '../../../client/index.js';
import { StatusBadge, StepFlags } from '../components/Badges.js';
import { JsonTree } from '../components/JsonTree.js';
import { formatDuration, formatTime } from '../format.js';
import { href } from '../router.js';

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </>
  );
}

const Hash = ({ value }: { value: string | null | undefined }) =>
  value ? <code className="hash">{value}</code> : <span className="muted">—</span>;

/** One step as recorded: params (redacted by the service), output, hashes, key, error; fork from it. */
export function StepPanel({ run, step, canReplay }: { run: Run; step: Step; canReplay: boolean }) {
  return (
    <section className="step-panel" aria-labelledby="step-title">
      <div className="section-head">
        <h2 id="step-title">
          Step #{step.index} {step.name}
        </h2>
        {canReplay && (
          <a className="button" href={href(`/runs/${run.id}`, { step: step.index, replay: 1, from_step: step.index })}>
            Fork from this step
          </a>
        )}
      </div>
      <dl className="facts">
        <Row term="Skill">
          <code>{step.skill}</code>
        </Row>
        <Row term="Status">
          <StatusBadge status={step.status} /> <StepFlags step={step} />
        </Row>
        <Row term="Replay behavior">{step.replay_behavior}</Row>
        <Row term="Step key">{step.idempotency_key ? <code>{step.idempotency_key}</code> : <span className="muted">none</span>}</Row>
        <Row term="Attempts">{step.attempts}</Row>
        <Row term="Duration">{formatDuration(step.duration_ms)}</Row>
        <Row term="Started">{formatTime(step.started_at)}</Row>
        <Row term="Finished">{formatTime(step.finished_at)}</Row>
        <Row term="Output hash">
          <Hash value={step.output_hash} />
        </Row>
        {step.checked && (
          <Row term="Expected hash">
            <Hash value={step.expected_hash} />
          </Row>
        )}
        {step.usage && (
          <Row term="Usage">
            {step.usage.total_tokens} tokens ({step.usage.prompt_tokens} prompt, {step.usage.completion_tokens} completion)
          </Row>
        )}
        {step.comparison && (
          <Row term="Comparison">
            {step.comparison.mode}: {step.comparison.passed ? 'passed' : 'failed'}
            {step.comparison.score !== null ? `, score ${step.comparison.score}` : ''}
            {step.comparison.reason ? ` (${step.comparison.reason})` : ''}
          </Row>
        )}
      </dl>
      {step.error && (
        <div className="state error" role="note">
          <p className="state-title">{step.error.type}</p>
          <p>{step.error.message}</p>
        </div>
      )}
      {step.mismatch && (
        <p className="mismatch-note">
          The check found a mismatch: <a href={href(`/runs/${run.id}/diff`, { step: step.index })}>see the diff</a>.
        </p>
      )}
      <h3>Params (as resolved, secrets and credentials redacted)</h3>
      <JsonTree value={step.params} label={`Params of step ${step.index}`} />
      <h3>Output</h3>
      {step.status === 'pending' || step.status === 'running' ? (
        <p className="muted">Not recorded yet.</p>
      ) : (
        <JsonTree value={step.output} label={`Output of step ${step.index}`} />
      )}
    </section>
  );
}
