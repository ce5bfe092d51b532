import { StepOutputTooLargeError } from '../../../shared/canonical-json.js';
import { MemoryStepIdempotencyStore } from './memory-step-idempotency.store.js';
import { type EnforcedStep, ReplayEnforcer } from './replay-enforcer.driver.js';

const TENANT = 'tenant-1';
const clock = { now: () => new Date() };

const step = (fields: Partial<EnforcedStep> = {}): EnforcedStep => ({
  index: 0,
  skill: 'http.request',
  params: { url: 'https://example.test/a' },
  idempotency_key: null,
  behavior: 'execute',
  ...fields,
});

/** STEP_MAX_OUTPUT_BYTES: checked where every executed output is hashed. */
describe('ReplayEnforcer: output cap (maxOutputBytes)', () => {
  const store = new MemoryStepIdempotencyStore(clock);
  const enforcer = new ReplayEnforcer(store, { ttlSeconds: 3600, leaseMs: 5_000, waitMs: 5_000, clock, maxOutputBytes: 100 });
  const big = { blob: 'x'.repeat(100) }; // 111 bytes of canonical JSON
  const small = { blob: 'x'.repeat(80) }; // 91 bytes

  it('fails an executed output over the cap with StepOutputTooLargeError, keyed or not', async () => {
    await expect(enforcer.enforceStep(step(), async () => big, TENANT)).rejects.toThrow(StepOutputTooLargeError);
    await expect(enforcer.enforceStep(step({ idempotency_key: 'k-big' }), async () => big, TENANT)).rejects.toMatchObject({
      bytes: 111,
      limit: 100,
    });
    expect(await store.get(TENANT, 'k-big')).toBeNull(); // nothing stored for the key
    const retry = await enforcer.enforceStep(step({ idempotency_key: 'k-big' }), async () => small, TENANT);
    expect(retry).toMatchObject({ executed: true, output_data: small }); // the claim was released
  });

  it('lets outputs up to the cap through, and never fails a recorded output that a skip returns', async () => {
    await expect(enforcer.enforceStep(step(), async () => small, TENANT)).resolves.toMatchObject({ executed: true });
    const skipped = await enforcer.enforceStep(
      step({ behavior: 'skip', recorded: { output: big } }),
      async () => {
        throw new Error('not called');
      },
      TENANT,
    );
    expect(skipped).toMatchObject({ skipped: true, output_data: big });
  });
});
