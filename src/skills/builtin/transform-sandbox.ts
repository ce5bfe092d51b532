import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import workerpool from 'workerpool';
import { StepOutputTooLargeError } from '../../shared/canonical-json.js';
import { SkillError, StepErrorCode } from '../skill.interface.js';

export interface TransformSandboxLimits {
  /** TRANSFORM_TIMEOUT_MS: longest evaluation, counted from its start in a sandbox process. */
  timeoutMs: number;
  /** TRANSFORM_MAX_MEMORY_MB: V8 heap (old generation) of each sandbox process. */
  maxMemoryMb: number;
  /** TRANSFORM_POOL_SIZE: sandbox processes (evaluations at once). */
  poolSize: number;
  /** STEP_MAX_OUTPUT_BYTES: a larger result is refused inside the sandbox, before it reaches this process. */
  maxOutputBytes: number;
}

type WorkerResult =
  { json: string } | { error: { kind: 'invalid' | 'evaluation' | 'not-json' | 'too-large'; message?: string; bytes?: number } };

/**
 * Total evaluation time of one chain (`evaluateChain`), at most TRANSFORM_TIMEOUT_MS: past it the chain
 * stops between evaluations and the rest go in a later call.
 */
export const CHAIN_BUDGET_MS = 50;

/** The sandbox script, next to this module in src/ (tests) and in dist/ (copied by the build). */
const SCRIPT = fileURLToPath(new URL('./transform.worker.mjs', import.meta.url));

/**
 * Evaluates JSONata off this process: in a pool of small Node processes (workerpool), each with its
 * own heap limit. Worker threads were not enough: V8 aborts the whole process when a thread's heap
 * limit is passed by a large allocation (a 10-million-item array), so a memory bomb would still
 * kill the worker. Here a bomb kills only its sandbox process, which the pool replaces.
 * - Past TRANSFORM_TIMEOUT_MS (counted from the evaluation's start) the sandbox process is killed
 *   and the step fails, not retryable.
 * - Past TRANSFORM_MAX_MEMORY_MB V8 aborts the sandbox process; the step fails, not retryable.
 * - The pool starts with the first transform, so processes that never run one (API-only) spawn nothing.
 */
export class TransformSandbox {
  private readonly logger = new Logger(TransformSandbox.name);
  private pool: workerpool.Pool | null = null;

  constructor(private readonly limits: TransformSandboxLimits) {}

  async evaluate(expression: string, document: unknown, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) throw shutdownError();
    const { timeoutMs, maxMemoryMb, maxOutputBytes } = this.limits;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let stderr = '';
    const task = this.getPool().exec('evaluate', [expression, document, maxOutputBytes], {
      on: (event: unknown) => {
        if (event === 'started') {
          timer = setTimeout(() => {
            timedOut = true;
            task.cancel(); // kills the sandbox process; the pool starts another
          }, timeoutMs);
        } else if (typeof (event as { stderr?: unknown })?.stderr === 'string' && stderr.length < 4096) {
          stderr += (event as { stderr: string }).stderr;
        }
      },
    });
    const onAbort = () => {
      task.cancel();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let result: WorkerResult;
    try {
      result = (await task) as WorkerResult;
    } catch (error) {
      if (timedOut) throw new SkillError(StepErrorCode.SkillFailed, `transform exceeded TRANSFORM_TIMEOUT_MS (${timeoutMs} ms)`);
      if (signal.aborted) throw shutdownError();
      if (/heap out of memory|allocation failed/i.test(stderr) || /signalCode: `SIGABRT`/.test(String((error as Error)?.message))) {
        throw new SkillError(StepErrorCode.SkillFailed, `transform exceeded TRANSFORM_MAX_MEMORY_MB (${maxMemoryMb} MB)`);
      }
      // The sandbox process died for another reason (killed from outside): another attempt may pass.
      // Logged without the error's text or the sandbox's output: they may quote the params, which hold
      // the step's resolved secrets; the exit status is enough to tell what happened.
      this.logger.warn(`transform sandbox process failed (${exitStatus(error)})`);
      throw new SkillError(StepErrorCode.Internal, 'transform sandbox process exited unexpectedly');
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    if ('json' in result) return JSON.parse(result.json) as unknown;
    const { kind, message, bytes } = result.error;
    if (kind === 'too-large') throw new StepOutputTooLargeError(bytes ?? 0, maxOutputBytes);
    if (kind === 'invalid') throw new SkillError(StepErrorCode.InvalidParams, `invalid JSONata expression: ${message}`);
    if (kind === 'not-json') throw new SkillError(StepErrorCode.OutputNotJson, `the expression's value is not JSON: ${message}`);
    throw new SkillError(StepErrorCode.SkillFailed, `JSONata evaluation failed: ${message}`);
  }

  /**
   * Evaluates consecutive expressions in one sandbox call, each over `document` extended with the
   * outputs before it (see `evaluateChain` in the sandbox script); each evaluation has the time limit.
   * Returns the outputs of the evaluations that succeeded, in order, up to the first that did not, and
   * `lost` when the chain ended without an answer (a limit killed the process, or the signal aborted).
   * A chain has a total budget (CHAIN_BUDGET_MS, at most TRANSFORM_TIMEOUT_MS): once spent the sandbox
   * stops between evaluations and returns the outputs so far with `stopped` (not a failure: the caller
   * evaluates the rest in a later call), so a chain holds a sandbox process for at most its budget plus
   * one evaluation's limit, however many expressions it has.
   * Never throws: whatever went wrong the caller evaluates that step on its own, which reports it as
   * `evaluate` does. The sandbox process keeps each evaluation's limit itself (it dies past it); this
   * side stops a chain that outlives all its limits together.
   */
  async evaluateChain(
    expressions: readonly string[],
    document: { input: unknown; steps: Array<{ output: unknown }> },
    signal: AbortSignal,
  ): Promise<{ outputs: unknown[]; lost: boolean; stopped: boolean }> {
    if (signal.aborted) return { outputs: [], lost: true, stopped: false };
    const { timeoutMs, maxOutputBytes } = this.limits;
    const budgetMs = Math.min(CHAIN_BUDGET_MS, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const task = this.getPool().exec('evaluateChain', [expressions, document, maxOutputBytes, budgetMs], {
      on: (event: unknown) => {
        if (event !== 'started') return;
        timer = setTimeout(
          () => {
            task.cancel(); // kills the sandbox process; the pool starts another
          },
          budgetMs + timeoutMs + 2_000,
        );
      },
    });
    const onAbort = () => {
      task.cancel();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const { results, stopped } = (await task) as { results: string[]; stopped?: boolean };
      return { outputs: results.map((json) => JSON.parse(json) as unknown), lost: false, stopped: stopped === true };
    } catch {
      return { outputs: [], lost: true, stopped: false };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Stops the sandbox processes (at application shutdown, after the runs in hand finished). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.terminate(true);
  }

  private getPool(): workerpool.Pool {
    if (!this.pool && process.execArgv.some((arg) => arg.includes('--max-old-space-size'))) {
      // workerpool passes this process's --max-old-space-size on after ours, and the last one wins.
      this.logger.warn('this process runs with --max-old-space-size: its sandbox processes inherit it instead of TRANSFORM_MAX_MEMORY_MB');
    }
    this.pool ??= workerpool.pool(SCRIPT, {
      workerType: 'process',
      minWorkers: this.limits.poolSize,
      maxWorkers: this.limits.poolSize,
      // A cancelled evaluation's process is asked to stop, then killed after this long.
      workerTerminateTimeout: 100,
      // The sandbox's stderr (V8's out-of-memory report) comes to the task's `on` handler, not to our logs.
      emitStdStreams: true,
      forkArgs: [String(this.limits.timeoutMs)],
      // A clean environment (no DATABASE_URL, API keys...), the heap limit, and a process group of
      // their own: a terminal's Ctrl-C reaches the worker (which shuts down gracefully), not them.
      forkOpts: { env: {}, execArgv: [`--max-old-space-size=${this.limits.maxMemoryMb}`], detached: true },
    });
    return this.pool;
  }
}

function shutdownError(): SkillError {
  return new SkillError(StepErrorCode.Interrupted, 'transform stopped: the worker is shutting down');
}

/** The exit code and signal workerpool reports for a sandbox process that died, and nothing else of its message. */
function exitStatus(error: unknown): string {
  const message = String((error as Error)?.message ?? '');
  const code = /exitCode: `([^`]*)`/.exec(message)?.[1] ?? '?';
  const signal = /signalCode: `([^`]*)`/.exec(message)?.[1] ?? '?';
  return `exit code ${code}, signal ${signal}`;
}
