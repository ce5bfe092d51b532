#!/usr/bin/env node
// Lint rule of ARCHITECTURE.md: drivers never open, commit or roll back a transaction, and never
// reach for the DataSource; they work in the EntityManager the orchestrator hands them.
// Usage: node scripts/check-driver-transactions.mjs [root ...]   (default: src)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const RULES = [
  [/\.transaction\s*\(/, 'opens a transaction (.transaction())'],
  [/\b(startTransaction|commitTransaction|rollbackTransaction)\b/, 'controls a transaction through a QueryRunner'],
  [/\bcreateQueryRunner\s*\(/, 'creates its own QueryRunner'],
  [/['"`]\s*(BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK|SAVEPOINT)\b/i, 'sends transaction control SQL'],
  [/import\s*{[^}]*\bDataSource\b[^}]*}\s*from\s*['"]typeorm['"]/, 'imports the DataSource'],
];

function* driverFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* driverFiles(path);
    else if (/\/drivers\/.*\.ts$/.test(path) && !path.endsWith('.spec.ts')) yield path;
  }
}

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['src'];
const violations = [];
for (const root of roots) {
  for (const file of driverFiles(root)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return; // comments may talk about transactions
      for (const [pattern, why] of RULES) {
        if (pattern.test(line)) violations.push(`${relative(process.cwd(), file)}:${i + 1}: driver ${why}`);
      }
    });
  }
}
if (violations.length > 0) {
  console.error(`Drivers must not manage transactions:\n  ${violations.join('\n  ')}`);
  process.exit(1);
}
console.log(`driver transaction check: no violations (${roots.join(', ')})`);
