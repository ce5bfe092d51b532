import type { Step } from '../../../client/index.js';

const STATUS_LABELS: Record<string, string> = {
  queued: 'queued',
  running: 'running',
  retry: 'retrying',
  waiting: 'waiting',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  pending: 'pending',
  completed: 'completed',
};

/** A run, step or batch status: the word is always shown, the colour only repeats it. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{STATUS_LABELS[status] ?? status}</span>;
}

export function VerdictBadge({ verdict }: { verdict: string | null | undefined }) {
  if (!verdict) return null;
  return <span className={`badge verdict-${verdict}`}>{verdict}</span>;
}

/** How a step got its output: executed, skipped, checked, from cache, and whether a check found a mismatch. */
export function StepFlags({ step }: { step: Step }) {
  const flags: Array<[string, string]> = [];
  if (step.executed) flags.push(['executed', 'executed']);
  if (step.skipped) flags.push(['skipped', 'skipped']);
  if (step.checked) flags.push(['checked', 'checked']);
  if (step.from_cache) flags.push(['from-cache', 'from cache']);
  if (step.mismatch) flags.push(['mismatch', 'mismatch']);
  if (flags.length === 0) return null;
  return (
    <span className="flags">
      {flags.map(([key, label]) => (
        <span key={key} className={`flag flag-${key}`}>
          {label}
        </span>
      ))}
    </span>
  );
}
