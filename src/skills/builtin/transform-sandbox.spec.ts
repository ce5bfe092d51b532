import { monitorEventLoopDelay } from 'node:perf_hooks';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { StepOutputTooLargeError } from '../../shared/canonical-json.js';
import { STEP_ERROR_CODES, StepErrorCode, type StepFailure } from '../../shared/run-errors.js';
import { SkillError } from '../skill.interface.js';
import { CHAIN_BUDGET_MS, TransformSandbox } from './transform-sandbox.js';

const FIB_40 = '($fib := function($n){ $n < 2 ? $n : $fib($n - 1) + $fib($n - 2) }; $fib(40))';
const CPU_BOMB = '$count([1..3000000].($ * 2))';
const MEMORY_BOMB = '$count([1..10000000])';

/** The sandbox for real: child processes running src/skills/builtin/transform.worker.mjs. */
describe('TransformSandbox (sandbox processes, time and heap limits)', () => {
  const sandbox = new TransformSandbox({ timeoutMs: 1000, maxMemoryMb: 64, poolSize: 2, maxOutputBytes: 100_000 });
  const live = new AbortController().signal;
  const evaluate = (expression: string, document: unknown = { input: { a: 20 }, steps: [] }) =>
    sandbox.evaluate(expression, document, live);
  /** Whether the step runner would retry the step (STEP_ERROR_CODES of the error's code). */
  const retryable = (error: Error) => STEP_ERROR_CODES[(error as StepFailure).code].retryable;
  const failure = async (expression: string): Promise<StepFailure> => {
    try {
      await evaluate(expression);
    } catch (error) {
      return error as StepFailure;
    }
    throw new Error(`${expression} did not fail`);
  };

  afterAll(() => sandbox.close());

  it('evaluates over the document and returns plain JSON', async () => {
    await expect(evaluate('{ "double": input.a * 2, "list": [1..3] }')).resolves.toEqual({ double: 40, list: [1, 2, 3] });
    await expect(evaluate('steps[0].output.name', { input: {}, steps: [{ output: { name: 'x' } }] })).resolves.toBe('x');
    await expect(evaluate('nothing.here')).resolves.toBeNull();
  });

  it.each([
    ['a CPU bomb', CPU_BOMB],
    ['a never-ending recursion (fib 40)', FIB_40],
  ])('stops %s at TRANSFORM_TIMEOUT_MS, not retryable, without blocking this event loop', async (_name, expression) => {
    await evaluate('1'); // processes up
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = Date.now();
    const error = await failure(expression);
    const elapsed = Date.now() - started;
    loop.disable();
    expect(error).toBeInstanceOf(SkillError);
    expect(error.message).toBe('transform exceeded TRANSFORM_TIMEOUT_MS (1000 ms)');
    expect(error.code).toBe(StepErrorCode.SkillFailed);
    expect(retryable(error)).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(3000);
    expect(loop.percentile(99) / 1e6).toBeLessThan(200); // ms, sampled every 10 ms: the loop kept turning
    await expect(evaluate('input.a + 1')).resolves.toBe(21); // the next one works
  });

  it('stops a memory bomb at TRANSFORM_MAX_MEMORY_MB, not retryable; this process lives on and the next one works', async () => {
    const error = await failure(MEMORY_BOMB);
    expect(error).toBeInstanceOf(SkillError);
    expect(error.message).toBe('transform exceeded TRANSFORM_MAX_MEMORY_MB (64 MB)');
    expect(error.code).toBe(StepErrorCode.SkillFailed);
    expect(retryable(error)).toBe(false);
    await expect(evaluate('input.a + 2')).resolves.toBe(22);
  });

  it('refuses a result larger than STEP_MAX_OUTPUT_BYTES inside the sandbox', async () => {
    const error = await failure('$pad("", 200000, "x")');
    expect(error).toBeInstanceOf(StepOutputTooLargeError);
    expect(error.code).toBe(StepErrorCode.OutputTooLarge);
    expect(retryable(error)).toBe(false);
    expect(error.message).toMatch(/^step output is 200002 bytes of canonical JSON, more than STEP_MAX_OUTPUT_BYTES \(100000 bytes\)$/);
  });

  it.each([
    ['$$$(', /^invalid JSONata expression: /, StepErrorCode.InvalidParams],
    ['function($x) { $x }', /^the expression's value is not JSON: a function is not JSON$/, StepErrorCode.OutputNotJson],
    ['$undefinedFunction(1)', /^JSONata evaluation failed: /, StepErrorCode.SkillFailed],
  ])('fails %s with a clear, not retryable error', async (expression, message, code) => {
    const error = await failure(expression);
    expect(error).toBeInstanceOf(SkillError);
    expect(error.message).toMatch(message);
    expect(error.code).toBe(code);
    expect(retryable(error)).toBe(false);
  });

  it('stops a chain between evaluations once its time budget is spent: the outputs so far, `stopped`, not lost; later calls finish it', async () => {
    // Slow but legal: tens of ms each here (well under the 1 s limit); 40 of them are far past CHAIN_BUDGET_MS.
    const slowStep = 'steps[-1].output + $count([1..10000].($ * 2)) * 0 + 1';
    const expressions = ['1', ...Array.from({ length: 39 }, () => slowStep)];
    const document = { input: {}, steps: [] as Array<{ output: unknown }> };
    const outputs: unknown[] = [];
    let calls = 0;
    while (outputs.length < expressions.length) {
      const started = Date.now();
      const chain = await sandbox.evaluateChain(expressions.slice(outputs.length), structuredClone(document), live);
      calls++;
      expect(chain.lost).toBe(false);
      expect(chain.outputs.length).toBeGreaterThan(0);
      if (outputs.length + chain.outputs.length < expressions.length) {
        expect(chain.stopped).toBe(true);
        expect(Date.now() - started).toBeLessThan(CHAIN_BUDGET_MS + 1_000 + 500); // budget + one evaluation's limit
      }
      for (const output of chain.outputs) {
        outputs.push(output);
        document.steps.push({ output });
      }
    }
    expect(calls).toBeGreaterThan(1);
    expect(outputs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('counts the time limit from the start of evaluation, not from the wait for a free process', async () => {
    // Two bombs hold both processes; a third expression waits about 1 s for one, then runs at once.
    const bombs = [failure(CPU_BOMB), failure(CPU_BOMB)];
    await new Promise((r) => setTimeout(r, 100));
    await expect(evaluate('input.a * 3')).resolves.toBe(60);
    for (const bomb of await Promise.all(bombs)) expect(bomb.message).toMatch(/TRANSFORM_TIMEOUT_MS/);
  });

  it('gives up a queued or running evaluation when the worker shuts down (retryable)', async () => {
    const shutdown = new AbortController();
    const running = sandbox.evaluate(FIB_40, {}, shutdown.signal);
    setTimeout(() => shutdown.abort(), 200);
    const error = await running.then(
      () => null,
      (e: unknown) => e as StepFailure,
    );
    expect(error).toMatchObject({ message: 'transform stopped: the worker is shutting down', code: StepErrorCode.Interrupted });
    expect(retryable(error!)).toBe(true);
    await expect(evaluate('input.a')).resolves.toBe(20);
  });

  it('logs a sandbox process killed from outside by its exit status only: no part of the params (resolved secrets) reaches the logs', async () => {
    const token = 'tok_live_4f9d2c7e1a';
    const warnings: string[] = [];
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    try {
      const running = evaluate(`($k := "${token}"; ${FIB_40})`).then(
        () => null,
        (e: unknown) => e as StepFailure,
      );
      await new Promise((r) => setTimeout(r, 300)); // evaluating
      // The process that evaluates it, killed as an operator or the OOM killer would (not by a limit).
      const pool = (sandbox as unknown as { pool: { workers: Array<{ busy(): boolean; worker: { pid: number } }> } }).pool;
      const busy = pool.workers.filter((handler) => handler.busy());
      expect(busy).toHaveLength(1);
      process.kill(busy[0].worker.pid, 'SIGKILL');
      const error = await running;
      expect(error).toMatchObject({ code: StepErrorCode.Internal, message: 'transform sandbox process exited unexpectedly' });
      expect(retryable(error!)).toBe(true);
    } finally {
      warn.mockRestore();
    }
    expect(warnings.join('\n')).toMatch(/transform sandbox process failed \(exit code [^,]+, signal SIGKILL\)/);
    expect(warnings.join('\n')).not.toContain(token);
    await expect(evaluate('input.a')).resolves.toBe(20);
  });
});
