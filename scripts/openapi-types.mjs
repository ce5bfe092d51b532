// Generates client/schema.ts (TypeScript types of the HTTP API) from the OpenAPI document the
// service serves at /openapi.json, with openapi-typescript. The document is the one
// `npm run -s cli -- openapi` prints (the compiled app in Nest's preview mode: controllers and DTOs
// scanned, no provider instantiated, no database or Redis), so run `npm run build` first.
//
//   node scripts/openapi-types.mjs           write client/schema.ts
//   node scripts/openapi-types.mjs --check   exit 1 when client/schema.ts is stale (CI)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const root = new URL('../', import.meta.url);
const target = new URL('client/schema.ts', root);
const check = process.argv.includes('--check');

const document = JSON.parse(
  execFileSync(process.execPath, [fileURLToPath(new URL('dist/src/cli.js', root)), 'openapi'], {
    cwd: fileURLToPath(root),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);

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
