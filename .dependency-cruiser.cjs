/**
 * Layer boundaries of ../shared/docs/ARCHITECTURE.md, checked in CI (`npm run lint:boundaries`).
 * Paths match `(^|/)src/...` so the same rules also judge the fixtures under test/fixtures.
 */
const SRC = '(^|/)src/';
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make boot order and ESM initialisation fragile.',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'api-not-to-drivers',
      severity: 'error',
      comment: 'L2 API reaches the service only through orchestrator tokens, never a spine or logs driver.',
      from: { path: `${SRC}api/` },
      to: { path: [`${SRC}spine/drivers/`, `${SRC}domains/[^/]+/drivers/`] },
    },
    {
      name: 'domains-not-to-spine-drivers',
      severity: 'error',
      comment: 'Customer domains never import the spine idempotency driver (or any spine driver).',
      from: { path: `${SRC}domains/` },
      to: { path: `${SRC}spine/drivers/` },
    },
    {
      name: 'drivers-not-to-data-source',
      severity: 'error',
      comment: 'Drivers work in the EntityManager the orchestrator hands them; they never reach for the data source.',
      from: { path: [`${SRC}spine/drivers/`, `${SRC}domains/[^/]+/drivers/`] },
      to: { path: [`${SRC}infra/database/(data-source|database\\.module)\\.ts$`] },
    },
    {
      name: 'driver-modules-only-from-orchestrator',
      severity: 'error',
      comment: 'Driver modules are imported only by the orchestrator module, so nothing else can inject a driver.',
      from: { pathNot: `${SRC}spine/orchestrator/orchestrator\\.module\\.ts$` },
      to: { path: `${SRC}(spine|domains/[^/]+)/drivers/[^/]+-drivers\\.module\\.ts$` },
    },
    {
      name: 'workers-only-to-orchestrator',
      severity: 'error',
      comment: 'Workers take a job and call the orchestrator; they never touch drivers or the API.',
      from: { path: `${SRC}workers/` },
      to: { path: [`${SRC}api/`, `${SRC}spine/drivers/`, `${SRC}domains/[^/]+/drivers/`] },
    },
    {
      name: 'skills-are-leaves',
      severity: 'error',
      comment: 'Skills depend on nothing of the layers above them.',
      from: { path: `${SRC}skills/` },
      to: { path: `${SRC}(api|spine|domains|workers)/` },
    },
    {
      name: 'shared-is-a-leaf',
      severity: 'error',
      comment: 'src/shared is pure vocabulary (canonical JSON, JSON Pointer, plan and step types): it imports nothing of the layers.',
      from: { path: `${SRC}shared/` },
      to: { path: `${SRC}(api|spine|domains|workers|skills|infra)/` },
    },
    {
      name: 'infra-is-a-leaf',
      severity: 'error',
      comment: 'Infra (config, database, redis, queue) calls nothing of the layers.',
      from: { path: `${SRC}infra/` },
      to: { path: `${SRC}(api|spine|domains|workers|skills)/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};
