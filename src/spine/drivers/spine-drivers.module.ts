import { Module } from '@nestjs/common';
import { IdempotencyDriver } from './idempotency.driver.js';
import { ReplayBatchStoreDriver } from './replay-batch-store.driver.js';
import { RunStoreDriver } from './run-store.driver.js';
import { IDEMPOTENCY_DRIVER, REPLAY_BATCH_STORE_DRIVER, RUN_STORE_DRIVER, TENANT_STORE_DRIVER } from './spine-drivers.tokens.js';
import { TenantStoreDriver } from './tenant-store.driver.js';

/**
 * Spine drivers. Exports only Symbol tokens and is imported only by OrchestratorModule
 * (enforced by dependency-cruiser), so nothing else can inject a driver.
 */
@Module({
  providers: [
    { provide: TENANT_STORE_DRIVER, useClass: TenantStoreDriver },
    { provide: RUN_STORE_DRIVER, useClass: RunStoreDriver },
    { provide: IDEMPOTENCY_DRIVER, useClass: IdempotencyDriver },
    { provide: REPLAY_BATCH_STORE_DRIVER, useClass: ReplayBatchStoreDriver },
  ],
  exports: [TENANT_STORE_DRIVER, RUN_STORE_DRIVER, IDEMPOTENCY_DRIVER, REPLAY_BATCH_STORE_DRIVER],
})
export class SpineDriversModule {}
