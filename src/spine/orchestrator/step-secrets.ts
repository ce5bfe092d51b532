import { StepErrorCode, StepFailure } from '../../shared/run-errors.js';
import { planSecretNames, secretNames, secretPlaceholder, substituteSecrets } from '../../shared/param-refs.js';
import { maskSecrets, redactText, redactValue, SecretMask } from '../../shared/redaction.js';

/** A secret the step names no longer exists (deleted after the run was submitted): not retryable. */
export class SecretMissingError extends StepFailure {
  constructor(readonly names: readonly string[]) {
    super(
      StepErrorCode.SecretMissing,
      `secret${names.length > 1 ? 's' : ''} ${names.map((n) => `"${n}"`).join(', ')} not found (deleted after the run was submitted?)`,
    );
    this.name = 'SecretMissingError';
  }
}

/** Secrets cannot be read in this process (no SECRETS_KEY, or another key sealed them): not retryable. */
export class SecretUnavailableError extends StepFailure {
  constructor(message: string) {
    super(StepErrorCode.SecretUnavailable, message);
    this.name = 'SecretUnavailableError';
  }
}

/** Decrypts the named secrets of the run's tenant; names the tenant does not have are absent from the map. */
export type SecretLoader = (names: readonly string[]) => Promise<ReadonlyMap<string, string>>;

/**
 * The secrets of one step execution. Values are read at the last moment, inside `execute`, and only
 * when the skill really runs (a skipped or cached step reads none). Everything recorded of the step
 * goes through it: params (`record`), the output (`execute` returns it masked and redacted) and
 * errors (`error`, `text`). Masking covers every secret the run's plan names, so an output that echoes
 * a secret sent by an earlier step is masked too.
 */
export class StepSecrets {
  private mask = new SecretMask([]);

  constructor(
    /** Every secret the run's plan names. */
    private readonly planNames: readonly string[],
    /** The secrets this step's params name. */
    private readonly stepNames: readonly string[],
    private readonly load: SecretLoader,
  ) {}

  /**
   * `params`: the step's params as written (a replay override may differ from the plan's); `planNames`:
   * `planSecretNames(plan)` when the caller already has it (a run's plan is scanned once, not per step).
   */
  static of(plan: ReadonlyArray<{ params: unknown }>, params: unknown, load: SecretLoader, planNames = planSecretNames(plan)): StepSecrets {
    const stepNames = secretNames(params);
    return new StepSecrets(stepNames.length === 0 ? planNames : [...new Set([...planNames, ...stepNames])], stepNames, load);
  }

  /**
   * Params as the trace records them: `$ref` resolved, each `$secret` as "[secret:<name>]", credential
   * headers and query parameters "[redacted]", echoes of known secret values masked.
   * `written`: the params as written in the plan; `resolved`: the same after `$ref` resolution.
   */
  record(written: unknown, resolved: unknown): Record<string, unknown> {
    return maskSecrets(substituteSecrets(written, resolved, secretPlaceholder), this.mask) as Record<string, unknown>;
  }

  /**
   * Reads the secrets, calls the skill with the real values (`secretValues`: those this step's params
   * hold, for skills that must treat them specially, such as http.request on a redirect), and returns
   * the output as recorded: secret values masked, credentials redacted.
   */
  async execute(
    written: unknown,
    resolved: Record<string, unknown>,
    call: (params: Record<string, unknown>, secretValues: readonly string[]) => Promise<unknown>,
  ): Promise<unknown> {
    if (this.planNames.length === 0) return redactValue(await call(resolved, []));
    const values = await this.load(this.planNames);
    this.mask = new SecretMask([...values].map(([name, value]) => ({ name, value })));
    const missing = this.stepNames.filter((name) => !values.has(name));
    if (missing.length > 0) throw new SecretMissingError(missing);
    const params = substituteSecrets(written, resolved, (name) => values.get(name)) as Record<string, unknown>;
    const output = await call(
      params,
      this.stepNames.map((name) => values.get(name)!),
    );
    return maskSecrets(output, this.mask);
  }

  /** An error as recorded: its message masked and redacted. */
  error<E extends { message: string }>(error: E): E {
    return { ...error, message: this.text(error.message) };
  }

  /** Any text about the step (an error message, a log line) masked and redacted. */
  text(text: string): string {
    return redactText(this.mask.text(text));
  }
}
