import { type FormEvent, useId, useState } from 'react';
import type { ReplayRequest, Step } from '../../../client/index.js';
import { useReplayRun } from '../api.js';
import { ErrorState } from '../components/States.js';
import { href, navigate } from '../router.js';

type Behavior = 'execute' | 'skip' | 'check';
const BEHAVIORS: Behavior[] = ['execute', 'skip', 'check'];

export interface ReplayFormValues {
  defaultBehavior: '' | Behavior;
  behaviors: Record<number, '' | Behavior>;
  fromStep: number | null;
  onMismatch: 'fail' | 'continue';
  ignorePaths: string;
}

/** The replay request body for the form's values (only what differs from the API's defaults). */
export function replayBody(values: ReplayFormValues): { body: ReplayRequest; errors: string[] } {
  const body: ReplayRequest = {};
  const errors: string[] = [];
  if (values.defaultBehavior) body.default_behavior = values.defaultBehavior;
  const behaviors = Object.fromEntries(Object.entries(values.behaviors).filter((entry): entry is [string, Behavior] => entry[1] !== ''));
  if (Object.keys(behaviors).length > 0) body.behaviors = behaviors;
  if (values.fromStep !== null && values.fromStep > 0) body.from_step = values.fromStep;
  if (values.onMismatch !== 'fail') body.on_mismatch = values.onMismatch;
  const paths = values.ignorePaths
    .split('\n')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const path of paths)
    if (!path.startsWith('/')) errors.push(`"${path}" is not a JSON Pointer: it must start with "/" (e.g. /headers/date).`);
  if (paths.length > 0) body.ignore_paths = paths;
  return { body, errors };
}

/** Replay a finished run: default behavior, per-step behaviors, fork point, ignored paths, what a mismatch does. */
export function ReplayForm({ runId, steps, initialFromStep }: { runId: string; steps: Step[]; initialFromStep: number | null }) {
  const id = useId();
  const replay = useReplayRun(runId);
  const [values, setValues] = useState<ReplayFormValues>({
    defaultBehavior: 'check',
    behaviors: {},
    fromStep: initialFromStep,
    onMismatch: 'continue',
    ignorePaths: '',
  });
  const [errors, setErrors] = useState<string[]>([]);
  const set = (patch: Partial<ReplayFormValues>) => setValues((v) => ({ ...v, ...patch }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { body, errors: found } = replayBody(values);
    setErrors(found);
    if (found.length > 0) return;
    replay.mutate(body, { onSuccess: (run) => navigate(href(`/runs/${run.id}/diff`)) });
  };

  return (
    <form className="replay-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <div className="section-head">
        <h2 id={`${id}-title`}>Replay this run</h2>
        <a className="button" href={href(`/runs/${runId}`)}>
          Close
        </a>
      </div>
      <p className="help">
        <strong>execute</strong> runs the skill again, <strong>skip</strong> takes the recorded output (no side effect),{' '}
        <strong>check</strong> runs it again and compares the output with the recorded one. Steps with a step key never repeat their side
        effect.
      </p>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${id}-default`}>Default behavior</label>
          <select
            id={`${id}-default`}
            value={values.defaultBehavior}
            onChange={(e) => set({ defaultBehavior: e.target.value as Behavior | '' })}
          >
            <option value="">each step&apos;s recorded behavior</option>
            {BEHAVIORS.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-from`}>Fork from step</label>
          <select
            id={`${id}-from`}
            value={values.fromStep ?? ''}
            onChange={(e) => set({ fromStep: e.target.value === '' ? null : Number(e.target.value) })}
            aria-describedby={`${id}-from-help`}
          >
            <option value="">no fork: replay every step</option>
            {steps.map((s) => (
              <option key={s.index} value={s.index}>
                #{s.index} {s.name}
              </option>
            ))}
          </select>
          <p id={`${id}-from-help`} className="help">
            Steps before it are skipped (their recorded outputs are reused).
          </p>
        </div>
        <fieldset className="field">
          <legend>On a mismatch</legend>
          <label className="inline-check">
            <input
              type="radio"
              name={`${id}-on-mismatch`}
              checked={values.onMismatch === 'fail'}
              onChange={() => set({ onMismatch: 'fail' })}
            />{' '}
            fail the replay at the first one
          </label>
          <label className="inline-check">
            <input
              type="radio"
              name={`${id}-on-mismatch`}
              checked={values.onMismatch === 'continue'}
              onChange={() => set({ onMismatch: 'continue' })}
            />{' '}
            continue and report every one
          </label>
        </fieldset>
        <div className="field wide">
          <label htmlFor={`${id}-ignore`}>Ignore paths (one JSON Pointer per line)</label>
          <textarea
            id={`${id}-ignore`}
            rows={3}
            value={values.ignorePaths}
            onChange={(e) => set({ ignorePaths: e.target.value })}
            placeholder={'/headers/date\n/body/generated_at'}
            aria-invalid={errors.length > 0 ? true : undefined}
          />
        </div>
      </div>
      <table className="behaviors">
        <caption>Per-step behavior</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Recorded</th>
            <th scope="col">Behavior in this replay</th>
          </tr>
        </thead>
        <tbody>
          {steps.map((step) => {
            const forked = values.fromStep !== null && step.index < values.fromStep;
            return (
              <tr key={step.index}>
                <th scope="row">
                  #{step.index} {step.name}
                </th>
                <td>{step.replay_behavior}</td>
                <td>
                  <select
                    aria-label={`Behavior of step ${step.index} ${step.name}`}
                    value={forked ? 'skip' : (values.behaviors[step.index] ?? '')}
                    disabled={forked}
                    onChange={(e) => set({ behaviors: { ...values.behaviors, [step.index]: e.target.value as Behavior | '' } })}
                  >
                    <option value="">default ({values.defaultBehavior || step.replay_behavior})</option>
                    {BEHAVIORS.map((b) => (
                      <option key={b} value={b}>
                        {b}
                      </option>
                    ))}
                  </select>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {errors.length > 0 && (
        <div className="state error" role="alert">
          {errors.map((e) => (
            <p key={e}>{e}</p>
          ))}
        </div>
      )}
      {replay.error && <ErrorState error={replay.error} what="run" />}
      <button type="submit" className="primary" disabled={replay.isPending}>
        {replay.isPending ? 'Starting…' : 'Start replay'}
      </button>
    </form>
  );
}
