import { freePort } from './support/ports.js';
import type { SideEffectServer } from './support/side-effect-server.js';
import { createTenant, type RunsHarness, startRunsHarness, type TestApp, type TestEnvironment, waitFor } from './support/test-app.js';
import { spawnWorker, type WorkerProcess } from './support/worker-process.js';

interface Run {
  id: string;
  status: string;
  attempts: number;
  error: { type: string; message: string; step_index?: number } | null;
}

const CPU_BOMB = '$count([1..3000000].($ * 2))';
const FIB_40 = '($fib := function($n){ $n < 2 ? $n : $fib($n - 1) + $fib($n - 2) }; $fib(40))';
const MEMORY_BOMB = '$count([1..10000000])';

/** A hostile tenant's transforms against one real worker process that also serves another tenant. */
describe('transforms in the sandbox: one worker process, a poison tenant and a quiet one', () => {
  let h: RunsHarness;
  let env: TestEnvironment;
  let api: TestApp;
  let server: SideEffectServer;
  let poison: string;
  let quiet: string;
  let worker: WorkerProcess;
  let metricsUrl: string;
  const delays: Array<{ bomb: string; p99: number; max: number }> = [];

  beforeAll(async () => {
    h = await startRunsHarness('poison', (s) => ({ WORKER_ENABLED: 'false', SKILL_HTTP_ALLOWED_HOSTS: `127.0.0.1:${s.port}` }));
    ({ env, app: api, server, auth: poison } = h);
    quiet = (await createTenant(api, 'quiet')).auth;
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    // Defaults for TRANSFORM_TIMEOUT_MS (1000) and TRANSFORM_MAX_MEMORY_MB (64); one process, two runs at once.
    worker = await spawnWorker({ ...env.env, WORKER_CONCURRENCY: '2', WORKER_METRICS_PORT: String(metricsPort), HOST: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await worker?.kill('SIGTERM');
    await h?.dispose();
    if (delays.length > 0) console.log(`worker event-loop delay under bombs (ms): ${JSON.stringify(delays)}`);
  });

  const submit = async (authorization: string, steps: unknown[], input: unknown = {}): Promise<Run> =>
    (await api.http.post('/v1/agents/sandbox/runs').set('Authorization', authorization).send({ input, steps }).expect(202)).body as Run;
  const finished = (authorization: string, id: string, timeoutMs = 20_000) =>
    waitFor(
      async () => {
        const run = (await api.http.get(`/v1/runs/${id}`).set('Authorization', authorization).expect(200)).body as Run;
        return ['succeeded', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
      },
      timeoutMs,
      25,
    );
  const transform = (expression: string, name = 't') => ({ name, skill: 'transform', params: { expression } });
  /** The worker's event-loop delay quantile since the previous scrape, in ms. */
  const scrapeDelay = async (): Promise<{ p99: number; max: number }> => {
    const text = await (await fetch(metricsUrl)).text();
    const value = (q: string) =>
      Number(text.match(new RegExp(`^agentruns_event_loop_delay_seconds\\{quantile="${q}"\\} (\\S+)$`, 'm'))?.[1]);
    return { p99: value('0.99') * 1000, max: value('1') * 1000 };
  };

  it('warms up: a plain transform runs on the worker process', async () => {
    const run = await submit(quiet, [transform('input.n + 1')], { n: 1 });
    expect((await finished(quiet, run.id)).status).toBe('succeeded');
    await scrapeDelay(); // starts the measurement window
  }, 30_000);

  it.each([
    ['a CPU bomb', CPU_BOMB],
    ['a never-ending expression (fib 40)', FIB_40],
  ])(
    "%s fails within TRANSFORM_TIMEOUT_MS + 2 s while another tenant's run on the same worker finishes within 5 s",
    async (bomb, expression) => {
      await scrapeDelay(); // resets the window
      const started = Date.now();
      const bad = await submit(poison, [transform(expression, 'bomb'), { name: 'never', skill: 'delay', params: { ms: 0 } }]);
      const good = await submit(
        quiet,
        [
          transform('input.n * 2', 'double'),
          { name: 'fetch', skill: 'http.request', params: { url: `${server.url}/fixed` } },
          { name: 'sum', skill: 'transform', params: { expression: '$sum(steps[1].output.body.items) + steps[0].output' } },
        ],
        { n: 21 },
      );
      const [badRun, goodRun] = await Promise.all([
        finished(poison, bad.id).then((run) => ({ run, ms: Date.now() - started })),
        finished(quiet, good.id).then((run) => ({ run, ms: Date.now() - started })),
      ]);
      expect(goodRun.run.status).toBe('succeeded');
      expect(goodRun.ms).toBeLessThan(5_000);
      expect(badRun.run).toMatchObject({
        status: 'failed',
        attempts: 1, // not retried: past a limit the step fails for good
        error: { type: 'step_failed', message: 'transform exceeded TRANSFORM_TIMEOUT_MS (1000 ms)', step_index: 0 },
      });
      expect(badRun.ms).toBeLessThan(1_000 + 2_000);
      const steps = (await api.http.get(`/v1/runs/${bad.id}/trace`).set('Authorization', poison).expect(200)).body.steps;
      expect(steps.map((s: { status: string }) => s.status)).toEqual(['failed', 'cancelled']);
      const delay = await scrapeDelay();
      delays.push({ bomb, ...delay });
      expect(delay.p99).toBeLessThan(250); // generous: a blocked loop shows the whole second
      expect(worker.child.exitCode).toBeNull();
    },
    30_000,
  );

  describe('consecutive transforms, evaluated as one chain in the sandbox', () => {
    const traceOf = async (authorization: string, id: string) =>
      (await api.http.get(`/v1/runs/${id}/trace`).set('Authorization', authorization).expect(200)).body.steps as Array<{
        status: string;
        output: unknown;
        error: { message: string } | null;
      }>;

    it('later steps read the outputs as recorded: redacted, keys sorted (as one step at a time)', async () => {
      const run = await submit(
        quiet,
        [
          transform('{ "b": 2, "authorization": "Bearer abc", "a": input.n }', 'creds'),
          transform('steps[0].output.authorization', 'read'),
          transform('$keys(steps[0].output)', 'keys'),
          transform('$string(steps[0].output)', 'text'),
          transform('steps[1].output & "!"', 'after'),
        ],
        { n: 1 },
      );
      expect((await finished(quiet, run.id)).status).toBe('succeeded');
      const steps = await traceOf(quiet, run.id);
      expect(steps.map((s) => s.output)).toEqual([
        { a: 1, authorization: '[redacted]', b: 2 },
        '[redacted]', // the chain's own copy of step 0 held the credential; the step read the recorded one
        ['a', 'authorization', 'b'],
        '{"a":1,"authorization":"[redacted]","b":2}',
        '[redacted]!',
      ]);
      // No redaction here: the whole chain's outputs are used, and the chain hands them on with sorted keys too.
      const sorted = await submit(quiet, [transform('{ "b": 2, "a": 1 }', 'obj'), transform('$keys(steps[0].output)', 'keys')]);
      expect((await finished(quiet, sorted.id)).status).toBe('succeeded');
      expect((await traceOf(quiet, sorted.id)).map((s) => s.output)).toEqual([{ a: 1, b: 2 }, ['a', 'b']]);
    }, 30_000);

    it('an error in the middle of a chain fails that step, as it would alone; the steps before it stand', async () => {
      const run = await submit(quiet, [
        transform('1', 'one'),
        transform('2', 'two'),
        transform('$error("boom")', 'bad'),
        transform('4', 'four'),
      ]);
      expect(await finished(quiet, run.id)).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { type: 'step_failed', message: 'JSONata evaluation failed: boom', step_index: 2 },
      });
      expect((await traceOf(quiet, run.id)).map((s) => [s.status, s.output])).toEqual([
        ['succeeded', 1],
        ['succeeded', 2],
        ['failed', null],
        ['cancelled', null],
      ]);
    }, 30_000);

    it('a long chain of slow-but-legal transforms is evaluated in several budgeted calls; the run succeeds with every step right', async () => {
      const slowStep = 'steps[-1].output + $count([1..10000].($ * 2)) * 0 + 1';
      const steps = [transform('1', 's0'), ...Array.from({ length: 29 }, (_, i) => transform(slowStep, `s${i + 1}`))];
      const run = await submit(quiet, steps);
      expect((await finished(quiet, run.id, 40_000)).status).toBe('succeeded');
      const trace = await traceOf(quiet, run.id);
      expect(trace.map((s) => [s.status, s.output])).toEqual(Array.from({ length: 30 }, (_, i) => ['succeeded', i + 1]));
    }, 60_000);

    it('a CPU bomb in a chain fails its own step with the time limit, as alone', async () => {
      const started = Date.now();
      const run = await submit(poison, [transform('1', 'one'), transform(CPU_BOMB, 'bomb'), transform('3', 'three')]);
      expect(await finished(poison, run.id, 30_000)).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { type: 'step_failed', message: 'transform exceeded TRANSFORM_TIMEOUT_MS (1000 ms)', step_index: 1 },
      });
      expect(Date.now() - started).toBeLessThan(8_000); // the chain's limit, then the step's own
      expect((await traceOf(poison, run.id)).map((s) => s.status)).toEqual(['succeeded', 'failed', 'cancelled']);
      expect(worker.child.exitCode).toBeNull();
    }, 40_000);
  });

  it('a memory bomb fails cleanly, and the same worker process then runs the next run', async () => {
    await scrapeDelay();
    const bad = await submit(poison, [transform(MEMORY_BOMB, 'hog')]);
    expect(await finished(poison, bad.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { type: 'step_failed', message: 'transform exceeded TRANSFORM_MAX_MEMORY_MB (64 MB)' },
    });
    delays.push({ bomb: 'a memory bomb', ...(await scrapeDelay()) });
    expect(worker.child.exitCode).toBeNull();
    expect(worker.child.signalCode).toBeNull();
    const next = await submit(quiet, [transform('input.n * 3')], { n: 5 });
    const done = await finished(quiet, next.id);
    expect(done.status).toBe('succeeded');
    expect(worker.output()).not.toMatch(/FATAL ERROR|heap out of memory/); // the sandbox's report stays out of the worker's logs
  }, 30_000);

  it('checks an expression that arrives through $ref at execution: length limit and sandbox', async () => {
    const tooLong = await submit(poison, [{ name: 't', skill: 'transform', params: { expression: { $ref: '/input/expr' } } }], {
      expr: `1${' '.repeat(10_000)}`,
    });
    expect(await finished(poison, tooLong.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { message: 'expression must be a JSONata string of 1 to 10000 characters' },
    });
    const bomb = await submit(poison, [{ name: 't', skill: 'transform', params: { expression: { $ref: '/input/expr' } } }], {
      expr: FIB_40,
    });
    expect(await finished(poison, bomb.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { message: 'transform exceeded TRANSFORM_TIMEOUT_MS (1000 ms)' },
    });
  }, 30_000);

  it('caps step outputs at STEP_MAX_OUTPUT_BYTES (1 MiB by default), not retryable, for every skill', async () => {
    const transformRun = await submit(poison, [transform('$pad("", 1100000, "x")')]);
    expect(await finished(poison, transformRun.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: {
        type: 'step_failed',
        message: 'step output is 1100002 bytes of canonical JSON, more than STEP_MAX_OUTPUT_BYTES (1048576 bytes)',
      },
    });
    const httpRun = await submit(poison, [{ name: 'big', skill: 'http.request', params: { url: `${server.url}/big?bytes=1100000` } }]);
    const failed = await finished(poison, httpRun.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { type: 'step_failed' } });
    expect(failed.error?.message).toMatch(
      /^step output is \d+ bytes of canonical JSON, more than STEP_MAX_OUTPUT_BYTES \(1048576 bytes\)$/,
    );
    const fits = await submit(poison, [{ name: 'ok', skill: 'http.request', params: { url: `${server.url}/big?bytes=1000000` } }]);
    expect((await finished(poison, fits.id)).status).toBe('succeeded');
  }, 30_000);
});
