import pg from 'pg';
import { MAINTENANCE_ORCHESTRATOR } from '../src/spine/orchestrator/orchestrator.tokens.js';
import type { MaintenanceOrchestrator } from '../src/spine/orchestrator/maintenance.orchestrator.js';
import { RunProcessor } from '../src/workers/run.processor.js';
import { createTenant, createTestEnvironment, startTestApp, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';

type Run = { id: string; status: string; replay_of: string | null; replay: { verdict: string } | null; output: unknown };

/**
 * RUN_RETENTION_DAYS on the real database: runs are backdated with SQL (as if they had finished days
 * ago), then the purge runs. Old finished runs go with their traces and signals; recent and unfinished
 * runs stay; an original stays while a replay of it has not finished, and a replay outlives its original.
 */
describe('run retention (RUN_RETENTION_DAYS=2, real PostgreSQL + Redis)', () => {
  let env: TestEnvironment;
  let t: TestApp;
  let db: pg.Client;
  let auth: string;
  let maintenance: MaintenanceOrchestrator;

  beforeAll(async () => {
    env = await createTestEnvironment({ RUN_RETENTION_DAYS: '2', SWEEP_INTERVAL_MS: '3600000' });
    t = await startTestApp(env.env); // its worker runs the runs
    auth = (await createTenant(t, 'retention')).auth;
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
    maintenance = t.app.get<MaintenanceOrchestrator>(MAINTENANCE_ORCHESTRATOR);
  });

  afterAll(async () => {
    await db?.end();
    await t?.close();
    await env?.dispose();
  });

  const transform = (expression: string) => ({ name: 'calc', skill: 'transform', params: { expression } });
  const wait = (signal: string) => ({ name: `wait-${signal}`, skill: 'wait', params: { signal } });
  const submit = async (steps: unknown[], key?: string) => {
    const req = t.http.post('/v1/agents/keeper/runs').set('Authorization', auth);
    if (key) req.set('Idempotency-Key', key);
    return (await req.send({ input: { n: 2 }, steps }).expect(202)).body as Run;
  };
  const get = (id: string) => t.http.get(`/v1/runs/${id}`).set('Authorization', auth);
  const until = (id: string, statuses: string[]) =>
    waitFor(async () => {
      const run = (await get(id).expect(200)).body as Run;
      return statuses.includes(run.status) ? run : undefined;
    });
  const finished = (id: string) => until(id, ['succeeded', 'failed', 'cancelled']);
  const signal = (id: string, name: string) => t.http.post(`/v1/runs/${id}/signals/${name}`).set('Authorization', auth).send({ ok: true });
  const replay = (id: string, body: object = { default_behavior: 'skip' }) =>
    t.http.post(`/v1/runs/${id}/replay`).set('Authorization', auth).send(body);
  /** As if the runs had finished `days` days ago (and their keys expired long since). */
  const backdate = async (ids: string[], days: number) => {
    await db.query(
      `UPDATE runs SET created_at = now() - make_interval(days => $2::int + 1), finished_at = now() - make_interval(days => $2::int)
       WHERE id = ANY($1::uuid[])`,
      [ids, days],
    );
    await db.query(`UPDATE run_idempotency_keys SET expires_at = now() - interval '1 day' WHERE run_id = ANY($1::uuid[])`, [ids]);
  };
  const present = async (ids: string[]) =>
    (await db.query<{ id: string }>('SELECT id FROM runs WHERE id = ANY($1::uuid[])', [ids])).rows.map((r) => r.id).sort();
  const rowsOf = async (table: string, ids: string[]) =>
    Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE run_id = ANY($1::uuid[])`, [ids])).rows[0].n);

  it('purges finished runs older than the retention with their traces and signals; keeps recent and unfinished runs', async () => {
    const succeeded = await submit([transform('input.n * 2')], 'old-succeeded');
    const failed = await submit([transform('$error("no")')]);
    const signalled = await submit([wait('go'), transform('steps[0].output.ok')]);
    const cancelled = await submit([wait('never')]);
    const recent = await submit([transform('input.n + 1')]);
    const waiting = await submit([wait('later')]);
    await until(signalled.id, ['waiting']);
    await signal(signalled.id, 'go').expect(202);
    await until(cancelled.id, ['waiting']);
    await t.http.post(`/v1/runs/${cancelled.id}/cancel`).set('Authorization', auth).expect(202);
    for (const run of [succeeded, failed, signalled, cancelled, recent]) await finished(run.id);
    await until(waiting.id, ['waiting']);
    const old = [succeeded.id, failed.id, signalled.id, cancelled.id];
    expect(await rowsOf('run_steps', old)).toBe(5);
    expect(await rowsOf('run_signals', [signalled.id])).toBe(1);

    await backdate([...old, waiting.id], 3);
    // An unfinished run is never purged, whatever its dates say (finished_at set by hand here).
    await db.query(`UPDATE runs SET finished_at = now() - interval '30 days' WHERE id = $1`, [waiting.id]);
    await backdate([recent.id], 1);

    expect(await maintenance.purgeExpiredRuns()).toBe(4);
    expect(await present([...old, recent.id, waiting.id])).toEqual([recent.id, waiting.id].sort());
    expect(await rowsOf('run_steps', old)).toBe(0);
    expect(await rowsOf('run_signals', old)).toBe(0);
    await get(succeeded.id).expect(404);
    await t.http.get(`/v1/runs/${succeeded.id}/trace`).set('Authorization', auth).expect(404);
    expect((await get(waiting.id).expect(200)).body).toMatchObject({ status: 'waiting' });
    expect(await maintenance.purgeExpiredRuns()).toBe(0);

    // The purged run's request key had expired: the sweep deletes it, and the key makes a new run.
    await maintenance.purgeExpiredKeys();
    const again = await t.http
      .post('/v1/agents/keeper/runs')
      .set('Authorization', auth)
      .set('Idempotency-Key', 'old-succeeded')
      .send({ input: { n: 2 }, steps: [transform('input.n * 2')] })
      .expect(202);
    expect(again.body.id).not.toBe(succeeded.id);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    await finished(again.body.id);
  });

  it('keeps an original while its replay is unfinished; a replay outlives its original and can itself be replayed', async () => {
    const original = await submit([wait('go'), transform('steps[0].output.ok')]);
    await until(original.id, ['waiting']);
    await signal(original.id, 'go').expect(202);
    expect(await finished(original.id)).toMatchObject({ status: 'succeeded', output: true });
    // The replay executes the wait step: it waits for a signal of its own, unfinished.
    const pending = (await replay(original.id, { default_behavior: 'skip', behaviors: { '0': 'execute' } }).expect(202)).body as Run;
    await until(pending.id, ['waiting']);
    const done = (await replay(original.id).expect(202)).body as Run;
    expect(await finished(done.id)).toMatchObject({ status: 'succeeded', replay: { verdict: 'match' } });

    await backdate([original.id], 3);
    expect(await maintenance.purgeExpiredRuns()).toBe(0); // the pending replay still reads the original's trace
    expect(await present([original.id])).toEqual([original.id]);

    await signal(pending.id, 'go').expect(202);
    expect(await finished(pending.id)).toMatchObject({ status: 'succeeded', replay: { verdict: 'match' } });
    expect(await maintenance.purgeExpiredRuns()).toBe(1);
    await get(original.id).expect(404);
    await replay(original.id).expect(404);

    // Its replays keep everything they recorded, and replay_of still names the original.
    for (const id of [pending.id, done.id]) {
      expect((await get(id).expect(200)).body).toMatchObject({ replay_of: original.id, status: 'succeeded', replay: { verdict: 'match' } });
      const trace = await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200);
      expect(trace.body.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded']);
    }
    const second = (await replay(done.id).expect(202)).body as Run;
    expect(await finished(second.id)).toMatchObject({
      status: 'succeeded',
      replay_of: done.id,
      replay: { verdict: 'match' },
      output: true,
    });
  });

  it('refuses to replay a run within an hour of its purge (409), not earlier', async () => {
    const run = await submit([transform('input.n * 3')]);
    await finished(run.id);
    await db.query(`UPDATE runs SET finished_at = now() - interval '2 days' + interval '30 minutes' WHERE id = $1`, [run.id]);
    const refused = await replay(run.id).expect(409);
    expect(refused.body.detail).toMatch(/about to be purged/);
    await db.query(`UPDATE runs SET finished_at = now() - interval '2 days' + interval '2 hours' WHERE id = $1`, [run.id]);
    await finished(((await replay(run.id).expect(202)).body as Run).id);
  });

  it('purges in batches, and purges running at once delete each run once; the sweep purges too', async () => {
    const tenant = (await db.query<{ id: string }>('SELECT id FROM tenants LIMIT 1')).rows[0].id;
    const steps = JSON.stringify([{ ...transform('1'), replay_behavior: 'execute', idempotency_key: null }]);
    const insertOld = async (n: number) => {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO runs (id, tenant_id, agent_id, status, input, steps, metadata, attempts, created_at, updated_at, finished_at)
         SELECT gen_random_uuid(), $1, 'bulk', 'succeeded', '{}'::json, $2::json, '{}'::json, 1,
                now() - interval '10 days', now() - interval '9 days', now() - interval '9 days' + make_interval(secs => i)
         FROM generate_series(1, $3::int) AS i RETURNING id`,
        [tenant, steps, n],
      );
      await db.query(
        `INSERT INTO run_steps (run_id, index, name, skill, params, replay_behavior, status, output, attempts)
         SELECT id, 0, 'calc', 'transform', '{}'::json, 'execute', 'succeeded', '1'::json, 1 FROM unnest($1::uuid[]) AS id`,
        [rows.map((r) => r.id)],
      );
      return rows.map((r) => r.id);
    };
    const bulk = await insertOld(450);
    const [first, second] = await Promise.all([maintenance.purgeExpiredRuns(40), maintenance.purgeExpiredRuns(40)]);
    expect(first + second).toBe(450);
    expect(await present(bulk)).toEqual([]);
    expect(await rowsOf('run_steps', bulk)).toBe(0);

    const swept = await insertOld(3);
    await t.app.get(RunProcessor, { strict: false }).sweep();
    expect(await present(swept)).toEqual([]);
  });

  it('with RUN_RETENTION_DAYS unset nothing is purged', async () => {
    const kept = await submit([transform('input.n')]);
    await finished(kept.id);
    await backdate([kept.id], 400);
    const off = await startTestApp({ ...env.env, RUN_RETENTION_DAYS: '', WORKER_ENABLED: 'false' });
    try {
      expect(await off.app.get<MaintenanceOrchestrator>(MAINTENANCE_ORCHESTRATOR).purgeExpiredRuns()).toBe(0);
    } finally {
      await off.close();
    }
    expect(await present([kept.id])).toEqual([kept.id]);
  });
});
