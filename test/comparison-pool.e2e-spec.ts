import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ComparisonPool } from '../src/domains/logs/drivers/comparison-pool.js';
import { MemoryStepIdempotencyStore } from '../src/domains/logs/drivers/memory-step-idempotency.store.js';
import { COMPARE_INLINE_MAX_CHARS, type EnforcedStep, ReplayEnforcer, result } from '../src/domains/logs/drivers/replay-enforcer.driver.js';
import { hashOutput } from '../src/shared/canonical-json.js';
import { type CheckJob, runCheck } from '../src/shared/check-comparison.js';
import type { Comparator } from '../src/shared/comparators.js';
import { assertFreshDist } from './support/dist.js';

/**
 * The comparison work of large outputs runs in worker threads (the pool loads the built module: run
 * after `npm run build`, as `npm run test:e2e` does). It gives the same outcomes as inline, and a check
 * of ~1.1 MB outputs no longer holds the event loop: the delay is measured with monitorEventLoopDelay
 * while the check runs, inline and in the pool.
 */
describe('comparison pool: large checks off the event loop', () => {
  const clock = { now: () => new Date() };
  const options = { ttlSeconds: 60, leaseMs: 5_000, waitMs: 5_000, clock };
  let pool: ComparisonPool;
  let pooled: ReplayEnforcer;
  const inline = new ReplayEnforcer(new MemoryStepIdempotencyStore(clock), options);

  beforeAll(() => {
    assertFreshDist();
    pool = new ComparisonPool();
    pooled = new ReplayEnforcer(new MemoryStepIdempotencyStore(clock), { ...options, comparisons: pool });
  });
  afterAll(async () => {
    await pool?.onApplicationShutdown();
  });

  /** { headers: { date }, k0..k(n-1) }: ~1.1 MB of JSON for 80,000 keys (the review's probe). */
  const big = (n: number, offset: number) => {
    const o: Record<string, unknown> = { headers: { date: `d${offset}` } };
    for (let i = 0; i < n; i++) o[`k${i}`] = i + offset;
    return o;
  };
  const step = (recorded: unknown, comparator: Comparator, fields: Partial<EnforcedStep> = {}): EnforcedStep => ({
    index: 0,
    skill: 'http.request',
    params: {},
    idempotency_key: null,
    behavior: 'check',
    recorded: { output: recorded },
    volatile_paths: ['/headers/date'],
    comparator,
    ...fields,
  });
  const executed = (output: unknown) => result({ executed: true, output_data: output, output_hash: hashOutput(output) });

  it('gives the outcome the inline comparison gives, for every local comparator and the judge', async () => {
    const a = big(5_000, 0);
    const b = big(5_000, 0.25);
    const longText = (seed: string) => ({ text: `${'lorem ipsum '.repeat(2_000)}${seed}`, n: 1 });
    expect(JSON.stringify(a).length).toBeGreaterThan(COMPARE_INLINE_MAX_CHARS);
    const cases: Array<[unknown, unknown, Comparator]> = [
      [a, a, { mode: 'exact' }],
      [a, b, { mode: 'exact' }],
      [a, b, { mode: 'numeric', abs: 0.5 }],
      [a, b, { mode: 'numeric', abs: 0.1 }],
      [a, b, { mode: 'schema' }],
      [{ list: [a, null] }, { list: [a, null, b] }, { mode: 'schema' }],
      [longText('a'), longText('b'), { mode: 'text', min_similarity: 0.99, paths: ['/text'] }],
      [longText('a'), longText('b'), { mode: 'text', min_similarity: 1 }],
      [a, b, { mode: 'judge', model: 'm', rubric: 'r' }],
    ];
    for (const [recorded, output, comparator] of cases) {
      const judge = async () => ({ pass: false, reason: 'judged' });
      const settle = (p: Promise<unknown>) =>
        p.then(
          (v) => ({ ok: v }),
          (e: Error) => ({ error: e.message }),
        );
      const viaPool = await settle(pooled.check(step(recorded, comparator), executed(output), judge));
      const viaLoop = await settle(inline.check(step(recorded, comparator), executed(output), judge));
      expect({ comparator, outcome: viaPool }).toEqual({ comparator, outcome: viaLoop });
    }
  });

  it('a 1.1 MB check holds the event loop far less in the pool than inline (delay measured while it runs)', async () => {
    const a = big(80_000, 0);
    const b = big(80_000, 0.5);
    const measure = async (enforcer: ReplayEnforcer, comparator: Comparator) => {
      const histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      await new Promise((r) => setTimeout(r, 50)); // the monitor's first tick only starts its clock
      const started = Date.now();
      const checked = await enforcer.check(step(a, comparator), executed(b));
      const ms = Date.now() - started;
      // let the monitor take the samples of the last stretch
      await new Promise((r) => setTimeout(r, 30));
      histogram.disable();
      return { ms, p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6, passed: checked.comparison!.passed };
    };
    const rows: Record<string, unknown> = {};
    const totals = { inline: 0, pool: 0 };
    for (const comparator of [{ mode: 'numeric', abs: 1 }, { mode: 'schema' }, { mode: 'exact' }] as Comparator[]) {
      const loop = await measure(inline, comparator);
      const threads = await measure(pooled, comparator);
      rows[comparator.mode] = { inline: loop, pool: threads };
      expect(threads.passed).toBe(loop.passed);
      // inline, the loop stalls for the whole check (p99 = the check's duration); in the pool only the
      // serialisations remain
      expect(threads.p99).toBeLessThan(loop.p99);
      totals.inline += loop.p99;
      totals.pool += threads.p99;
    }
    // Generous margins (2 cores shared with the pool's threads and other tests; one GC pause can land in a
    // measurement): over the three checks the pool's stalls are less than half the inline ones.
    expect(totals.pool).toBeLessThan(totals.inline / 2);
    console.log(
      `event-loop delay while one check of ~1.1 MB outputs runs (ms): ${JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
    );
  }, 120_000);

  it('runCheck is a pure function of plain JSON (what the threads run)', () => {
    const job: CheckJob = {
      expected: { a: 1, headers: { date: 'x', connection: 'close' } },
      recorded: true,
      actual: { a: 1, headers: { date: 'y' } },
      actualHash: hashOutput({ a: 1, headers: { date: 'y' } }),
      candidates: ['/headers/date'],
      unrecorded: ['/headers/connection'],
      comparator: { mode: 'exact' },
    };
    expect(runCheck(job)).toEqual({
      kind: 'compared',
      expectedHash: hashOutput(job.expected),
      ignored: ['/headers/date', '/headers/connection'],
      verdict: { passed: true, score: null, reason: null },
      diff: null,
    });
  });
});
