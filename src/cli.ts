import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { buildOpenApiDocument } from './api/openapi.js';
import { AppModule } from './app.module.js';
import { loadConfigOrExit, resolveRuntime } from './bootstrap.js';
import { TENANTS_ORCHESTRATOR } from './spine/orchestrator/orchestrator.tokens.js';
import type { TenantsOrchestrator } from './spine/orchestrator/tenants.orchestrator.js';

const USAGE = `usage: npm run cli -- <command>
  tenant:create <name>         create a tenant and print its first API key
  api-key:create <tenant_id>   create another API key for a tenant
  api-key:revoke <key_id>      revoke an API key at once
  openapi                      print the OpenAPI document (needs no database)`;

/** The document /openapi.json serves, from the module graph alone (`preview`: no provider runs, no database). */
async function printOpenApi(): Promise<number> {
  const config = loadConfigOrExit({ executesRuns: false });
  const app = await NestFactory.create(
    AppModule.forRoot(config, { databaseUrl: 'postgresql://preview.invalid/none' }, { api: true, worker: false }),
    { preview: true, logger: false, bodyParser: false },
  );
  process.stdout.write(`${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
  await app.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, arg] = argv;
  if (command === 'openapi') return printOpenApi();
  if (!command || !arg || !['tenant:create', 'api-key:create', 'api-key:revoke'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 64; // EX_USAGE
  }
  // The CLI executes no run, so DATABASE_URL alone is fine here (see executionTopologyProblem).
  const config = loadConfigOrExit({ executesRuns: false });
  // stdout carries only the JSON result, so a script can parse it.
  const runtime = await resolveRuntime(config, (m) => process.stderr.write(`${m}\n`));
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, runtime, { api: false, worker: false }), {
    logger: ['error', 'warn'],
  });
  try {
    const tenants = app.get<TenantsOrchestrator>(TENANTS_ORCHESTRATOR);
    let result: unknown;
    if (command === 'tenant:create') result = await tenants.createTenant(arg);
    else if (command === 'api-key:create') result = await tenants.createApiKey(arg);
    else result = (await tenants.revokeApiKey(arg), { revoked: arg });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await app.close();
    await runtime.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
