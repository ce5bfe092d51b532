import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { RunStoreDriver } from '../src/spine/drivers/run-store.driver.js';
import { MAINTENANCE_ORCHESTRATOR } from '../src/spine/orchestrator/orchestrator.tokens.js';
import type { MaintenanceOrchestrator } from '../src/spine/orchestrator/maintenance.orchestrator.js';
import type { SideEffectServer } from './support/side-effect-server.js';
import { createTenant, type RunsHarness, startRunsHarness, type TestApp, waitFor } from './support/test-app.js';

const CONCURRENCY = 3;

interface Batch {
  id: string;
  status: 'running' | 'completed' | 'cancelled';
  total: number;
  counts: { pending: number; match: number; mismatch: number; failed: number; cancelled: number };
  filter: Record<string, unknown>;
  replay: Record<string, unknown>;
  created_at: string;
  finished_at: string | null;
}

interface Item {
  run_id: string;
  replay_run_id: string | null;
  status: string;
  verdict: string;
  first_mismatch_step: number | null;
  reason: string | null;
}

/**
 * An upstream the replays call: `/work/<name>` answers after `delayMs` (counting requests in flight, and
 * the most at once), `/toggle` answers 200 until `broken`, then 503 (a replay that fails, after its
 * retries, for another reason than a mismatch).
 */
interface Upstream {
  url: string;
  port: number;
  delayMs: number;
  broken: boolean;
  inFlight: number;
  maxInFlight: number;
  hits: number;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const state = { delayMs: 0, broken: false, inFlight: 0, maxInFlight: 0, hits: 0 };
  const server: Server = createServer((req, res) => {
    res.sendDate = false;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/toggle') {
      res.writeHead(state.broken ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: !state.broken }));
      return;
    }
    state.hits++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    setTimeout(() => {
      state.inFlight--;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ work: path }));
    }, state.delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

describe('replay batches (real PostgreSQL + Redis, BullMQ workers)', () => {
  let h: RunsHarness;
  let t: TestApp;
  let server: SideEffectServer;
  let upstream: Upstream;
  let auth: string;
  let db: pg.Client;
  let fiftyBatchId: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    h = await startRunsHarness('batcher', (s) => ({
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port},127.0.0.1:${upstream.port}`,
      RUN_RETRY_BACKOFF_MS: '50',
      REPLAY_BATCH_CONCURRENCY: String(CONCURRENCY),
      WORKER_CONCURRENCY: '8',
      // Only the sweep at boot: batches must move by themselves (the sweep's repair is tested on its own).
      SWEEP_INTERVAL_MS: '3600000',
    }));
    ({ app: t, server, auth } = h);
    db = new pg.Client({ connectionString: h.env.db.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await h?.dispose();
    await upstream?.close();
  });

  const getRun = async (id: string, as = auth) => (await t.http.get(`/v1/runs/${id}`).set('Authorization', as).expect(200)).body;
  const finished = (id: string, as = auth) =>
    waitFor(async () => {
      const run = await getRun(id, as);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
    }, 30_000);
  const submit = async (agent: string, steps: unknown[], input: unknown = {}, as = auth) =>
    (await t.http.post(`/v1/agents/${agent}/runs`).set('Authorization', as).send({ steps, input }).expect(202)).body.id as string;
  /** Submits runs a few at a time (in this order: creation order is the batch's order, reversed). */
  const submitAll = async (plans: Array<{ agent: string; steps: unknown[]; input?: unknown }>) => {
    const ids: string[] = [];
    for (const plan of plans) ids.push(await submit(plan.agent, plan.steps, plan.input ?? {}));
    for (let i = 0; i < ids.length; i += 20) await Promise.all(ids.slice(i, i + 20).map((id) => finished(id)));
    return ids;
  };
  const createBatch = (body: unknown, key?: string, as = auth) => {
    const req = t.http.post('/v1/replays').set('Authorization', as);
    if (key !== undefined) req.set('Idempotency-Key', key);
    return req.send(body as object);
  };
  const getBatch = async (id: string, as = auth): Promise<Batch> =>
    (await t.http.get(`/v1/replays/${id}`).set('Authorization', as).expect(200)).body;
  const batchDone = (id: string, timeoutMs = 60_000) =>
    waitFor(
      async () => {
        const batch = await getBatch(id);
        expectCountsAddUp(batch);
        return batch.status === 'running' ? undefined : batch;
      },
      timeoutMs,
      100,
    );
  const allItems = async (id: string, query = '', limit = 100): Promise<Item[]> => {
    const items: Item[] = [];
    let cursor: string | null = null;
    do {
      const q = `limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const page: { data: Item[]; next_cursor: string | null } = (
        await t.http.get(`/v1/replays/${id}/items?${q}`).set('Authorization', auth).expect(200)
      ).body;
      items.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  };
  /** Replay runs of the batch that are not finished, counted in PostgreSQL. */
  const activeReplayRuns = async (batchId: string) =>
    Number(
      (
        await db.query(`SELECT count(*) AS n FROM runs WHERE batch_id = $1 AND status IN ('queued', 'running', 'retry', 'waiting')`, [
          batchId,
        ])
      ).rows[0].n,
    );
  /** Samples the active replay runs of a batch every 20 ms until it stops; returns the most seen at once. */
  const sampleActive = (batchId: string) => {
    let max = 0;
    let stop = false;
    const done = (async () => {
      while (!stop) {
        max = Math.max(max, await activeReplayRuns(batchId));
        await new Promise((r) => setTimeout(r, 20));
      }
      return max;
    })();
    return {
      stop: () => {
        stop = true;
        return done;
      },
    };
  };

  function expectCountsAddUp(batch: Batch): void {
    const { pending, match, mismatch, failed, cancelled } = batch.counts;
    expect(pending + match + mismatch + failed + cancelled).toBe(batch.total);
  }

  it('replays 50 runs with one report: counts add up, items agree with their replay runs, never more than REPLAY_BATCH_CONCURRENCY at once', async () => {
    const agent = 'batch-fifty';
    const fixed = () => [
      { name: 'double', skill: 'transform', params: { expression: 'input.n * 2' } },
      { name: 'fetch', skill: 'http.request', params: { url: `${server.url}/fixed` } },
    ];
    const changing = () => [
      { name: 'double', skill: 'transform', params: { expression: 'input.n * 2' } },
      { name: 'fetch', skill: 'http.request', params: { url: `${server.url}/changing` } },
    ];
    const breaking = () => [
      { name: 'double', skill: 'transform', params: { expression: 'input.n * 2' } },
      { name: 'call', skill: 'http.request', params: { url: `${upstream.url}/toggle` } },
    ];
    const short = () => [{ name: 'only', skill: 'transform', params: { expression: 'input.n + 1' } }];
    const kinds: Array<'match' | 'mismatch' | 'broken' | 'short'> = [];
    for (let i = 0; i < 50; i++) kinds.push(i % 10 === 9 ? 'short' : i % 10 === 4 ? 'broken' : i % 3 === 0 ? 'mismatch' : 'match');
    const plans = kinds.map((kind, n) => ({
      agent,
      input: { n },
      steps: kind === 'match' ? fixed() : kind === 'mismatch' ? changing() : kind === 'broken' ? breaking() : short(),
    }));
    const originals = await submitAll(plans);
    // neither another agent's run nor a replay run of one of the originals is selected
    const other = await submit('other-agent', short());
    await finished(other);
    const replayOfOriginal = (await t.http.post(`/v1/runs/${originals[0]}/replay`).set('Authorization', auth).send({}).expect(202)).body.id;
    await finished(replayOfOriginal);
    upstream.broken = true;

    const replay = { default_behavior: 'check', behaviors: { '1': 'check' } };
    const res = await createBatch({ filter: { agent_id: agent, limit: 1000 }, replay }).expect(202);
    fiftyBatchId = res.body.id;
    expect(res.headers.location).toBe(`/v1/replays/${res.body.id}`);
    expect(res.body).toMatchObject({
      status: 'running',
      total: 50,
      filter: { agent_id: agent, status: ['succeeded', 'failed'], limit: 1000 },
      replay,
      finished_at: null,
    });
    expectCountsAddUp(res.body);
    const sampler = sampleActive(res.body.id);
    const batch = await batchDone(res.body.id);
    const maxActive = await sampler.stop();

    const expected = {
      match: kinds.filter((k) => k === 'match').length,
      mismatch: kinds.filter((k) => k === 'mismatch').length,
      failed: kinds.filter((k) => k === 'broken' || k === 'short').length,
    };
    expect(batch).toMatchObject({ status: 'completed', total: 50, counts: { pending: 0, cancelled: 0, ...expected } });
    expect(batch.finished_at).not.toBeNull();
    expect(maxActive).toBeLessThanOrEqual(CONCURRENCY);
    expect(maxActive).toBe(CONCURRENCY); // the batch used its slots (not one at a time)

    // items, paged: the batch's order is the originals' newest first; each agrees with its replay run
    const items = await allItems(res.body.id, '', 20);
    expect(items.map((i) => i.run_id)).toEqual([...originals].reverse());
    for (const item of items) {
      const kind = kinds[originals.indexOf(item.run_id)];
      if (kind === 'short') {
        expect(item).toMatchObject({ verdict: 'failed', status: 'failed', replay_run_id: null, first_mismatch_step: null });
        expect(item.reason).toMatch(/behaviors\.1.*not a step index of the run \(0\.\.0\)/);
        continue;
      }
      const run = await getRun(item.replay_run_id!);
      expect(run.replay_of).toBe(item.run_id);
      expect(item.status).toBe(run.status);
      // finished by its first attempt: no finish was refused and left to a takeover
      if (kind !== 'broken') expect(run.attempts).toBe(1);
      if (kind === 'match') {
        expect(item).toMatchObject({ verdict: 'match', first_mismatch_step: null, reason: null });
        expect(run).toMatchObject({ status: 'succeeded', replay: { verdict: 'match' } });
      } else if (kind === 'mismatch') {
        expect(item).toMatchObject({ verdict: 'mismatch', first_mismatch_step: 1, reason: null });
        expect(run).toMatchObject({ status: 'failed', error: { type: 'replay_mismatch', step_index: 1 }, replay: { verdict: 'mismatch' } });
        expect(run.replay.mismatches[0].step_index).toBe(1);
      } else {
        expect(item).toMatchObject({ verdict: 'failed', first_mismatch_step: null });
        expect(run).toMatchObject({ status: 'failed', error: { type: 'step_failed', step_index: 1 } });
        expect(item.reason).toBe(`step_failed: ${run.error.message}`);
      }
    }
    // one replay run per started item, never two (whatever the retries)
    const perOriginal = await db.query(`SELECT replay_of, count(*) AS n FROM runs WHERE batch_id = $1 GROUP BY replay_of`, [res.body.id]);
    expect(perOriginal.rows).toHaveLength(50 - kinds.filter((k) => k === 'short').length);
    expect(perOriginal.rows.every((r: { n: string }) => r.n === '1')).toBe(true);

    // the verdict filter
    const mismatches = await allItems(res.body.id, '&verdict=mismatch');
    expect(mismatches).toHaveLength(expected.mismatch);
    expect(mismatches.every((i) => i.verdict === 'mismatch')).toBe(true);
    expect(await allItems(res.body.id, '&verdict=pending')).toEqual([]);
    upstream.broken = false;
  }, 180_000);

  it('keeps at most REPLAY_BATCH_CONCURRENCY replay runs of a batch at a slow upstream at once', async () => {
    upstream.delayMs = 0;
    const agent = 'batch-slow';
    const originals = await submitAll(
      Array.from({ length: 12 }, (_, n) => ({
        agent,
        steps: [{ name: 'work', skill: 'http.request', params: { url: `${upstream.url}/work/${n}` } }],
      })),
    );
    upstream.delayMs = 400;
    upstream.maxInFlight = 0;
    const hitsBefore = upstream.hits;
    const started = Date.now();
    const res = await createBatch({ filter: { agent_id: agent }, replay: { default_behavior: 'execute' } }).expect(202);
    const sampler = sampleActive(res.body.id);
    const batch = await batchDone(res.body.id);
    const maxActive = await sampler.stop();
    expect(batch).toMatchObject({ status: 'completed', total: originals.length, counts: { match: originals.length } });
    expect(upstream.hits - hitsBefore).toBe(originals.length);
    expect(upstream.maxInFlight).toBe(CONCURRENCY);
    expect(maxActive).toBeLessThanOrEqual(CONCURRENCY);
    // 12 calls of 400 ms, 3 at a time: at least 4 rounds
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 400 - 50);
    upstream.delayMs = 0;
  }, 120_000);

  it("a normal run's latency stays low while a batch of 200 runs; cancel: pending never start, running ones are cancelled, 409 again", async () => {
    upstream.delayMs = 0;
    const agent = 'batch-big';
    await submitAll(
      Array.from({ length: 200 }, (_, n) => ({
        agent,
        steps: [{ name: 'work', skill: 'http.request', params: { url: `${upstream.url}/big/${n}` } }],
      })),
    );
    upstream.delayMs = 300;
    const res = await createBatch({ filter: { agent_id: agent, limit: 200 }, replay: { default_behavior: 'execute' } }).expect(202);
    const id = res.body.id as string;
    expect(res.body.total).toBe(200);
    await waitFor(async () => {
      const b = await getBatch(id);
      return b.counts.match >= 2 * CONCURRENCY ? b : undefined;
    }, 30_000);

    // mid-batch: a 1-step run of this tenant and one of another tenant finish quickly
    const other = await createTenant(t, 'bystander');
    const timings: number[] = [];
    for (const as of [auth, other.auth]) {
      const before = Date.now();
      const runId = await submit('interactive', [{ name: 'one', skill: 'transform', params: { expression: '1 + 1' } }], {}, as);
      const run = await finished(runId, as);
      expect(run).toMatchObject({ status: 'succeeded', output: 2 });
      timings.push(Date.now() - before);
    }
    console.log(`normal runs during a 200-run batch: ${timings.map((ms) => `${ms} ms`).join(', ')}`);
    for (const ms of timings) expect(ms).toBeLessThan(3_000);
    const mid = await getBatch(id);
    expect(mid.status).toBe('running');
    expect(mid.counts.pending).toBeGreaterThan(100);
    expect(await activeReplayRuns(id)).toBeLessThanOrEqual(CONCURRENCY);

    // cancel
    const cancelled = (await t.http.post(`/v1/replays/${id}/cancel`).set('Authorization', auth).expect(202)).body as Batch;
    expect(cancelled).toMatchObject({ id, status: 'cancelled', total: 200 });
    expect(cancelled.finished_at).not.toBeNull();
    expectCountsAddUp(cancelled);
    expect(cancelled.counts.pending).toBe(0);
    expect(cancelled.counts.cancelled).toBeGreaterThan(100);
    expect(await activeReplayRuns(id)).toBe(0);
    const started = Number((await db.query(`SELECT count(*) AS n FROM runs WHERE batch_id = $1`, [id])).rows[0].n);
    const items = await allItems(id);
    const running = items.filter((i) => i.verdict === 'cancelled' && i.replay_run_id !== null);
    expect(running.length).toBeGreaterThan(0);
    expect(running.length).toBeLessThanOrEqual(CONCURRENCY);
    for (const item of running) {
      expect(item.status).toBe('cancelled');
      expect((await getRun(item.replay_run_id!)).status).toBe('cancelled');
      expect(item.reason).toMatch(/batch was cancelled/);
    }
    const never = items.filter((i) => i.verdict === 'cancelled' && i.replay_run_id === null);
    expect(never.length).toBe(cancelled.counts.cancelled - running.length);
    expect(never.every((i) => i.status === 'cancelled' && /before this item started/.test(i.reason ?? ''))).toBe(true);
    expect(started).toBe(items.filter((i) => i.replay_run_id !== null).length);

    // pending items never start: nothing new in a while, and the batch stays as it was
    await new Promise((r) => setTimeout(r, 1_500));
    expect(Number((await db.query(`SELECT count(*) AS n FROM runs WHERE batch_id = $1`, [id])).rows[0].n)).toBe(started);
    const later = await getBatch(id);
    expect(later).toEqual(cancelled);

    const again = await t.http.post(`/v1/replays/${id}/cancel`).set('Authorization', auth).expect(409);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({ type: 'replay-batch-finished', status: 409 });
    upstream.delayMs = 0;
  }, 240_000);

  it('cancelling one replay run of a batch cancels its item; the batch goes on and completes', async () => {
    upstream.delayMs = 0;
    const agent = 'batch-one-cancel';
    await submitAll(
      Array.from({ length: 5 }, (_, n) => ({
        agent,
        steps: [{ name: 'work', skill: 'http.request', params: { url: `${upstream.url}/one/${n}` } }],
      })),
    );
    upstream.delayMs = 600;
    const res = await createBatch({ filter: { agent_id: agent }, replay: { default_behavior: 'execute' } }).expect(202);
    const first = await waitFor(async () => (await allItems(res.body.id)).find((i) => i.replay_run_id !== null));
    await t.http.post(`/v1/runs/${first.replay_run_id}/cancel`).set('Authorization', auth).expect(202);
    const batch = await batchDone(res.body.id);
    expect(batch).toMatchObject({ status: 'completed', total: 5, counts: { cancelled: 1, match: 4, pending: 0 } });
    const item = (await allItems(res.body.id)).find((i) => i.run_id === first.run_id)!;
    expect(item).toMatchObject({ verdict: 'cancelled', status: 'cancelled', reason: 'The replay run was cancelled.' });
    upstream.delayMs = 0;
  }, 60_000);

  it('creation is idempotent: same key and body -> the same batch; another body -> 422; concurrent retries make one batch', async () => {
    const body = { filter: { agent_id: 'batch-fifty', limit: 3 }, replay: { default_behavior: 'skip' } };
    const first = await createBatch(body, 'batch-key-1').expect(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // the same body with its keys in another order is the same request
    const again = await createBatch(
      { replay: { default_behavior: 'skip' }, filter: { limit: 3, agent_id: 'batch-fifty' } },
      'batch-key-1',
    ).expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const reused = await createBatch({ ...body, replay: { default_behavior: 'check' } }, 'batch-key-1').expect(422);
    expect(reused.body).toMatchObject({ type: 'idempotency-key-reused', status: 422 });
    // the key is the tenant's: another tenant's same key is another request
    const stranger = await createTenant(t, 'stranger');
    const theirs = await createBatch(body, 'batch-key-1', stranger.auth).expect(202);
    expect(theirs.body.id).not.toBe(first.body.id);
    expect(theirs.body.total).toBe(0);

    const storm = await Promise.all(Array.from({ length: 12 }, () => createBatch(body, 'batch-key-storm')));
    const accepted = storm.filter((r) => r.status === 202);
    expect(storm.every((r) => r.status === 202 || (r.status === 409 && r.body.type === 'idempotency-request-in-progress'))).toBe(true);
    expect(new Set(accepted.map((r) => r.body.id)).size).toBe(1);
    const stored = await db.query(`SELECT count(*) AS n FROM replay_batches WHERE idempotency_key = 'batch-key-storm'`);
    expect(stored.rows[0].n).toBe('1');
    await batchDone(first.body.id);
    await batchDone(accepted[0].body.id);
  }, 60_000);

  it('no match: 202 with total 0, completed; batches are listed newest first with cursor paging', async () => {
    const empty = await createBatch({ filter: { agent_id: 'nobody-here' } }).expect(202);
    expect(empty.body).toMatchObject({
      status: 'completed',
      total: 0,
      counts: { pending: 0, match: 0, mismatch: 0, failed: 0, cancelled: 0 },
      replay: {},
    });
    expect(empty.body.finished_at).not.toBeNull();
    const ids = [empty.body.id];
    for (let i = 0; i < 2; i++) ids.push((await createBatch({ filter: { agent_id: `nobody-${i}` } }).expect(202)).body.id);
    const page1 = (await t.http.get('/v1/replays?limit=2').set('Authorization', auth).expect(200)).body;
    expect(page1.data.map((b: Batch) => b.id)).toEqual([ids[2], ids[1]]);
    expect(page1.next_cursor).toEqual(expect.any(String));
    const page2 = (await t.http.get(`/v1/replays?limit=2&cursor=${page1.next_cursor}`).set('Authorization', auth).expect(200)).body;
    expect(page2.data[0].id).toBe(ids[0]);
    for (const b of [...page1.data, ...page2.data]) expectCountsAddUp(b);
    await t.http.get('/v1/replays?cursor=bm9wZQ').set('Authorization', auth).expect(400);
  });

  it("another tenant's batch is 404 everywhere, and its runs are never selected", async () => {
    const mine = (await createBatch({ filter: { agent_id: 'batch-slow' }, replay: { default_behavior: 'skip' } }).expect(202)).body;
    const other = await createTenant(t, 'outsider');
    for (const path of [`/v1/replays/${mine.id}`, `/v1/replays/${mine.id}/items`]) {
      const res = await t.http.get(path).set('Authorization', other.auth).expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    await t.http.post(`/v1/replays/${mine.id}/cancel`).set('Authorization', other.auth).expect(404);
    expect((await t.http.get('/v1/replays').set('Authorization', other.auth).expect(200)).body.data).toEqual([]);
    // naming my runs selects nothing for them
    const myRuns = (await db.query(`SELECT id FROM runs WHERE agent_id = 'batch-slow' LIMIT 3`)).rows.map((r: { id: string }) => r.id);
    const theirs = (await createBatch({ filter: { run_ids: myRuns } }, undefined, other.auth).expect(202)).body;
    expect(theirs).toMatchObject({ total: 0, status: 'completed' });
    await t.http.get('/v1/replays/not-a-uuid').set('Authorization', auth).expect(404);
    await t.http.get('/v1/replays/00000000-0000-0000-0000-000000000000').set('Authorization', auth).expect(404);
    await batchDone(mine.id);
  });

  it('run_ids selects those runs (replay runs included when named), newest first', async () => {
    const a = await submit('named', [{ name: 's', skill: 'transform', params: { expression: '1' } }]);
    await finished(a);
    const r = (await t.http.post(`/v1/runs/${a}/replay`).set('Authorization', auth).send({}).expect(202)).body.id;
    await finished(r);
    const res = await createBatch({ filter: { run_ids: [a, r], status: ['succeeded'] }, replay: { default_behavior: 'check' } }).expect(
      202,
    );
    expect(res.body.total).toBe(2);
    const batch = await batchDone(res.body.id);
    expect(batch.counts.match).toBe(2);
    expect((await allItems(res.body.id)).map((i) => i.run_id)).toEqual([r, a]);
  });

  it('the sweep repairs a batch whose replay run finished without settling its item', async () => {
    upstream.delayMs = 0;
    const agent = 'batch-sweep';
    await submitAll(
      Array.from({ length: CONCURRENCY + 2 }, (_, n) => ({
        agent,
        steps: [{ name: 'work', skill: 'http.request', params: { url: `${upstream.url}/sweep/${n}` } }],
      })),
    );
    upstream.delayMs = 3_000;
    const res = await createBatch({ filter: { agent_id: agent }, replay: { default_behavior: 'execute' } }).expect(202);
    const id = res.body.id as string;
    await waitFor(async () => ((await activeReplayRuns(id)) === CONCURRENCY ? true : undefined));
    // A finish that committed without its item (a crash between two statements, an older process): simulated in SQL.
    const victim = (await db.query(`SELECT replay_run_id FROM replay_batch_items WHERE batch_id = $1 AND state = 'running' LIMIT 1`, [id]))
      .rows[0].replay_run_id as string;
    await db.query(
      `UPDATE runs SET status = 'failed', error = '{"type":"internal_error","message":"lost"}', finished_at = now(), lease_expires_at = NULL WHERE id = $1`,
      [victim],
    );
    const stuck = await getBatch(id);
    expect(stuck.counts.pending).toBe(stuck.total); // the item still shows its run as active
    const maintenance = t.app.get<MaintenanceOrchestrator>(MAINTENANCE_ORCHESTRATOR);
    expect(await maintenance.sweepReplayBatches()).toBe(1);
    const repaired = (await allItems(id)).find((i) => i.replay_run_id === victim)!;
    expect(repaired).toMatchObject({ verdict: 'failed', reason: 'internal_error: lost' });
    expect(await activeReplayRuns(id)).toBe(CONCURRENCY); // the free slot was given to the next item
    expect(await maintenance.sweepReplayBatches()).toBe(0); // nothing else is stuck
    upstream.delayMs = 0;
    const batch = await batchDone(id);
    expect(batch.counts).toEqual({ pending: 0, match: CONCURRENCY + 1, mismatch: 0, failed: 1, cancelled: 0 });
  }, 60_000);

  it("takes the single replay's what-if options: input, overrides and compare reach every replay run; a patch that does not fit a run fails its item", async () => {
    const agent = 'batch-whatif';
    const double = { name: 'double', skill: 'transform', params: { expression: 'input.n * 2' } };
    const plans = [1, 2, 3].map((n) => ({ agent, input: { n }, steps: [double] }));
    const [, two] = await submitAll([...plans, { agent, input: { n: 9 }, steps: [{ name: 'pause', skill: 'delay', params: { ms: 1 } }] }]);
    const overrides = { '0': { params: { expression: 'input.n * 2 + 0.001', ms: null } } };
    const run = async (replay: Record<string, unknown>) => {
      const res = await createBatch({ filter: { agent_id: agent }, replay }).expect(202);
      expect(res.body.replay).toEqual(replay);
      const batch = await batchDone(res.body.id);
      return { batch, items: await allItems(res.body.id) };
    };

    // the override reaches every replay run; numeric tolerance absorbs it
    const tolerant = await run({ default_behavior: 'check', overrides, compare: { '0': { mode: 'numeric', abs: 0.01 } } });
    expect(tolerant.batch.counts).toEqual({ pending: 0, match: 3, mismatch: 0, failed: 1, cancelled: 0 });
    const misfit = tolerant.items.find((i) => i.verdict === 'failed')!;
    expect(misfit.replay_run_id).toBeNull();
    expect(misfit.reason).toMatch(/^The replay options do not fit this run: overrides\.0\.params\.ms: /);
    for (const item of tolerant.items.filter((i) => i.verdict === 'match')) {
      const trace = (await t.http.get(`/v1/runs/${item.replay_run_id}/trace`).set('Authorization', auth).expect(200)).body;
      expect(trace.steps[0]).toMatchObject({ params: { expression: 'input.n * 2 + 0.001' }, checked: true, mismatch: null });
      expect(trace.steps[0].comparison).toMatchObject({ mode: 'numeric', passed: true });
    }
    // exact comparison: the same override is a mismatch at step 0
    const exact = await run({ default_behavior: 'check', overrides });
    expect(exact.batch.counts).toEqual({ pending: 0, match: 0, mismatch: 3, failed: 1, cancelled: 0 });
    expect(exact.items.filter((i) => i.verdict === 'mismatch').every((i) => i.first_mismatch_step === 0)).toBe(true);
    // another input for every run: only the run whose input it was matches
    const input = await run({ default_behavior: 'check', input: { n: 2 } });
    expect(input.batch.counts).toEqual({ pending: 0, match: 2, mismatch: 2, failed: 0, cancelled: 0 });
    expect(input.items.find((i) => i.run_id === two)!.verdict).toBe('match');
  }, 60_000);

  it('names the field of bad input (400 problem+json): filter, replay options checked as the single replay checks them', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ filter: { status: ['cancelled'] } }, 'filter.status', /only finished runs that succeeded or failed/],
      [{ filter: { limit: 1001 } }, 'filter.limit', /1000/],
      [{ filter: { created_after: '2026-11-01' } }, 'filter.created_after', /RFC 3339/],
      [{ filter: { run_ids: [crypto.randomUUID(), crypto.randomUUID()], limit: 1 } }, 'filter.run_ids', /more than limit/],
      [{ replay: { ignore_paths: ['a'] } }, 'replay.ignore_paths[0]', /JSON Pointer/],
      [{ replay: { behaviors: { x: 'check' } } }, 'replay.behaviors.x', /not a step index/],
      [{ replay: { default_behavior: 'maybe' } }, 'replay.default_behavior', /one of execute, skip, check/],
      [{ replay: { extra: 1 } }, 'replay.extra', /should not exist/],
      [{ replay: { overrides: { '0': { params: 5 } } } }, 'replay.overrides.0.params', /merge patch/],
      [{ replay: { compare: { '*': { mode: 'fuzzy' } } } }, 'replay.compare.*.mode', /./],
    ];
    for (const [body, field, message] of cases) {
      const res = await createBatch(body).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: 'validation-error', status: 400 });
      expect(res.body.errors).toEqual(expect.arrayContaining([{ field, message: expect.stringMatching(message) }]));
    }
  });

  it('reports batch progress on /metrics', async () => {
    const text = (await t.http.get('/metrics').expect(200)).text;
    expect(text).toMatch(/agentruns_replay_batch_items_total\{verdict="match"\} [1-9]/);
    expect(text).toMatch(/agentruns_replay_batch_items_total\{verdict="cancelled"\} [1-9]/);
    expect(text).toMatch(/agentruns_replay_batches_created_total [1-9]/);
    expect(text).toMatch(/agentruns_replay_batches_running 0/);
  });

  it('run retention keeps the originals a batch has yet to replay; a finished batch keeps its report once its runs are purged', async () => {
    upstream.delayMs = 0;
    const agent = 'batch-retention';
    const originals = await submitAll(
      Array.from({ length: CONCURRENCY + 1 }, (_, n) => ({
        agent,
        steps: [{ name: 'work', skill: 'http.request', params: { url: `${upstream.url}/retention/${n}` } }],
      })),
    );
    upstream.delayMs = 2_000;
    const res = await createBatch({ filter: { agent_id: agent }, replay: { default_behavior: 'execute' } }).expect(202);
    await waitFor(async () => ((await activeReplayRuns(res.body.id)) === CONCURRENCY ? true : undefined));
    const before = await getBatch(fiftyBatchId);
    // RUN_RETENTION_DAYS' purge, with every finished run past its cutoff
    const purged = await new RunStoreDriver().purgeFinished(t.app.get(DataSource).manager, new Date(Date.now() + 86_400_000), 100_000);
    expect(purged.length).toBeGreaterThan(50);
    expect(purged.filter((id) => originals.includes(id))).toEqual([]); // one item pending, three running: all kept
    upstream.delayMs = 0;
    const batch = await batchDone(res.body.id);
    expect(batch.counts).toEqual({ pending: 0, match: CONCURRENCY + 1, mismatch: 0, failed: 0, cancelled: 0 });
    // the 50-run batch's report outlives its runs: same counts, every item with its verdict and ids
    expect(await getBatch(fiftyBatchId)).toEqual(before);
    const items = await allItems(fiftyBatchId);
    expect(items).toHaveLength(50);
    expect(items.filter((i) => i.replay_run_id !== null).every((i) => i.status === i.verdict)).toBe(true);
    await t.http.get(`/v1/runs/${items[0].run_id}`).set('Authorization', auth).expect(404);
  }, 60_000);
});
