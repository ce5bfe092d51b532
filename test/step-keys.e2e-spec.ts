import type { SideEffectServer } from './support/side-effect-server.js';
import { createTenant, type RunsHarness, startRunsHarness, type TestApp, waitFor } from './support/test-app.js';

const TTL_SECONDS = 8;

interface Step {
  status: string;
  executed: boolean;
  from_cache: boolean;
  output: { status: number; body: { paid: string; charge: number } };
  started_at: string;
  finished_at: string;
}

/**
 * Step idempotency keys end to end (real PostgreSQL + Redis, a payment-like upstream that records
 * headers): the key travels as the Idempotency-Key header, is scoped to the tenant, and expires after
 * STEP_IDEMPOTENCY_TTL_SECONDS.
 */
describe('step idempotency keys, end to end', () => {
  let h: RunsHarness;
  let t: TestApp;
  let server: SideEffectServer;
  let auth: string;

  beforeAll(async () => {
    h = await startRunsHarness('keys', (s) => ({
      SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}`,
      STEP_IDEMPOTENCY_TTL_SECONDS: String(TTL_SECONDS),
    }));
    ({ app: t, server, auth } = h);
  });

  afterAll(async () => {
    await h?.dispose();
  });

  const run = async (steps: unknown[], authorization = auth) => {
    const id = (await t.http.post('/v1/agents/keys/runs').set('Authorization', authorization).send({ steps }).expect(202)).body
      .id as string;
    const done = await waitFor(async () => {
      const res = await t.http.get(`/v1/runs/${id}`).set('Authorization', authorization).expect(200);
      return ['succeeded', 'failed', 'cancelled'].includes(res.body.status) ? res.body : undefined;
    });
    const trace = (await t.http.get(`/v1/runs/${id}/trace`).set('Authorization', authorization).expect(200)).body;
    return { run: done as { status: string }, steps: trace.steps as Step[] };
  };
  const pay = (path: string, key: string | null, extra: Record<string, unknown> = {}) => ({
    name: 'pay',
    skill: 'http.request',
    params: { url: `${server.url}${path}`, method: 'POST', body: { amount: 5 }, ...extra },
    ...(key ? { idempotency_key: key } : {}),
  });
  const keysSent = (path: string) => server.log.filter((l) => l.path === path).map((l) => l.headers['idempotency-key']);

  it('sends the step key as the Idempotency-Key header (and no such header for an unkeyed step)', async () => {
    const keyed = await run([pay('/pay/header', 'order-7-charge')]);
    expect(keyed.run.status).toBe('succeeded');
    expect(keysSent('/pay/header')).toEqual(['order-7-charge']);
    const unkeyed = await run([pay('/pay/no-header', null)]);
    expect(unkeyed.run.status).toBe('succeeded');
    expect(server.log.filter((l) => l.path === '/pay/no-header')).toHaveLength(1);
    expect(keysSent('/pay/no-header')).toEqual([undefined]);
  });

  it('keeps step keys apart between tenants: the same key in two tenants runs twice, within a tenant once', async () => {
    const other = (await createTenant(t, 'keys-other')).auth;
    const mine = await run([pay('/pay/tenants', 'shared-step-key')]);
    const theirs = await run([pay('/pay/tenants', 'shared-step-key')], other);
    const mineAgain = await run([pay('/pay/tenants', 'shared-step-key')]);
    expect([mine.run.status, theirs.run.status, mineAgain.run.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // the upstream received the request once per tenant (it has its own key space, so it answers the same charge)
    expect(server.hits('/pay/tenants')).toBe(2);
    expect(keysSent('/pay/tenants')).toEqual(['shared-step-key', 'shared-step-key']);
    expect(mine.steps[0]).toMatchObject({ executed: true, from_cache: false });
    expect(theirs.steps[0]).toMatchObject({ executed: true, from_cache: false });
    // the first tenant's key still holds (its third run started within the TTL of the first)
    expect(Date.parse(mineAgain.steps[0].started_at) - Date.parse(mine.steps[0].finished_at)).toBeLessThan(TTL_SECONDS * 1000);
    expect(mineAgain.steps[0]).toMatchObject({ executed: false, from_cache: true, output: mine.steps[0].output });
  });

  it('frees a step key after STEP_IDEMPOTENCY_TTL_SECONDS: the next step with the key executes again', async () => {
    const first = await run([pay('/pay/ttl', 'expiring-key')]);
    // A later hit of the key (taken from the cache) does not extend the key: expiry counts from the execution.
    await new Promise((r) => setTimeout(r, 3_000));
    const cached = await run([pay('/pay/ttl', 'expiring-key')]);
    expect(Date.parse(cached.steps[0].started_at) - Date.parse(first.steps[0].finished_at)).toBeLessThan(TTL_SECONDS * 1000);
    expect(cached.steps[0]).toMatchObject({ executed: false, from_cache: true });
    expect(server.applied('/pay/ttl')).toBe(1);
    // past the TTL (measured from the first step's end, plus a margin for the two clocks)
    const waitMs = Date.parse(first.steps[0].finished_at) + TTL_SECONDS * 1000 + 1_500 - Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, waitMs)));
    const later = await run([pay('/pay/ttl', 'expiring-key')]);
    expect(later.run.status).toBe('succeeded');
    expect(later.steps[0]).toMatchObject({ executed: true, from_cache: false });
    // sent again, with the same header (this upstream remembers keys longer and answers the first charge again)
    expect(keysSent('/pay/ttl')).toEqual(['expiring-key', 'expiring-key']);
    expect(later.steps[0].output.body.charge).toBe(1);
  }, 60_000);
});
