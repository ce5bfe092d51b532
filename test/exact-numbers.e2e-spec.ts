import type { SideEffectServer } from './support/side-effect-server.js';
import { type RunsHarness, startRunsHarness, type TestApp, waitFor } from './support/test-app.js';

/**
 * Integers beyond 2^53 in a JSON response (ids, amounts in minor units) are recorded exactly, as
 * strings of their digits: JSON.parse would round 9007199254740993 to ...992, and a `check` replay
 * would then call two different answers a match.
 */
describe('http.request keeps big integers exact (real PostgreSQL + Redis)', () => {
  let h: RunsHarness;
  let t: TestApp;
  let server: SideEffectServer;
  let auth: string;

  beforeAll(async () => {
    h = await startRunsHarness('exact', (s) => ({ SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}` }));
    ({ app: t, server, auth } = h);
  }, 60_000);

  afterAll(async () => {
    await h?.dispose();
  });

  const finished = (id: string) =>
    waitFor(async () => {
      const run = (await t.http.get(`/v1/runs/${id}`).set('Authorization', auth).expect(200)).body;
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    });
  const trace = async (id: string) => (await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', auth).expect(200)).body;

  it('records 9007199254740993 as the exact string, and a check replay reports the change to ...992 as a mismatch', async () => {
    const steps = [
      { name: 'fetch', skill: 'http.request', params: { url: `${server.url}/bigint/a` } },
      { name: 'id', skill: 'transform', params: { expression: 'steps[0].output.body.id' } },
    ];
    const created = await t.http.post('/v1/agents/exact/runs').set('Authorization', auth).send({ steps }).expect(202);
    const run = await finished(created.body.id);
    expect(run).toMatchObject({ status: 'succeeded', output: '9007199254740993' });
    const recorded = (await trace(run.id)).steps;
    expect(recorded[0].output.body).toEqual({ id: '9007199254740993', n: 1 }); // other numbers stay numbers

    // The server now answers 9007199254740992: the same double, a different number. (Headers hold a
    // Date that changes anyway: left out of the comparison.)
    const replay = await t.http
      .post(`/v1/runs/${run.id}/replay`)
      .set('Authorization', auth)
      .send({ default_behavior: 'check', ignore_paths: ['/headers'] })
      .expect(202);
    const replayed = await finished(replay.body.id);
    expect(server.hits('/bigint/a')).toBe(2);
    expect(replayed.status).toBe('failed');
    expect(replayed.error).toMatchObject({ type: 'replay_mismatch', step_index: 0 });
    expect(replayed.replay.verdict).toBe('mismatch');
    const step = (await trace(replayed.id)).steps[0];
    expect(step.output.body.id).toBe('9007199254740992');
    expect(step.mismatch.diff).toEqual([{ op: 'replace', path: '/body/id', value: '9007199254740992' }]);
  }, 30_000);
});
