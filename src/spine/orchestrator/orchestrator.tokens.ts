/** DI tokens of the orchestrator's operations: what src/api and src/workers inject. */
export const TENANTS_ORCHESTRATOR = Symbol('TENANTS_ORCHESTRATOR');
export const RUNS_ORCHESTRATOR = Symbol('RUNS_ORCHESTRATOR');
export const RUN_EXECUTION_ORCHESTRATOR = Symbol('RUN_EXECUTION_ORCHESTRATOR');
export const MAINTENANCE_ORCHESTRATOR = Symbol('MAINTENANCE_ORCHESTRATOR');
export const SYSTEM_ORCHESTRATOR = Symbol('SYSTEM_ORCHESTRATOR');
export const SECRETS_ORCHESTRATOR = Symbol('SECRETS_ORCHESTRATOR');
