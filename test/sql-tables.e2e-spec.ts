import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { TraceStoreDriver, type StepAttempt } from '../src/domains/logs/drivers/trace-store.driver.js';
import { SecretStoreDriver } from '../src/domains/secrets/drivers/secret-store.driver.js';
import { createDataSource } from '../src/infra/database/data-source.js';
import { runMigrationsLocked } from '../src/infra/database/database.module.js';
import { RunErrorType } from '../src/shared/run-errors.js';
import type { StepSpec } from '../src/shared/step.types.js';
import { IdempotencyDriver } from '../src/spine/drivers/idempotency.driver.js';
import { RunStoreDriver } from '../src/spine/drivers/run-store.driver.js';
import { TenantStoreDriver } from '../src/spine/drivers/tenant-store.driver.js';
import type { NewRun } from '../src/spine/run.types.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * The drivers' statements, built from the table descriptions, against the migrated schema: every
 * column a write names exists with the type the description gives, and each write keeps its rules.
 */
describe('driver SQL against the migrated schema', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const tenants = new TenantStoreDriver();
  const runs = new RunStoreDriver();
  const keys = new IdempotencyDriver();
  const traces = new TraceStoreDriver();
  const secrets = new SecretStoreDriver();
  let tenantId: string;

  const spec: StepSpec = { name: 's', skill: 'transform', params: { expression: '1' }, replay_behavior: 'execute', idempotency_key: 'k1' };
  const newRun = (at: Date): NewRun => ({
    id: randomUUID(),
    tenant_id: tenantId,
    agent_id: 'a',
    idempotency_key: null,
    input: { nul: '\u0000' },
    steps: [spec, spec],
    metadata: {},
    replay_of: null,
    replay_options: null,
    created_at: at,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await createDataSource({ url: db.url, poolSize: 2, migrationsRun: true }).initialize();
    await runMigrationsLocked(ds);
    tenantId = (await tenants.insertTenant(ds.manager, randomUUID(), 'tables')).id;
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('tenants and API keys: inserted with the database clock, revoked once', async () => {
    const keyId = randomUUID();
    const key = await tenants.insertApiKey(ds.manager, keyId, tenantId, 'a'.repeat(64));
    expect(key).toMatchObject({ id: keyId, tenant_id: tenantId, revoked_at: null });
    expect(key.created_at).toBeInstanceOf(Date);
    expect(await tenants.findLiveKeyByHash(ds.manager, 'a'.repeat(64))).toEqual({ id: keyId, tenant_id: tenantId });
    expect(await tenants.revokeApiKey(ds.manager, keyId, new Date())).toBe(true);
    expect(await tenants.revokeApiKey(ds.manager, keyId, new Date())).toBe(false);
    expect(await tenants.findLiveKeyByHash(ds.manager, 'a'.repeat(64))).toBeNull();
    expect(await tenants.apiKeyExists(ds.manager, keyId)).toBe(true);
    expect(await tenants.tenantExists(ds.manager, randomUUID())).toBe(false);
  });

  it('runs: a new run reads back with every column; one key holds one live run', async () => {
    const at = new Date('2030-01-01T00:00:00Z');
    const plain = await runs.insertRun(ds.manager, newRun(at));
    expect(plain).toMatchObject({
      status: 'queued',
      attempts: 0,
      input: { nul: '\u0000' },
      steps: [spec, spec],
      created_at: at,
      updated_at: at,
    });
    expect(typeof plain.seq).toBe('string');
    // The inserts return only seq and build the rest: exactly the row as a read returns it.
    expect(plain).toEqual(await runs.findForTenant(ds.manager, tenantId, plain.id));
    const replay = await runs.insertRun(ds.manager, {
      ...newRun(at),
      idempotency_key: 'k',
      replay_of: plain.id,
      replay_options: { default_behavior: 'skip', steps: { 1: 'check' } },
    });
    expect(replay).toEqual(await runs.findForTenant(ds.manager, tenantId, replay.id));

    const scope = { tenantId, agentId: 'a', key: 'idem-1' };
    const first = await keys.insertRunWithKey(ds.manager, newRun(at), scope, 'f'.repeat(64), new Date(at.getTime() + 60_000), 2_000);
    expect(first?.status).toBe('queued');
    expect(first).toEqual(await runs.findForTenant(ds.manager, tenantId, first!.id));
    const second = await keys.insertRunWithKey(ds.manager, newRun(at), scope, 'f'.repeat(64), new Date(at.getTime() + 60_000), 2_000);
    expect(second).toBeNull();
    const check = await keys.checkIdempotency(ds.manager, 'idem-1', tenantId, 'a', at);
    expect(check).toMatchObject({ exists: true, runId: first!.id, isExpired: false, fingerprint: 'f'.repeat(64) });
    // An expired key is taken over by the next request.
    const later = new Date(at.getTime() + 120_000);
    const third = await keys.insertRunWithKey(ds.manager, newRun(later), scope, 'e'.repeat(64), new Date(later.getTime() + 60_000), 2_000);
    expect(third?.id).not.toBe(first!.id);
  });

  it('trace rows: each write of an attempt replaces the last, only while the attempt holds the run', async () => {
    const run = await runs.insertRun(ds.manager, newRun(new Date()));
    const t0 = new Date('2030-01-01T00:00:00Z');
    const taken = await runs.startAttempt(ds.manager, run.id, t0, 60_000);
    expect(taken).toMatchObject({ status: 'running', attempts: 1 });
    const attempt = (n: number, runAttempt = 1): StepAttempt => ({
      runId: run.id,
      runAttempt,
      index: 0,
      spec,
      params: { expression: `${n}` },
      attempt: n,
      startedAt: t0,
    });
    const result = {
      executed: true,
      skipped: false,
      checked: false,
      from_cache: false,
      output_data: { v: 1 },
      output_hash: 'b'.repeat(64),
      expected_hash: null,
      mismatch: null,
      comparison: { mode: 'text' as const, passed: true, score: 0.9, reason: null, ignored_paths: ['/headers/date'] },
    };

    expect(await traces.markRunning(ds.manager, attempt(1))).toBe(true);
    expect((await traces.getSteps(ds.manager, run.id))[0]).toMatchObject({ status: 'running', attempts: 1, output: null });

    expect(
      await traces.markFailed(ds.manager, attempt(1), { type: RunErrorType.StepFailed, message: 'no' }, new Date(t0.getTime() + 5)),
    ).toBe(true);
    expect((await traces.getSteps(ds.manager, run.id))[0]).toMatchObject({
      status: 'failed',
      error: { type: 'step_failed' },
      duration_ms: 5,
    });

    expect(await traces.markSucceeded(ds.manager, { ...attempt(2), fingerprint: 'd'.repeat(64) }, result, new Date(t0.getTime() + 7))).toBe(
      true,
    );
    const [done] = await traces.getSteps(ds.manager, run.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      params: { expression: '2' },
      output: { v: 1 },
      comparison: { mode: 'text', passed: true, score: 0.9, reason: null, ignored_paths: ['/headers/date'] },
      error: null,
      executed: true,
    });
    expect(done).not.toHaveProperty('run_id');

    // A write of an attempt that no longer holds the run (fencing) changes nothing.
    expect(await traces.markRunning(ds.manager, attempt(3, 2))).toBe(false);
    expect(
      await traces.markFailed(ds.manager, attempt(3, 0), { type: RunErrorType.StepFailed, message: 'late' }, new Date(t0.getTime() + 9)),
    ).toBe(false);
    expect((await traces.getSteps(ds.manager, run.id))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });

    // The rest of the plan is cancelled; the finished step stays.
    await traces.cancelRemaining(ds.manager, run.id, [spec, spec], 0, new Date());
    expect((await traces.getSteps(ds.manager, run.id)).map((s) => s.status)).toEqual(['succeeded', 'cancelled']);
    expect(await traces.findCompletedKey(ds.manager, tenantId, 'k1', new Date(0))).toMatchObject({
      output: { v: 1 },
      output_hash: 'b'.repeat(64),
      fingerprint: 'd'.repeat(64),
    });
    expect(done).not.toHaveProperty('fingerprint'); // internal: not part of the trace as read
    expect(await runs.renewLease(ds.manager, run.id, 1, new Date(), 1000)).toBe('held');
    expect(await runs.finish(ds.manager, run.id, 2, { status: 'succeeded', output: null, error: null }, new Date())).toBe(false);
    expect(await runs.finish(ds.manager, run.id, 1, { status: 'succeeded', output: { v: 1 }, error: null }, new Date())).toBe(true);
  });

  it("run leases: a live holder keeps the run, on the database clock whatever the workers' clocks say", async () => {
    const run = await runs.insertRun(ds.manager, newRun(new Date()));
    const t0 = new Date('2031-01-01T00:00:00Z'); // the workers' clocks: far from PostgreSQL's, which decides leases
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const LEASE = 1_500;
    expect(await runs.startAttempt(ds.manager, run.id, t0, LEASE)).toMatchObject({ attempts: 1 });
    // While attempt 1's lease is live, another worker that gets the job takes nothing: busy until it ends,
    // even when that worker's clock is an hour ahead of the holder's.
    const busy = await runs.startAttempt(ds.manager, run.id, at(3_600_000), LEASE);
    expect(busy).toEqual({ busyForMs: expect.any(Number) as number });
    expect((busy as { busyForMs: number }).busyForMs).toBeGreaterThan(500);
    expect((busy as { busyForMs: number }).busyForMs).toBeLessThanOrEqual(LEASE);
    await sleep(700);
    expect(await runs.renewLease(ds.manager, run.id, 1, at(700), LEASE)).toBe('held'); // a fresh LEASE from now
    await sleep(1_000); // past the first lease's end, within the renewed one
    expect(await runs.startAttempt(ds.manager, run.id, at(3_600_000), LEASE)).toMatchObject({ busyForMs: expect.any(Number) as number });
    // Attempt 1 stalls past its lease: attempt 2 takes the run (its clock says nothing about it).
    await sleep(700);
    expect(await runs.startAttempt(ds.manager, run.id, at(-3_600_000), 60_000)).toMatchObject({ status: 'running', attempts: 2 });
    const step = (runAttempt: number): StepAttempt => ({
      runId: run.id,
      runAttempt,
      index: 0,
      spec,
      params: spec.params,
      attempt: runAttempt,
      startedAt: at(3_600),
    });
    const ok = {
      executed: true,
      skipped: false,
      checked: false,
      from_cache: false,
      output_data: 1,
      output_hash: 'c'.repeat(64),
      expected_hash: null,
      mismatch: null,
      comparison: null,
    };
    // Every write of the stale attempt 1 is refused...
    expect(await runs.renewLease(ds.manager, run.id, 1, at(3_600), LEASE)).toBe('lost');
    expect(await traces.markRunning(ds.manager, step(1))).toBe(false);
    expect(await traces.markSucceeded(ds.manager, step(1), ok, at(3_700))).toBe(false);
    expect(await runs.markRetry(ds.manager, run.id, 1, { type: RunErrorType.StepFailed, message: 'late' }, at(3_700))).toBe(false);
    expect(await runs.releaseAttempt(ds.manager, run.id, 1, at(3_700))).toBe(false);
    expect(await runs.finish(ds.manager, run.id, 1, { status: 'succeeded', output: 'stale', error: null }, at(3_700))).toBe(false);
    expect(await traces.getSteps(ds.manager, run.id)).toEqual([]);
    // ...while attempt 2's are taken.
    expect(await traces.markRunning(ds.manager, step(2))).toBe(true);
    // After a cancel, the running step may still record its result, but no step may start.
    expect(await runs.cancel(ds.manager, tenantId, run.id, at(3_800))).toMatchObject({ status: 'cancelled', attempts: 2 });
    expect(await runs.renewLease(ds.manager, run.id, 2, at(3_850), LEASE)).toBe('cancelled'); // its running step may finish
    // A step this attempt never started (cached, skipped) cannot be recorded after the cancel.
    expect(await traces.markSucceeded(ds.manager, { ...step(2), index: 1 }, ok, at(3_860))).toBe(false);
    expect(await traces.markSucceeded(ds.manager, { ...step(2), started: true }, ok, at(3_900))).toBe(true);
    expect(await traces.markRunning(ds.manager, { ...step(2), index: 1 })).toBe(false);
    expect(await runs.finish(ds.manager, run.id, 2, { status: 'succeeded', output: 1, error: null }, at(4_000))).toBe(false);
    expect(await runs.startAttempt(ds.manager, run.id, at(10_000), LEASE)).toBeNull();
    // A shutdown gives its attempt back: the run is queued again with the attempt not counted.
    const other = await runs.insertRun(ds.manager, newRun(new Date()));
    expect(await runs.startAttempt(ds.manager, other.id, t0, LEASE)).toMatchObject({ attempts: 1 });
    expect(await runs.releaseAttempt(ds.manager, other.id, 1, at(100))).toBe(true);
    expect(await runs.startAttempt(ds.manager, other.id, at(200), LEASE)).toMatchObject({ attempts: 1 });
  });

  it('tenant secrets: sealed rows by tenant and name, replaced in place, listed without values', async () => {
    const other = (await tenants.insertTenant(ds.manager, randomUUID(), 'other')).id;
    const sealed = (n: number) => ({
      keyId: `key${n}`,
      iv: Buffer.alloc(12, n),
      ciphertext: Buffer.from(`ct${n}`),
      tag: Buffer.alloc(16, n),
    });
    const t0 = new Date('2030-01-01T00:00:00Z');
    const t1 = new Date('2030-01-02T00:00:00Z');
    await secrets.upsert(ds.manager, tenantId, 'b', sealed(1), t0);
    await secrets.upsert(ds.manager, tenantId, 'B', sealed(2), t0);
    await secrets.upsert(ds.manager, tenantId, 'b', sealed(3), t1);
    await secrets.upsert(ds.manager, other, 'b', sealed(4), t0);
    expect(await secrets.list(ds.manager, tenantId)).toEqual([
      { name: 'B', created_at: t0, updated_at: t0 },
      { name: 'b', created_at: t0, updated_at: t1 },
    ]);
    expect((await secrets.existingNames(ds.manager, tenantId, ['b', 'nope'])).sort()).toEqual(['b']);
    const [found] = await secrets.findSealed(ds.manager, tenantId, ['b']);
    expect(found).toEqual({ name: 'b', ...sealed(3) });
    expect(await secrets.delete(ds.manager, tenantId, 'b')).toBe(true);
    expect(await secrets.delete(ds.manager, tenantId, 'b')).toBe(false);
    expect(await secrets.findSealed(ds.manager, tenantId, ['b'])).toEqual([]);
    expect(await secrets.existingNames(ds.manager, other, ['b'])).toEqual(['b']);
  });
});
