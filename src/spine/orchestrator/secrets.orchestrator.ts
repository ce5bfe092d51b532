import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { SecretCipher, SecretsDisabledError, SecretUnreadableError } from '../../domains/secrets/drivers/secret-cipher.js';
import type { SecretStoreDriver, SecretSummary } from '../../domains/secrets/drivers/secret-store.driver.js';
import { SECRET_CIPHER, SECRET_STORE_DRIVER } from '../../domains/secrets/drivers/secrets-drivers.tokens.js';
import { CLOCK, type Clock } from '../../infra/clock.js';
import { collectSecretRefs, isSecretRef, planSecretNames } from '../../shared/param-refs.js';
import type { StepSpec } from '../../shared/step.types.js';
import { type FieldError, SpineErrorCode, SpineException } from '../spine.exception.js';
import { SecretUnavailableError, StepSecrets } from './step-secrets.js';

/** The value's associated data: a ciphertext opens only in the row (tenant, name) it was sealed for. */
const boundTo = (tenantId: string, name: string) => `${tenantId}\0${name}`;

/**
 * Tenant secrets: create or replace, list (names and dates only), delete; the submission check of the
 * `$secret` references of a plan; and the decryption a step needs at the last moment.
 */
@Injectable()
export class SecretsOrchestrator {
  /** The secret names of each plan in hand (a run's plan is scanned once, not once per step). */
  private readonly planNames = new WeakMap<object, string[]>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(SECRET_STORE_DRIVER) private readonly store: SecretStoreDriver,
    @Inject(SECRET_CIPHER) private readonly cipher: SecretCipher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.cipher.enabled;
  }

  /** Creates or replaces a secret (a new random IV each time). The name and value were checked by the API. */
  async put(tenantId: string, name: string, value: string): Promise<void> {
    this.requireEnabled();
    const sealed = this.cipher.seal(value, boundTo(tenantId, name));
    await this.store.upsert(this.dataSource.manager, tenantId, name, sealed, this.clock.now());
  }

  async list(tenantId: string): Promise<SecretSummary[]> {
    this.requireEnabled();
    return this.store.list(this.dataSource.manager, tenantId);
  }

  async delete(tenantId: string, name: string): Promise<void> {
    this.requireEnabled();
    if (!(await this.store.delete(this.dataSource.manager, tenantId, name))) {
      throw new SpineException(SpineErrorCode.SecretNotFound, `Secret "${name}" does not exist.`);
    }
  }

  /**
   * The submission check of a plan's `$secret` references (their shape is checked by validatePlan):
   * every name must be a secret of the tenant, and secrets must be on. Returns one error per reference.
   * `manager`: the caller's transaction (a replay batch starts items inside one), else the pool.
   */
  async referenceErrors(
    tenantId: string,
    steps: ReadonlyArray<Pick<StepSpec, 'params'>>,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<FieldError[]> {
    const refs = steps.flatMap((step, index) =>
      collectSecretRefs(step.params, `steps[${index}].params`).flatMap(({ path, ref }) =>
        isSecretRef(ref) ? [{ path, name: ref.$secret }] : [],
      ),
    );
    if (refs.length === 0) return [];
    if (!this.enabled) {
      return refs.map(({ path }) => ({ field: path, message: 'secrets are disabled on this service (SECRETS_KEY is not set)' }));
    }
    const known = new Set(await this.store.existingNames(manager, tenantId, [...new Set(refs.map((r) => r.name))]));
    return refs.filter(({ name }) => !known.has(name)).map(({ path, name }) => ({ field: path, message: `unknown secret "${name}"` }));
  }

  /** The secrets of one step of a run of `tenantId`: read only if the skill runs, masked wherever the step is recorded. */
  forStep(tenantId: string, plan: ReadonlyArray<Pick<StepSpec, 'params'>>, params: unknown): StepSecrets {
    let names = this.planNames.get(plan);
    if (!names) this.planNames.set(plan, (names = planSecretNames(plan)));
    return StepSecrets.of(plan, params, (secretNames) => this.reveal(tenantId, secretNames), names);
  }

  /** Decrypts those of `names` the tenant has. */
  async reveal(tenantId: string, names: readonly string[]): Promise<Map<string, string>> {
    const values = new Map<string, string>();
    if (names.length === 0) return values;
    const sealed = await this.store.findSealed(this.dataSource.manager, tenantId, names);
    for (const secret of sealed) {
      try {
        values.set(secret.name, this.cipher.open(secret, boundTo(tenantId, secret.name)));
      } catch (error) {
        if (error instanceof SecretsDisabledError) throw new SecretUnavailableError(`${error.message} (in this worker)`);
        if (error instanceof SecretUnreadableError)
          throw new SecretUnavailableError(`secret "${secret.name}" cannot be read: ${error.message}`);
        throw error;
      }
    }
    return values;
  }

  private requireEnabled(): void {
    if (!this.cipher.enabled) {
      throw new SpineException(
        SpineErrorCode.SecretsDisabled,
        'Secrets are disabled: set SECRETS_KEY (the base64 of 32 bytes) to enable them.',
      );
    }
  }
}
