import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BROADCAST, type Broadcast, BroadcastUnconfirmedError, type Subscription } from '../../infra/broadcast/broadcast.port.js';
import { CLOCK, type Clock } from '../../infra/clock.js';
import type { AppConfig } from '../../infra/config/app.config.js';
import { InjectConfig } from '../../infra/config/config.tokens.js';
import { TENANT_STORE_DRIVER } from '../drivers/spine-drivers.tokens.js';
import type { TenantStoreDriver } from '../drivers/tenant-store.driver.js';
import { SpineErrorCode, SpineException } from '../spine.exception.js';
import { ApiKeyCache } from './api-key-cache.js';
import { generateApiKey, hashApiKey } from './api-key-secret.js';

/** The broadcast topic of revoked API keys (the message is the key's id). */
const REVOKED_KEYS_TOPIC = 'api-keys-revoked';
/** How long a revocation waits for every API process to confirm that it dropped the key. */
export const REVOCATION_CONFIRM_MS = 2_000;
/** Bound on the cache's memory (keys beyond it are read from PostgreSQL again). */
const MAX_CACHED_KEYS = 10_000;

export interface CreatedTenant {
  id: string;
  name: string;
  api_key: string;
  created_at: Date;
}

export interface CreatedApiKey {
  id: string;
  api_key: string;
  created_at: Date;
}

/**
 * Tenants and API keys: creation, revocation and authentication of a presented key.
 *
 * Live keys are cached in process (ApiKeyCache, by the key's hash). A revocation is committed, dropped
 * from this process's cache, then broadcast to every process that authenticates; the call returns only
 * once each of them confirmed it dropped the key, so a key revoked through any process is refused by
 * every process from the moment the revoke returns. When that cannot be confirmed within
 * REVOCATION_CONFIRM_MS the revoke fails (RevocationUnconfirmed; the key stays revoked in the database
 * and a retry broadcasts again).
 */
@Injectable()
export class TenantsOrchestrator {
  private readonly cache: ApiKeyCache;
  private readonly cacheEnabled: boolean;
  private subscription: Subscription | null = null;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(TENANT_STORE_DRIVER) private readonly tenants: TenantStoreDriver,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(BROADCAST) private readonly broadcast: Broadcast,
    @InjectConfig('auth') auth: AppConfig['auth'],
  ) {
    this.cache = new ApiKeyCache(
      auth.apiKeyCacheTtlMs,
      MAX_CACHED_KEYS,
      () => this.clock.now().getTime(),
      () => this.subscription,
    );
    this.cacheEnabled = auth.apiKeyCacheTtlMs > 0;
  }

  /** One transaction: the tenant and its first key exist together or not at all. */
  async createTenant(name: string): Promise<CreatedTenant> {
    const secret = generateApiKey();
    return this.dataSource.transaction(async (manager) => {
      const tenant = await this.tenants.insertTenant(manager, randomUUID(), name);
      await this.tenants.insertApiKey(manager, randomUUID(), tenant.id, hashApiKey(secret));
      return { id: tenant.id, name: tenant.name, api_key: secret, created_at: tenant.created_at };
    });
  }

  async createApiKey(tenantId: string): Promise<CreatedApiKey> {
    const secret = generateApiKey();
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.tenants.tenantExists(manager, tenantId))) {
        throw new SpineException(SpineErrorCode.TenantNotFound, `Tenant ${tenantId} does not exist.`);
      }
      const key = await this.tenants.insertApiKey(manager, randomUUID(), tenantId, hashApiKey(secret));
      return { id: key.id, api_key: secret, created_at: key.created_at };
    });
  }

  /**
   * Revokes a key at once: committed, then confirmed dropped by every process's cache (see the class).
   * Revoking a revoked key broadcasts again (a retry after RevocationUnconfirmed).
   */
  async revokeApiKey(keyId: string): Promise<void> {
    const manager = this.dataSource.manager;
    if (!(await this.tenants.revokeApiKey(manager, keyId, this.clock.now())) && !(await this.tenants.apiKeyExists(manager, keyId))) {
      throw new SpineException(SpineErrorCode.ApiKeyNotFound, `API key ${keyId} does not exist.`);
    }
    this.cache.revoke(keyId);
    try {
      await this.broadcast.publish(REVOKED_KEYS_TOPIC, keyId, REVOCATION_CONFIRM_MS);
    } catch (error) {
      if (!(error instanceof BroadcastUnconfirmedError)) throw error;
      throw new SpineException(
        SpineErrorCode.RevocationUnconfirmed,
        `API key ${keyId} is revoked, but not every API process confirmed it within ${REVOCATION_CONFIRM_MS} ms (${error.message}); ` +
          'retry the revocation. A process that missed it stops accepting the key within API_KEY_CACHE_TTL_MS.',
        { retryAfterSeconds: 1 },
      );
    }
  }

  /**
   * Starts listening for revocations (API processes call it at boot, so keys are cached from the first
   * requests on; the first authentication would otherwise). Nothing is cached until the subscription is live.
   */
  watchRevocations(): void {
    if (this.cacheEnabled) this.subscription ??= this.broadcast.subscribe(REVOKED_KEYS_TOPIC, (keyId) => this.cache.revoke(keyId));
  }

  /** The tenant id of a live key, or null for an unknown or revoked one. */
  async authenticate(secret: string): Promise<string | null> {
    const keyHash = hashApiKey(secret);
    this.watchRevocations();
    const cached = this.cache.get(keyHash);
    if (cached) return cached.tenantId;
    const ticket = this.cache.ticket();
    const key = await this.tenants.findLiveKeyByHash(this.dataSource.manager, keyHash);
    if (!key) return null;
    this.cache.set(keyHash, { keyId: key.id, tenantId: key.tenant_id }, ticket);
    return key.tenant_id;
  }
}
