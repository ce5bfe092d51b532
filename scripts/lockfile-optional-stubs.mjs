// The npm registry reachable here does not serve some platform-specific optional packages
// (e.g. @msgpackr-extract/*-darwin-arm64). `npm install` then leaves them out of
// package-lock.json, and `npm ci` refuses the lock as "out of sync". This script records each
// such optional dependency in the lock as an optional entry, exactly as a lock written against
// the full registry would, so `npm ci` accepts it; npm skips them at install time because they
// are optional and not installable on this platform. Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [key, entry] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${key ? key + '/' : ''}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (pkgs[nested] || pkgs[hoisted]) continue;
    pkgs[hoisted] = { version, optional: true, license: 'UNKNOWN' };
    added += 1;
  }
}
const sorted = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
lock.packages = sorted;
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`lockfile: ${added} optional entries recorded`);
