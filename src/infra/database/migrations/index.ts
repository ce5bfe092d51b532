import { TenantsAndApiKeys1763884800000 } from './1763884800000-TenantsAndApiKeys.js';
import { RunsAndTraces1763884900000 } from './1763884900000-RunsAndTraces.js';
import { StepKeyIndex1763885000000 } from './1763885000000-StepKeyIndex.js';
import { RunLease1763885100000 } from './1763885100000-RunLease.js';
import { TenantSecrets1763885400000 } from './1763885400000-TenantSecrets.js';
import { RunSignals1763885500000 } from './1763885500000-RunSignals.js';
import { StepComparisons1763885620000 } from './1763885620000-StepComparisons.js';
import { ReplayBatches1763885800000 } from './1763885800000-ReplayBatches.js';
import { RunRetention1763886000000 } from './1763886000000-RunRetention.js';

/** Every migration, in order. Listed explicitly so the ESM build needs no glob loading. */
export const migrations = [
  TenantsAndApiKeys1763884800000,
  RunsAndTraces1763884900000,
  StepKeyIndex1763885000000,
  RunLease1763885100000,
  TenantSecrets1763885400000,
  RunSignals1763885500000,
  StepComparisons1763885620000,
  ReplayBatches1763885800000,
  RunRetention1763886000000,
];
