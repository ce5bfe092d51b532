// A transform sandbox process (see transform-sandbox.ts): evaluates JSONata expressions for its
// parent worker process, inside its own V8 heap limit (--max-old-space-size), so that no expression
// can block the parent's event loop or exhaust its memory. Plain JavaScript, so Node runs it as it
// is from src/ (tests) and from dist/ (the build copies it: allowJs in tsconfig.build.json).
import { Worker } from 'node:worker_threads';
import jsonata from 'jsonata';
import workerpool from 'workerpool';

/**
 * Argument: TRANSFORM_TIMEOUT_MS. The parent stops an evaluation at that limit; this process stops itself 2 s later.
 * In a chain (evaluateChain) the parent is not told when each evaluation starts, so this process stops
 * itself at the limit (within the watchdog's 200 ms tick).
 */
const TIMEOUT_MS = Number(process.argv[2] ?? 1000);
const HARD_LIMIT_MS = TIMEOUT_MS + 2_000;

// Watchdog: a thread that kills this process when one evaluation outlives HARD_LIMIT_MS. The parent
// normally stops it first; this covers a parent that died (SIGKILL) while an evaluation spins,
// which would otherwise keep burning a core: the evaluation never yields to the event loop.
const deadline = new BigInt64Array(new SharedArrayBuffer(8));
new Worker(
  `const { workerData } = require('node:worker_threads');
   const deadline = new BigInt64Array(workerData);
   const tick = new Int32Array(new SharedArrayBuffer(4));
   for (;;) {
     Atomics.wait(tick, 0, 0, 200);
     const at = Atomics.load(deadline, 0);
     if (at !== 0n && BigInt(Date.now()) > at) process.kill(process.pid, 'SIGKILL');
   }`,
  { eval: true, workerData: deadline.buffer },
).unref();

/**
 * Parsed expressions, the most recently used (expressions repeat across runs, and a replay evaluates its
 * original's again): at most CACHE_SIZE of them and CACHE_CHARS characters of source, so the cache stays
 * far below the process's heap limit (parsing is two thirds of a small transform's cost in here).
 */
const CACHE_SIZE = 2_000;
const CACHE_CHARS = 200_000;
const compiled = new Map();
let cachedChars = 0;

function compile(expression) {
  let parsed = compiled.get(expression);
  if (parsed) {
    compiled.delete(expression); // re-inserted last: most recently used
  } else {
    parsed = jsonata(expression);
    cachedChars += expression.length;
    while (compiled.size > 0 && (compiled.size >= CACHE_SIZE || cachedChars > CACHE_CHARS)) {
      const oldest = compiled.keys().next().value;
      compiled.delete(oldest);
      cachedChars -= oldest.length;
    }
    if (cachedChars > CACHE_CHARS) {
      cachedChars -= expression.length; // larger than the whole cache: not kept
      return parsed;
    }
  }
  compiled.set(expression, parsed);
  return parsed;
}

class NotJsonError extends Error {}

/** JSON text of a value; functions (JSONata lambdas), symbols and non-finite numbers are refused. */
function toJson(value) {
  return JSON.stringify(value === undefined ? null : value, (_key, v) => {
    if (typeof v === 'function' || typeof v === 'symbol') throw new NotJsonError(`a ${typeof v} is not JSON`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new NotJsonError(`${v} is not a JSON number`);
    return v;
  });
}

const messageOf = (error) => (error && typeof error.message === 'string' ? error.message : String(error));

/**
 * Evaluates `expression` over `document`. Tells the parent when evaluation starts (its timeout
 * counts from then, not from the wait for a free process). Returns { json } (the value as JSON text,
 * at most maxBytes of UTF-8) or { error: { kind: 'invalid' | 'evaluation' | 'not-json' | 'too-large', message } }.
 */
async function evaluate(expression, document, maxBytes, chained = false) {
  if (!chained) workerpool.workerEmit('started');
  Atomics.store(deadline, 0, BigInt(Date.now() + (chained ? TIMEOUT_MS : HARD_LIMIT_MS)));
  try {
    let expr;
    try {
      expr = compile(expression);
    } catch (error) {
      return { error: { kind: 'invalid', message: messageOf(error) } };
    }
    let json;
    try {
      json = toJson(await expr.evaluate(document));
    } catch (error) {
      return { error: { kind: error instanceof NotJsonError ? 'not-json' : 'evaluation', message: messageOf(error) } };
    }
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > maxBytes) return { error: { kind: 'too-large', bytes } };
    return { json };
  } finally {
    Atomics.store(deadline, 0, 0n);
  }
}

/** Keys in sorted order at every level: the order in which the parent's canonical JSON gives values back. */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
  return sorted;
}

/**
 * Evaluates consecutive transform steps in one call (the parent's prefetch of pure steps): each
 * expression over `document` extended with the outputs before it (parsed back from their JSON with
 * sorted keys, as the parent would hand them on). One message to the parent when the chain starts;
 * each evaluation's time limit is kept by the watchdog (this process dies past it). Stops at the
 * first error. Returns { results: [json...] }, the JSON texts of the evaluations that succeeded.
 */
/**
 * A chain stops between evaluations once `budgetMs` of it have passed (`stopped`: the rest are evaluated
 * in a later call), so a chain holds this process for at most its budget plus one evaluation's limit,
 * whatever its length: one run's long chain does not keep other runs' transforms waiting.
 */
async function evaluateChain(expressions, document, maxBytes, budgetMs = Infinity) {
  const results = [];
  const startedAt = Date.now();
  workerpool.workerEmit('started');
  for (let i = 0; i < expressions.length; i++) {
    if (i > 0 && Date.now() - startedAt >= budgetMs) return { results, stopped: true };
    const result = await evaluate(expressions[i], document, maxBytes, true);
    if (!('json' in result)) break;
    results.push(result.json);
    document.steps.push({ output: sortKeys(JSON.parse(result.json)) });
  }
  return { results, stopped: false };
}

workerpool.worker({ evaluate, evaluateChain });
