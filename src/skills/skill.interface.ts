import { StepErrorCode, StepFailure } from '../shared/run-errors.js';
import type { StepUsage } from '../shared/step.types.js';

/** What a skill gets besides its params. */
export interface SkillContext {
  tenantId: string;
  runId: string;
  stepIndex: number;
  /** The step's idempotency key, if any: skills with remote side effects should pass it on (HTTP: Idempotency-Key). */
  idempotencyKey: string | null;
  /** `{ input, steps: [{ output }] }` as seen by this step: what `$ref` pointers and transforms read. */
  document: { input: unknown; steps: Array<{ output: unknown }> };
  /**
   * Aborted when the step must stop: the worker shuts down, the run was lost (cancelled or taken over
   * by another worker) or the step key's claim was lost. Long skills should stop early.
   */
  signal: AbortSignal;
  /**
   * True while the step may still start its side effect: the run and (for a keyed step) the key's claim
   * are verifiably held. A skill with a remote side effect calls it synchronously right before it sends.
   */
  mayStartSideEffect?: () => boolean;
  /**
   * The values of the tenant secrets (`{ "$secret": name }`) resolved into these params. A skill must
   * never send them anywhere the step did not name (http.request drops headers holding one on a
   * cross-origin redirect); whatever it returns or throws is masked before it is recorded.
   */
  secretValues?: readonly string[];
}

/** Helpers for submission-time checks. */
export interface ParamCheck {
  /** True for a value only known when the step runs: a `{ "$ref": ... }` or a `{ "$secret": ... }`. */
  isRef(value: unknown): boolean;
}

/**
 * A step handler. Mark the provider with @Skill('name') and add it to any module of the app: the
 * registry finds it at boot (two skills with one name fail the boot).
 */
export interface SkillHandler {
  /** Checks params at submission; returns messages keyed by param path ('url', 'messages[0]'...). */
  validate?(params: Record<string, unknown>, check: ParamCheck): Array<{ path: string; message: string }>;
  /** Runs the step; the result must be JSON-representable (it is hashed by RFC 8785). */
  execute(params: Record<string, unknown>, context: SkillContext): Promise<unknown>;
  /**
   * True for a skill without side effects whose output depends on its params and the document (and the
   * clock or chance, see below) (transform): running it again after a crash is harmless, so its steps are recorded with the run's
   * next durable write instead of one by one (a keyed step is recorded at once all the same).
   * Pure is not deterministic: JSONata's `$now()` / `$random()` give a re-run (after a crash lost the
   * buffered rows) another output. That cannot become `idempotency_violation`: a side-effect step's
   * `running` row is written in the same statement as the pure rows before it, so a pure output any side
   * effect saw was already durable and is never recomputed. A cancel while pure rows are buffered records
   * those steps `cancelled` (they ran, but their rows were not written).
   */
  readonly pure?: boolean;
  /**
   * Optional, for pure skills: runs consecutive steps of this skill in one go (one round trip where each
   * step would take one), each over `document` extended with the outputs before it, in the order the
   * step runner hands values on (keys sorted). Returns the outputs of the steps that succeeded, in order,
   * up to the first that did not, and `lost` when the call ended without an answer (a limit killed it);
   * it never throws: the step runner runs the step that did not succeed on its own, as usual. `stopped`:
   * the call ended early by choice (its time budget was spent) after the outputs it returns; the rest are
   * not failures and go in a later call.
   * `chainable(params)` says whether params as written can run this way (a `$ref` or `$secret` cannot).
   */
  executeChain?(
    params: ReadonlyArray<Record<string, unknown>>,
    document: SkillContext['document'],
    signal: AbortSignal,
  ): Promise<{ outputs: unknown[]; lost: boolean; stopped?: boolean }>;
  chainable?(params: Record<string, unknown>): boolean;
  /** For skills that cost tokens (llm.chat): the usage an output of this skill reports, or null. */
  usage?(output: unknown): StepUsage | null;
  /**
   * RFC 6901 pointers into this skill's output whose values legitimately change from one call to the next
   * (a response's `date` header, a token count). A replay's `check` removes them from both outputs before
   * comparing, unless the replay is `strict`, and lists those that held a value in `comparison.ignored_paths`.
   * Each must be a non-empty pointer; the registry refuses to boot otherwise.
   */
  readonly volatilePaths?: readonly string[];
  /**
   * RFC 6901 pointers into `recorded` (an output of this skill as recorded, possibly by an earlier
   * version of it) to values this version never records (http.request: hop-by-hop headers). A replay's
   * `check` removes them from both outputs, also when it is `strict`: a run recorded before a change of
   * what the skill records must not mismatch on every step for that reason alone.
   */
  unrecordedPaths?(recorded: unknown): readonly string[];
}

export { StepErrorCode };

/**
 * A failure of a skill. Its code decides how it is recorded and whether the run retries
 * (`STEP_ERROR_CODES`: network errors, timeouts and 5xx are `RemoteUnavailable`, retryable).
 */
export class SkillError extends StepFailure {
  constructor(code: StepErrorCode, message: string) {
    super(code, message);
    this.name = 'SkillError';
  }
}
