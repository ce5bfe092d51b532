// Generates client/schema.ts (TypeScript types of the HTTP API) from the OpenAPI document the
// service serves at /openapi.json, with openapi-typescript. The document is built from the compiled
// app (dist/, so run `npm run build` first) in Nest's preview mode: the controllers and DTOs are
// scanned, no provider is instantiated, no database or Redis is needed.
//
//   node scripts/openapi-types.mjs           write client/schema.ts
//   node scripts/openapi-types.mjs --check   exit 1 when client/schema.ts is stale (CI)
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import openapiTS, { astToString } from 'openapi-typescript';

const root = new URL('../', import.meta.url);
const target = new URL('client/schema.ts', root);
const check = process.argv.includes('--check');

const { AppModule } = await import(new URL('dist/src/app.module.js', root).href);
const { loadConfig } = await import(new URL('dist/src/infra/config/app.config.js', root).href);
const { buildOpenApiDocument } = await import(new URL('dist/src/api/openapi.js', root).href);

// Production-mode settings so every module of the API is part of the scan; nothing connects in preview mode.
const config = loadConfig({
  NODE_ENV: 'production',
  DATABASE_URL: 'postgresql://preview@127.0.0.1:1/preview',
  REDIS_URL: 'redis://127.0.0.1:1',
});
const app = await NestFactory.create(AppModule.forRoot(config, { databaseUrl: config.DATABASE_URL }, { api: true, worker: false }), {
  preview: true,
  logger: false,
  abortOnError: false,
});
const document = buildOpenApiDocument(app);
await app.close();

const header =
  '// Generated from the OpenAPI document (/openapi.json) by scripts/openapi-types.mjs with openapi-typescript.\n' +
  '// Do not edit: run `npm run build && npm run client:generate`. CI fails when this file is stale.\n\n';
const generated = header + astToString(await openapiTS(document, { alphabetize: true, defaultNonNullable: false }));

// client/contract.ts holds hand-written types of contract parts the document lacked; once it has them, they go.
const { PENDING_PATHS, PENDING_FIELDS } = await import(new URL('dist/client/contract.js', root).href);
const shape = (path) => path.replace(/\{[^}]+\}/g, '{}');
const served = new Set(Object.keys(document.paths).map(shape));
const nowDocumented = [
  ...PENDING_PATHS.filter((path) => served.has(shape(path))),
  ...Object.entries(PENDING_FIELDS).flatMap(([schema, fields]) =>
    fields.filter((field) => document.components?.schemas?.[schema]?.properties?.[field]).map((field) => `${schema}.${field}`),
  ),
];

if (check) {
  if (nowDocumented.length > 0) {
    console.error(
      `The OpenAPI document now has ${nowDocumented.join(', ')}: delete them from client/contract.ts (PENDING_PATHS/PENDING_FIELDS and their types) so the generated types are used.`,
    );
    process.exit(1);
  }
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== generated) {
    console.error('client/schema.ts is stale: the OpenAPI document changed. Run `npm run build && npm run client:generate` and commit it.');
    process.exit(1);
  }
  console.log('client/schema.ts matches the OpenAPI document');
} else {
  writeFileSync(target, generated);
  console.log(`wrote client/schema.ts (${Object.keys(document.paths).length} paths)`);
}
