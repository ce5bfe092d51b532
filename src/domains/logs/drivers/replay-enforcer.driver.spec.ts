import { jest } from '@jest/globals';
import { MemoryStepIdempotencyStore } from './memory-step-idempotency.store.js';
import {
  type EnforcedStep,
  IdempotencyViolationError,
  ReplayEnforcer,
  ReplayMismatchError,
  StepClaimTimeoutError,
  stepFingerprint,
} from './replay-enforcer.driver.js';
import { hashOutput } from '../../../shared/canonical-json.js';
import type { StoredStepResult } from './step-idempotency-store.port.js';

const TENANT = 'tenant-1';
const clock = { now: () => new Date() };

function setUp(options: Partial<{ waitMs: number; leaseMs: number }> = {}) {
  const store = new MemoryStepIdempotencyStore(clock);
  const enforcer = new ReplayEnforcer(store, {
    ttlSeconds: 3600,
    leaseMs: options.leaseMs ?? 5_000,
    waitMs: options.waitMs ?? 5_000,
    clock,
  });
  return { store, enforcer };
}

const step = (fields: Partial<EnforcedStep> = {}): EnforcedStep => ({
  index: 0,
  skill: 'http.request',
  params: { url: 'https://example.test/a' },
  idempotency_key: null,
  behavior: 'execute',
  ...fields,
});

/** An executor that counts calls and answers `output` (after `delayMs`). */
function counting(output: unknown, delayMs = 0) {
  const fn = jest.fn(async () => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return structuredClone(output);
  });
  return fn;
}

describe('ReplayEnforcer: faults of the original design, pinned', () => {
  it('hashes with the full 64-character SHA-256, never a 16-character prefix', async () => {
    const { enforcer } = setUp();
    const result = await enforcer.enforceStep(step(), counting({ a: 1 }), TENANT);
    expect(result.output_hash).toHaveLength(64);
    expect(result.output_hash).toBe(hashOutput({ a: 1 }));
    expect(enforcer.hashOutput({ a: 1 })).toBe(result.output_hash);
  });

  it('check compares a cached output with the recorded one instead of returning it unchecked', async () => {
    const { enforcer } = setUp();
    const key = 'k-check';
    await enforcer.enforceStep(step({ idempotency_key: key }), counting({ total: 2 }), TENANT); // stored: { total: 2 }
    const exec = counting({ total: 999 });
    const result = await enforcer.enforceStep(
      step({ idempotency_key: key, behavior: 'check', recorded: { output: { total: 1 } } }),
      exec,
      TENANT,
    );
    expect(exec).not.toHaveBeenCalled(); // the key completed: its stored output is what is checked
    expect(result).toMatchObject({ checked: true, from_cache: true, executed: false, output_data: { total: 2 } });
    expect(result.expected_hash).toBe(hashOutput({ total: 1 }));
    expect(result.mismatch).toEqual({
      expected_hash: hashOutput({ total: 1 }),
      actual_hash: hashOutput({ total: 2 }),
      diff: [{ op: 'replace', path: '/total', value: 2 }],
    });
  });

  it('execute with a completed key neither runs the skill again nor overwrites the stored result', async () => {
    const { enforcer, store } = setUp();
    await enforcer.enforceStep(step({ idempotency_key: 'k-exec' }), counting({ v: 'first' }), TENANT);
    const before = await store.get(TENANT, 'k-exec');
    const exec = counting({ v: 'second' });
    const result = await enforcer.enforceStep(step({ idempotency_key: 'k-exec' }), exec, TENANT);
    expect(exec).not.toHaveBeenCalled();
    expect(result).toMatchObject({ executed: false, from_cache: true, output_data: { v: 'first' } });
    expect(await store.get(TENANT, 'k-exec')).toEqual(before);
  });

  it('two concurrent executions of one key run the skill once (no get-then-set race)', async () => {
    const { enforcer, store } = setUp();
    const claims = jest.spyOn(store, 'claim');
    // The one execution holds the key until all ten have tried to claim it: they overlap for sure.
    let overlapped = false;
    const exec = jest.fn(async () => {
      const deadline = Date.now() + 5_000;
      while (claims.mock.calls.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      overlapped = claims.mock.calls.length >= 10;
      return { charged: true };
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => enforcer.enforceStep(step({ idempotency_key: 'k-race' }), exec, TENANT)),
    );
    expect(overlapped).toBe(true);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(results.filter((r) => r.executed)).toHaveLength(1);
    expect(results.filter((r) => r.from_cache)).toHaveLength(9);
    expect(new Set(results.map((r) => r.output_hash)).size).toBe(1);
  });

  it.each(['execute', 'check'] as const)('raises IdempotencyViolationError for a reused key with other params (%s)', async (behavior) => {
    const { enforcer } = setUp();
    await enforcer.enforceStep(step({ idempotency_key: 'k-v', params: { amount: 1 } }), counting('ok'), TENANT);
    const exec = counting('again');
    await expect(
      enforcer.enforceStep(step({ idempotency_key: 'k-v', params: { amount: 2 }, behavior, recorded: { output: 'ok' } }), exec, TENANT),
    ).rejects.toEqual(new IdempotencyViolationError('k-v'));
    expect(exec).not.toHaveBeenCalled();
  });
});

describe('ReplayEnforcer: behaviors', () => {
  it('skip calls no skill, so it takes the stored result of a key used with other params (no fingerprint check)', async () => {
    const { enforcer, store } = setUp();
    await enforcer.enforceStep(step({ idempotency_key: 'k-skip', params: { amount: 1 } }), counting({ charged: 1 }), TENANT);
    const stored = await store.get(TENANT, 'k-skip');
    const exec = counting('again');
    // e.g. a what-if replay's new input changed the step's resolved params
    const other = step({ idempotency_key: 'k-skip', params: { amount: 2 }, behavior: 'skip', recorded: { output: 'recorded' } });
    const result = await enforcer.enforceStep(other, exec, TENANT);
    expect(exec).not.toHaveBeenCalled();
    expect(result).toMatchObject({ skipped: true, from_cache: true, executed: false, output_data: { charged: 1 } });
    // the same from the durable record when the store lost the key
    const fromTrace = await enforcer.enforceStep({ ...other, idempotency_key: 'k-skip-lost' }, exec, TENANT, async () => stored);
    expect(fromTrace).toMatchObject({ skipped: true, from_cache: true, output_data: { charged: 1 } });
    expect(exec).not.toHaveBeenCalled();
    expect(await store.get(TENANT, 'k-skip')).toEqual(stored);
  });

  it('skip returns the recorded output without calling the skill', async () => {
    const { enforcer } = setUp();
    const exec = counting('fresh');
    const result = await enforcer.enforceStep(step({ behavior: 'skip', recorded: { output: { old: true } } }), exec, TENANT);
    expect(exec).not.toHaveBeenCalled();
    expect(result).toMatchObject({
      skipped: true,
      from_cache: true,
      executed: false,
      output_data: { old: true },
      output_hash: hashOutput({ old: true }),
    });
  });

  it('skip prefers the stored result of the step key over the recorded output', async () => {
    const { enforcer } = setUp();
    await enforcer.enforceStep(step({ idempotency_key: 'k-s' }), counting('stored'), TENANT);
    const result = await enforcer.enforceStep(
      step({ idempotency_key: 'k-s', behavior: 'skip', recorded: { output: 'recorded' } }),
      counting('x'),
      TENANT,
    );
    expect(result.output_data).toBe('stored');
  });

  it('skip executes only where neither a stored result nor a recorded output exists', async () => {
    const { enforcer } = setUp();
    const exec = counting('made');
    const result = await enforcer.enforceStep(step({ behavior: 'skip', recorded: null }), exec, TENANT);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(result).toMatchObject({ executed: true, skipped: false, output_data: 'made' });
  });

  it('check of a deterministic step matches; ignore_paths hide a changing field', async () => {
    const { enforcer } = setUp();
    const same = await enforcer.enforceStep(step({ behavior: 'check', recorded: { output: { a: 1 } } }), counting({ a: 1 }), TENANT);
    expect(same).toMatchObject({ checked: true, executed: true, mismatch: null, expected_hash: hashOutput({ a: 1 }) });
    const changing = { body: { id: 7, generated_at: 'later' }, headers: { date: 'tomorrow' } };
    const recorded = { output: { body: { id: 7, generated_at: 'then' }, headers: { date: 'today' } } };
    const mismatch = await enforcer.enforceStep(step({ behavior: 'check', recorded }), counting(changing), TENANT);
    expect(mismatch.mismatch?.diff).toEqual([
      { op: 'replace', path: '/headers/date', value: 'tomorrow' },
      { op: 'replace', path: '/body/generated_at', value: 'later' },
    ]);
    const ignored = await enforcer.enforceStep(
      step({ behavior: 'check', recorded, ignore_paths: ['/headers/date', '/body/generated_at'] }),
      counting(changing),
      TENANT,
    );
    expect(ignored.mismatch).toBeNull();
    expect(ignored.output_data).toEqual(changing); // the stored output keeps every field
  });

  it('a failed execution releases its claim so a retry may execute again', async () => {
    const { enforcer } = setUp();
    const failing = jest.fn(async () => {
      throw new Error('boom');
    });
    await expect(enforcer.enforceStep(step({ idempotency_key: 'k-f' }), failing, TENANT)).rejects.toThrow('boom');
    const exec = counting('ok');
    const result = await enforcer.enforceStep(step({ idempotency_key: 'k-f' }), exec, TENANT);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(result.executed).toBe(true);
  });

  it('keeps an executed result when the store cannot record it, so a retry does not repeat the side effect', async () => {
    const { enforcer, store } = setUp({ leaseMs: 100, waitMs: 5_000 });
    jest.spyOn(store, 'complete').mockRejectedValueOnce(new Error('Connection is closed.'));
    const exec = counting({ charged: 1 });
    const keyed = step({ idempotency_key: 'k-store-down' });
    // What the caller records in the trace (the durable record) is what the first attempt returned.
    let trace: StoredStepResult | null = null;
    const durable = jest.fn(async () => trace);
    const first = await enforcer.enforceStep(keyed, exec, TENANT, durable).catch(() => null);
    if (first) {
      trace = {
        output: first.output_data,
        output_hash: first.output_hash,
        fingerprint: stepFingerprint(keyed.skill, keyed.params),
        completed_at: new Date().toISOString(),
      };
    }
    expect(first).toMatchObject({ executed: true, output_data: { charged: 1 } });
    // The retry: the store never got the result (its claim lapses after the lease); the trace has it.
    const retry = await enforcer.enforceStep(keyed, exec, TENANT, durable);
    expect(exec).toHaveBeenCalledTimes(1);
    expect(retry).toMatchObject({ executed: false, from_cache: true, output_data: { charged: 1 } });
    expect(durable).toHaveBeenCalled();
  });

  it('asks the durable record when the store has lost a completed key, and restores the store from it', async () => {
    const { enforcer, store } = setUp();
    const fingerprint = stepFingerprint('http.request', { url: 'https://example.test/a' });
    const recorded = {
      output: { charged: 1 },
      output_hash: hashOutput({ charged: 1 }),
      fingerprint,
      completed_at: '2026-01-01T00:00:00.000Z',
    };
    const durable = jest.fn(async (key: string) => (key === 'k-lost' ? recorded : null));
    const exec = counting({ charged: 2 });
    const result = await enforcer.enforceStep(step({ idempotency_key: 'k-lost' }), exec, TENANT, durable);
    expect(exec).not.toHaveBeenCalled();
    expect(result).toMatchObject({ executed: false, from_cache: true, output_data: { charged: 1 } });
    expect(await store.get(TENANT, 'k-lost')).toEqual(recorded);
    const skipped = await enforcer.enforceStep(
      step({ idempotency_key: 'k-lost-2', behavior: 'skip', recorded: null }),
      exec,
      TENANT,
      async () => ({ ...recorded }),
    );
    expect(skipped).toMatchObject({ skipped: true, from_cache: true, output_data: { charged: 1 } });
    expect(exec).not.toHaveBeenCalled();
    await expect(
      enforcer.enforceStep(
        step({ idempotency_key: 'k-other', params: { url: 'https://example.test/b' } }),
        exec,
        TENANT,
        async () => recorded,
      ),
    ).rejects.toBeInstanceOf(IdempotencyViolationError);
    expect((await store.claim(TENANT, 'k-other', 'next', 1000)).status).toBe('claimed'); // the violation released its claim
  });

  it('waits for a key claimed elsewhere and gives up with StepClaimTimeoutError, never executing it', async () => {
    const { enforcer, store } = setUp({ waitMs: 200 });
    await store.claim(TENANT, 'k-held', 'someone-else', 60_000);
    const exec = counting('no');
    await expect(enforcer.enforceStep(step({ idempotency_key: 'k-held' }), exec, TENANT)).rejects.toBeInstanceOf(StepClaimTimeoutError);
    expect(exec).not.toHaveBeenCalled();
  });

  it('takes the result of a key that completes while it waits', async () => {
    const { enforcer, store } = setUp();
    await store.claim(TENANT, 'k-wait', 'other', 60_000);
    setTimeout(() => {
      void store.complete(
        TENANT,
        'k-wait',
        'other',
        {
          output: 'theirs',
          output_hash: hashOutput('theirs'),
          fingerprint: stepFingerprint('http.request', { url: 'https://example.test/a' }),
          completed_at: '',
        },
        60,
      );
    }, 100);
    const exec = counting('mine');
    const result = await enforcer.enforceStep(step({ idempotency_key: 'k-wait' }), exec, TENANT);
    expect(exec).not.toHaveBeenCalled();
    expect(result).toMatchObject({ from_cache: true, output_data: 'theirs' });
  });

  it('enforceTrace stops at the first mismatch with ReplayMismatchError (fail) or reports all (continue)', async () => {
    const { enforcer } = setUp();
    const trace = [0, 1, 2].map((index) => step({ index, behavior: 'check', params: { i: index }, recorded: { output: index } }));
    const exec = jest.fn(async (s: EnforcedStep) => ((s.params.i as number) === 0 ? 0 : (s.params.i as number) * 10));
    const error = await enforcer.enforceTrace(trace, exec, TENANT, 'fail').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplayMismatchError);
    expect(error).toMatchObject({ stepIndex: 1, expectedHash: hashOutput(1), actualHash: hashOutput(10) });
    expect(exec).toHaveBeenCalledTimes(2);
    const all = await enforcer.enforceTrace(trace, exec, TENANT, 'continue');
    expect(all.map((r) => r.mismatch !== null)).toEqual([false, true, true]);
  });
});
