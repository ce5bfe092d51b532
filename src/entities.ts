import { RunStepEntity } from './domains/logs/entities/run-step.entity.js';
import { TenantSecretEntity } from './domains/secrets/entities/tenant-secret.entity.js';
import { ApiKeyEntity } from './spine/entities/api-key.entity.js';
import { RunEntity } from './spine/entities/run.entity.js';
import { TenantEntity } from './spine/entities/tenant.entity.js';

/** All TypeORM entities, each owned by its layer; the composition root hands them to the data source. */
export const entities = [TenantEntity, ApiKeyEntity, RunEntity, RunStepEntity, TenantSecretEntity];
