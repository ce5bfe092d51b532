import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { jobHolder, runsQueue } from './support/queue.js';
import { type RunsHarness, startRunsHarness, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

const CONCURRENCY = 3;

/** An upstream that answers `/work/<n>` after `delayMs`, counting requests in flight. */
async function startUpstream() {
  const state = { delayMs: 0, inFlight: 0, maxInFlight: 0 };
  const server: Server = createServer((req, res) => {
    res.sendDate = false;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    setTimeout(() => {
      state.inFlight--;
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ work: req.url }));
    }, state.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

/**
 * Replay batches across process crashes: an API process that creates batches and runs nothing, worker
 * processes (`node dist/src/worker.js`) that execute them on BullMQ, one killed with SIGKILL mid-batch,
 * and jobs lost from Redis (as after an API crash between its commit and its enqueue).
 */
describe('replay batches survive crashes (real worker processes, PostgreSQL, Redis)', () => {
  let h: RunsHarness;
  let env: TestEnvironment;
  let api: TestApp;
  let auth: string;
  let db: pg.Client;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    upstream = await startUpstream();
    h = await startRunsHarness('batch-crash', () => ({
      WORKER_ENABLED: 'false', // the API process only creates runs and batches
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${upstream.port}`,
      WORKER_LOCK_DURATION_MS: '2000',
      SWEEP_INTERVAL_MS: '500',
      SWEEP_STALE_AFTER_MS: '1000',
      REPLAY_BATCH_CONCURRENCY: String(CONCURRENCY),
    }));
    ({ env, app: api, auth } = h);
    db = new pg.Client({ connectionString: env.db.url });
    await db.connect();
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await db?.end();
    await h?.dispose();
    await upstream?.close();
  });

  const get = async (path: string) => (await api.http.get(path).set('Authorization', auth).expect(200)).body;
  const originals = async (agent: string, count: number) => {
    const ids: string[] = [];
    for (let n = 0; n < count; n++) {
      const steps = [{ name: 'work', skill: 'http.request', params: { url: `${upstream.url}/work/${agent}/${n}` } }];
      ids.push((await api.http.post(`/v1/agents/${agent}/runs`).set('Authorization', auth).send({ steps }).expect(202)).body.id);
    }
    await waitFor(async () => {
      const runs = await get(`/v1/runs?agent_id=${agent}&status=succeeded&limit=100`);
      return runs.data.length === count ? true : undefined;
    }, 60_000);
    return ids;
  };
  const batchDone = (id: string) =>
    waitFor(
      async () => {
        const batch = await get(`/v1/replays/${id}`);
        const { pending, match, mismatch, failed, cancelled } = batch.counts;
        expect(pending + match + mismatch + failed + cancelled).toBe(batch.total);
        return batch.status === 'running' ? undefined : batch;
      },
      90_000,
      100,
    );
  /** Every original of the batch has exactly one replay run of this batch. */
  const expectOneReplayRunEach = async (batchId: string, ids: string[]) => {
    const rows = (await db.query(`SELECT replay_of, count(*) AS n FROM runs WHERE batch_id = $1 GROUP BY replay_of`, [batchId]))
      .rows as Array<{
      replay_of: string;
      n: string;
    }>;
    expect(rows.map((r) => r.replay_of).sort()).toEqual([...ids].sort());
    expect(rows.every((r) => r.n === '1')).toBe(true);
  };

  it('a worker killed with SIGKILL mid-batch: its replay runs are taken over, no item is stranded or started twice', async () => {
    const victim = await spawnWorker(env.env);
    workers.push(victim);
    const ids = await originals('crash-a', 10);
    upstream.delayMs = 1_500;
    const res = await api.http
      .post('/v1/replays')
      .set('Authorization', auth)
      .send({ filter: { agent_id: 'crash-a' }, replay: { default_behavior: 'execute' } })
      .expect(202);
    await waitFor(async () => (upstream.inFlight === CONCURRENCY ? true : undefined));
    const active = (await db.query(`SELECT id FROM runs WHERE batch_id = $1 AND status = 'running'`, [res.body.id])).rows.map(
      (r: { id: string }) => r.id,
    );
    expect(active).toHaveLength(CONCURRENCY);
    const queue = runsQueue(env.redisPrefix);
    try {
      for (const id of active) expect(await jobHolder(queue, id)).toBe(victim.name); // the victim holds them all
    } finally {
      await queue.close();
    }
    await victim.kill('SIGKILL');
    upstream.delayMs = 100;
    workers.push(await spawnWorker(env.env));
    const batch = await batchDone(res.body.id);
    expect(batch).toMatchObject({ status: 'completed', total: 10, counts: { match: 10, pending: 0 } });
    await expectOneReplayRunEach(res.body.id, ids);
    for (const id of active) expect((await get(`/v1/runs/${id}`)).attempts).toBe(2); // taken over, not replaced
  }, 120_000);

  it('replay runs whose jobs were lost (an API that crashed between its commit and its enqueue) are found by the sweep', async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill('SIGTERM')));
    const worker = await spawnWorker(env.env);
    workers.push(worker);
    const ids = await originals('crash-b', 6);
    await worker.kill('SIGTERM'); // no worker: the batch's first replay runs wait in the queue
    workers.splice(0);
    upstream.delayMs = 0;
    const res = await api.http
      .post('/v1/replays')
      .set('Authorization', auth)
      .send({ filter: { agent_id: 'crash-b' }, replay: { default_behavior: 'execute' } })
      .expect(202);
    const queue = runsQueue(env.redisPrefix);
    try {
      // jobs due now wait as `prioritized` (fair share ranks them in their tenant's backlog)
      const queued = async () => {
        const counts = await queue.getJobCounts('waiting', 'prioritized');
        return (counts.waiting ?? 0) + (counts.prioritized ?? 0);
      };
      await waitFor(async () => ((await queued()) === CONCURRENCY ? true : undefined));
      await queue.drain(true); // the jobs are gone; the replay runs stay queued in PostgreSQL
      expect(await queued()).toBe(0);
    } finally {
      await queue.close();
    }
    workers.push(await spawnWorker(env.env));
    const batch = await batchDone(res.body.id);
    expect(batch).toMatchObject({ status: 'completed', total: 6, counts: { match: 6, pending: 0 } });
    await expectOneReplayRunEach(res.body.id, ids);
  }, 120_000);
});
