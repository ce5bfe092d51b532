import { Module } from '@nestjs/common';
import { LogsDriversModule } from '../../domains/logs/drivers/logs-drivers.module.js';
import { SecretsDriversModule } from '../../domains/secrets/drivers/secrets-drivers.module.js';
import { SkillsModule } from '../../skills/skills.module.js';
import { SpineDriversModule } from '../drivers/spine-drivers.module.js';
import { MaintenanceOrchestrator } from './maintenance.orchestrator.js';
import {
  MAINTENANCE_ORCHESTRATOR,
  REPLAY_BATCHES_ORCHESTRATOR,
  RUN_EXECUTION_ORCHESTRATOR,
  RUNS_ORCHESTRATOR,
  SECRETS_ORCHESTRATOR,
  SYSTEM_ORCHESTRATOR,
  TENANTS_ORCHESTRATOR,
} from './orchestrator.tokens.js';
import { ReplayBatchAdvancer } from './replay-batch-advancer.js';
import { ReplayBatchesOrchestrator } from './replay-batches.orchestrator.js';
import { ReplayPlanner } from './replay-planner.js';
import { RunExecutionOrchestrator } from './run-execution.orchestrator.js';
import { RunsOrchestrator } from './runs.orchestrator.js';
import { SecretsOrchestrator } from './secrets.orchestrator.js';
import { StepRunner } from './step-runner.js';
import { SystemOrchestrator } from './system.orchestrator.js';
import { TenantsOrchestrator } from './tenants.orchestrator.js';

/** The operations of the service. The only module allowed to import driver modules. */
@Module({
  imports: [SpineDriversModule, LogsDriversModule, SecretsDriversModule, SkillsModule],
  providers: [
    { provide: TENANTS_ORCHESTRATOR, useClass: TenantsOrchestrator },
    { provide: RUNS_ORCHESTRATOR, useClass: RunsOrchestrator },
    StepRunner,
    ReplayPlanner,
    ReplayBatchAdvancer,
    { provide: REPLAY_BATCHES_ORCHESTRATOR, useClass: ReplayBatchesOrchestrator },
    { provide: RUN_EXECUTION_ORCHESTRATOR, useClass: RunExecutionOrchestrator },
    { provide: MAINTENANCE_ORCHESTRATOR, useClass: MaintenanceOrchestrator },
    { provide: SYSTEM_ORCHESTRATOR, useClass: SystemOrchestrator },
    { provide: SECRETS_ORCHESTRATOR, useClass: SecretsOrchestrator },
  ],
  exports: [
    TENANTS_ORCHESTRATOR,
    RUNS_ORCHESTRATOR,
    RUN_EXECUTION_ORCHESTRATOR,
    MAINTENANCE_ORCHESTRATOR,
    SYSTEM_ORCHESTRATOR,
    SECRETS_ORCHESTRATOR,
    REPLAY_BATCHES_ORCHESTRATOR,
  ],
})
export class OrchestratorModule {}
