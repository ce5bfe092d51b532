// A comparison thread (see comparison-pool.ts): runs the work of a replay `check` (runCheck of
// src/shared/check-comparison.ts) on the JSON texts of two large outputs, so that a second of
// comparing, hashing and diffing never holds the worker's event loop. Plain JavaScript, so Node runs
// it as it is from src/ (tests) and from dist/ (the build copies it: allowJs in tsconfig.build.json).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import workerpool from 'workerpool';

// In dist/ the compiled module is next to this file's tree; from src/ (ts-jest runs the TypeScript
// sources, a thread cannot) it is the build's copy, which the e2e tests check is fresh.
const compiled = new URL('../../../shared/check-comparison.js', import.meta.url);
const module = existsSync(fileURLToPath(compiled)) ? compiled : new URL('../../../../dist/src/shared/check-comparison.js', import.meta.url);
const { runCheck } = await import(module.href);

workerpool.worker({
  check(job) {
    return runCheck({ ...job, expected: JSON.parse(job.expected), actual: JSON.parse(job.actual) });
  },
});
