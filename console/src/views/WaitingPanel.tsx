import { type FormEvent, useState } from 'react';
import type { Run } from '../../../client/index.js';
import { useSendSignal } from '../api.js';
import { ErrorState } from '../components/States.js';
import { formatTime } from '../format.js';

type WaitingFor = NonNullable<Run['waiting_for']>;

/** A waiting run: which signal it waits for, until when, and a form that sends it (payload as JSON). */
export function WaitingPanel({ run, waitingFor }: { run: Run; waitingFor: WaitingFor }) {
  const send = useSendSignal(run.id);
  const [payload, setPayload] = useState('{}');
  const [parseError, setParseError] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      setParseError('The payload must be JSON, for example {"approved": true}.');
      return;
    }
    setParseError(null);
    send.mutate({ name: waitingFor.signal, payload: value });
  };

  return (
    <section className="state waiting" aria-labelledby="waiting-title">
      <p className="state-title" id="waiting-title">
        Waiting for signal <code>{waitingFor.signal}</code> at step #{waitingFor.step_index}
      </p>
      <p>
        The run holds no worker while it waits. It resumes when the signal arrives, and fails with <code>signal_timeout</code> after{' '}
        {formatTime(waitingFor.until)}.
      </p>
      <form onSubmit={submit} className="signal-form">
        <label htmlFor="signal-payload">Payload of {waitingFor.signal} (JSON)</label>
        <textarea
          id="signal-payload"
          rows={3}
          value={payload}
          onChange={(event) => setPayload(event.target.value)}
          aria-invalid={parseError ? true : undefined}
          aria-describedby={parseError ? 'signal-payload-error' : undefined}
        />
        {parseError && (
          <p id="signal-payload-error" className="field-error" role="alert">
            {parseError}
          </p>
        )}
        <button type="submit" className="primary" disabled={send.isPending || send.isSuccess}>
          {send.isSuccess ? 'Signal sent' : send.isPending ? 'Sending…' : `Send ${waitingFor.signal}`}
        </button>
      </form>
      {send.error && <ErrorState error={send.error} what="run" />}
    </section>
  );
}
