import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

function newestMtime(dir: string, accept: (name: string) => boolean): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path, accept));
    else if (accept(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Refuses to spawn `dist/` processes older than the sources: a test of real worker processes must
 * test the code under review. `npm run test:e2e` builds first; a bare `jest` run needs `npm run build`.
 */
export function assertFreshDist(): void {
  const built = resolve('dist/src/worker.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npm run build\` (npm run test:e2e builds first)`);
  }
  const changedAt = newestMtime(resolve('src'), (name) => name.endsWith('.ts') && !name.endsWith('.spec.ts'));
  if (changedAt > builtAt) {
    throw new Error(
      `dist/ is older than src/ (a source changed after the last build): run \`npm run build\` (npm run test:e2e builds first)`,
    );
  }
}
