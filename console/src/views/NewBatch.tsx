import { type FormEvent, useEffect, useState } from 'react';
import type { ReplayBatchFilter, ReplayRequest } from '../../../client/index.js';
import { useCreateBatch } from '../api.js';
import { ErrorState, isNotServed } from '../components/States.js';
import { href, navigate } from '../router.js';
import { NotServed } from './BatchParts.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface BatchFormValues {
  agentId: string;
  succeeded: boolean;
  failed: boolean;
  createdAfter: string;
  createdBefore: string;
  runIds: string;
  limit: string;
  defaultBehavior: 'execute' | 'skip' | 'check';
  onMismatch: 'fail' | 'continue';
  ignorePaths: string;
}

const lines = (text: string) =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

/** The POST /v1/replays body for the form's values, or the problems to fix first. */
export function batchBody(v: BatchFormValues): { body: { filter: ReplayBatchFilter; replay: ReplayRequest }; errors: string[] } {
  const errors: string[] = [];
  const filter: ReplayBatchFilter = {};
  if (v.agentId.trim()) filter.agent_id = v.agentId.trim();
  const statuses = [...(v.succeeded ? (['succeeded'] as const) : []), ...(v.failed ? (['failed'] as const) : [])];
  if (statuses.length === 0) errors.push('Pick at least one status: only finished runs can be replayed.');
  filter.status = statuses;
  // datetime-local values are local times: sent as ISO 8601 UTC.
  if (v.createdAfter) filter.created_after = new Date(v.createdAfter).toISOString();
  if (v.createdBefore) filter.created_before = new Date(v.createdBefore).toISOString();
  const runIds = lines(v.runIds);
  const bad = runIds.filter((id) => !UUID.test(id));
  if (bad.length > 0) errors.push(`Not run ids: ${bad.join(', ')}`);
  if (runIds.length > 0) filter.run_ids = runIds;
  const limit = Number(v.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) errors.push('Limit must be a whole number from 1 to 1000.');
  else filter.limit = limit;
  const replay: ReplayRequest = { default_behavior: v.defaultBehavior, on_mismatch: v.onMismatch };
  const paths = lines(v.ignorePaths);
  for (const path of paths) if (!path.startsWith('/')) errors.push(`"${path}" is not a JSON Pointer: it must start with "/".`);
  if (paths.length > 0) replay.ignore_paths = paths;
  return { body: { filter, replay }, errors };
}

export function NewBatch({ query }: { query: URLSearchParams }) {
  const create = useCreateBatch();
  const [values, setValues] = useState<BatchFormValues>({
    agentId: query.get('agent_id') ?? '',
    succeeded: true,
    failed: true,
    createdAfter: '',
    createdBefore: '',
    runIds: '',
    limit: '100',
    defaultBehavior: 'check',
    onMismatch: 'continue',
    ignorePaths: '',
  });
  const [errors, setErrors] = useState<string[]>([]);
  const set = (patch: Partial<BatchFormValues>) => setValues((v) => ({ ...v, ...patch }));
  useEffect(() => {
    document.title = 'New replay batch · agent-runs console';
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { body, errors: found } = batchBody(values);
    setErrors(found);
    if (found.length === 0) create.mutate(body, { onSuccess: (batch) => navigate(href(`/batches/${batch.id}`)) });
  };

  return (
    <section aria-labelledby="new-batch-title">
      <nav className="crumbs" aria-label="Breadcrumb">
        <a href={href('/batches')}>Replay batches</a> / <span aria-current="page">new</span>
      </nav>
      <h1 id="new-batch-title">New replay batch</h1>
      {isNotServed(create.error) && <NotServed />}
      <form className="batch-form" onSubmit={submit}>
        <fieldset>
          <legend>Which runs</legend>
          <div className="form-grid">
            <div className="field">
              <label htmlFor="batch-agent">Agent</label>
              <input id="batch-agent" value={values.agentId} onChange={(e) => set({ agentId: e.target.value })} placeholder="any agent" />
            </div>
            <fieldset className="field">
              <legend>Status</legend>
              <label className="inline-check">
                <input type="checkbox" checked={values.succeeded} onChange={(e) => set({ succeeded: e.target.checked })} /> succeeded
              </label>
              <label className="inline-check">
                <input type="checkbox" checked={values.failed} onChange={(e) => set({ failed: e.target.checked })} /> failed
              </label>
            </fieldset>
            <div className="field">
              <label htmlFor="batch-after">Created after</label>
              <input
                id="batch-after"
                type="datetime-local"
                value={values.createdAfter}
                onChange={(e) => set({ createdAfter: e.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor="batch-before">Created before</label>
              <input
                id="batch-before"
                type="datetime-local"
                value={values.createdBefore}
                onChange={(e) => set({ createdBefore: e.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor="batch-limit">At most (runs)</label>
              <input
                id="batch-limit"
                type="number"
                min={1}
                max={1000}
                value={values.limit}
                onChange={(e) => set({ limit: e.target.value })}
              />
            </div>
            <div className="field wide">
              <label htmlFor="batch-runs">Only these run ids (optional, one per line)</label>
              <textarea id="batch-runs" rows={2} value={values.runIds} onChange={(e) => set({ runIds: e.target.value })} />
            </div>
          </div>
        </fieldset>
        <fieldset>
          <legend>How to replay them</legend>
          <div className="form-grid">
            <div className="field">
              <label htmlFor="batch-behavior">Behavior of every step</label>
              <select
                id="batch-behavior"
                value={values.defaultBehavior}
                onChange={(e) => set({ defaultBehavior: e.target.value as BatchFormValues['defaultBehavior'] })}
              >
                <option value="check">check</option>
                <option value="skip">skip</option>
                <option value="execute">execute</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor="batch-on-mismatch">On a mismatch</label>
              <select
                id="batch-on-mismatch"
                value={values.onMismatch}
                onChange={(e) => set({ onMismatch: e.target.value as BatchFormValues['onMismatch'] })}
              >
                <option value="continue">continue, report every one</option>
                <option value="fail">fail the replay at the first one</option>
              </select>
            </div>
            <div className="field wide">
              <label htmlFor="batch-ignore">Ignore paths (one JSON Pointer per line)</label>
              <textarea id="batch-ignore" rows={2} value={values.ignorePaths} onChange={(e) => set({ ignorePaths: e.target.value })} />
            </div>
          </div>
        </fieldset>
        {errors.length > 0 && (
          <div className="state error" role="alert">
            {errors.map((e) => (
              <p key={e}>{e}</p>
            ))}
          </div>
        )}
        {create.error && !isNotServed(create.error) && <ErrorState error={create.error} what="replay batch" />}
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Starting…' : 'Start batch'}
        </button>
      </form>
    </section>
  );
}
