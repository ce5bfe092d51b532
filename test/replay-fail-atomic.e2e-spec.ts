import pg from 'pg';
import { type RunsHarness, startRunsHarness, waitFor } from './support/test-app.js';

/**
 * A replay that fails on a mismatch writes its failed status, its verdict and the cancellation of its
 * later steps in one transaction. A fault injected into that transaction (a trigger that refuses the
 * `cancelled` step rows) must leave the replay retrying the failure, never running a later step or
 * ending `succeeded`; once the fault is gone it ends `failed`.
 */
describe('replay failure under an injected fault (real PostgreSQL + Redis)', () => {
  let h: RunsHarness;
  let db: pg.Client;

  beforeAll(async () => {
    h = await startRunsHarness('replay-fault', (s) => ({
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`,
      WORKER_LOCK_DURATION_MS: '1000',
      RUN_RETRY_BACKOFF_MS: '50',
      RUN_MAX_ATTEMPTS: '100', // each takeover of an expired lease while the fault lasts is an attempt
    }));
    db = new pg.Client({ connectionString: h.env.db.url });
    await db.connect();
    await db.query(`CREATE TABLE fault (on_cancel boolean NOT NULL)`);
    await db.query(`CREATE FUNCTION refuse_cancelled_steps() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'cancelled' AND EXISTS (SELECT 1 FROM fault WHERE on_cancel) THEN
          RAISE EXCEPTION 'injected fault: cancelling steps';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER refuse_cancelled_steps BEFORE INSERT OR UPDATE ON run_steps
      FOR EACH ROW EXECUTE FUNCTION refuse_cancelled_steps()`);
  });

  afterAll(async () => {
    await db?.end();
    await h?.dispose();
  });

  const getRun = async (id: string) => (await h.app.http.get(`/v1/runs/${id}`).set('Authorization', h.auth).expect(200)).body;
  const finished = (id: string) =>
    waitFor(async () => {
      const run = await getRun(id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    }, 30_000);

  it('a fault in the fail transaction never lets the replay run a later step or succeed', async () => {
    const url = h.server.url;
    const original = await h.app.http
      .post('/v1/agents/faulty/runs')
      .set('Authorization', h.auth)
      .send({
        steps: [
          { name: 'fetch', skill: 'http.request', params: { url: `${url}/changing` } }, // differs on every call
          { name: 'notify', skill: 'http.request', params: { url: `${url}/effect/after-mismatch`, method: 'POST' } },
        ],
      })
      .expect(202);
    expect(await finished(original.body.id)).toMatchObject({ status: 'succeeded' });
    expect(h.server.hits('/effect/after-mismatch')).toBe(1);

    await db.query(`INSERT INTO fault VALUES (true)`);
    const replay = await h.app.http
      .post(`/v1/runs/${original.body.id}/replay`)
      .set('Authorization', h.auth)
      .send({ behaviors: { '0': 'check' }, on_mismatch: 'fail' })
      .expect(202);
    // The mismatch is recorded; failing the run keeps hitting the fault and is rolled back each time.
    await waitFor(async () => {
      const { rows } = await db.query(`SELECT mismatch FROM run_steps WHERE run_id = $1 AND index = 0`, [replay.body.id]);
      return rows[0]?.mismatch ? true : undefined;
    });
    const deadline = Date.now() + 3_000; // several retries and at least one takeover of an expired lease
    while (Date.now() < deadline) {
      expect((await getRun(replay.body.id)).status).not.toBe('succeeded');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await getRun(replay.body.id)).status).toMatch(/running|retry/);

    await db.query(`DELETE FROM fault`);
    const done = await finished(replay.body.id);
    expect(done).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch', step_index: 0 }, replay: { verdict: 'mismatch' } });
    const trace = (await h.app.http.get(`/v1/runs/${replay.body.id}/trace`).set('Authorization', h.auth).expect(200)).body;
    expect(trace.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'cancelled']);
    expect(h.server.hits('/effect/after-mismatch')).toBe(1); // the step after the mismatch never ran
  }, 60_000);
});
