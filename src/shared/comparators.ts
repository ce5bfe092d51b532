import { distance } from 'fastest-levenshtein';
import { canonicalJson, hashOutput } from './canonical-json.js';
import { isJsonPointer, valueAtPointer, withoutPaths } from './json-pointer.js';
import { StepErrorCode, StepFailure } from './run-errors.js';

/**
 * How a replay's `check` step compares its new output with the original's (API.md, "What-if replays"):
 * the options of `compare`, their validation, and the comparators that need no I/O. The `judge` mode
 * needs an LLM call: its prompt and the strict parse of its verdict are here, the call itself is made by
 * the step runner (through the skill registry's `llm.chat`).
 */

export const COMPARE_MODES = ['exact', 'numeric', 'text', 'schema', 'judge'] as const;
export type CompareMode = (typeof COMPARE_MODES)[number];

export type Comparator =
  | { mode: 'exact' }
  | { mode: 'numeric'; abs?: number; rel?: number }
  | { mode: 'text'; min_similarity: number; paths?: string[] }
  | { mode: 'schema' }
  | { mode: 'judge'; model: string; rubric: string };

export type JudgeComparator = Extract<Comparator, { mode: 'judge' }>;
export type LocalComparator = Exclude<Comparator, JudgeComparator>;

export const EXACT: Comparator = Object.freeze({ mode: 'exact' });

/** What a checked step records (`comparison` in the trace). */
export interface Comparison {
  mode: CompareMode;
  passed: boolean;
  /** `text`: the lowest similarity over the compared strings (0..1); null for the other modes. */
  score: number | null;
  /** Why it did not pass (numeric, text, schema), or the judge's reason; null where there is none. */
  reason: string | null;
  /** The pointers left out of this step's comparison: ignore_paths and volatile paths that held a value on either side. */
  ignored_paths: string[];
}

/** A verdict before the ignored paths are attached. */
export type Verdict = Pick<Comparison, 'passed' | 'score' | 'reason'>;

export interface FieldProblem {
  field: string;
  message: string;
}

/** Limits of the options (a body is at most MAX_BODY_BYTES anyway; these keep one field sane). */
export const COMPARE_LIMITS = { textPaths: 100, pointerLength: 1024, model: 200, rubric: 8000 } as const;

/**
 * Work bound of one `text` comparison, in character pairs (the product of the lengths of the parts that
 * differ, summed over its paths). Levenshtein distance is quadratic: 20,000 x 20,000 characters take
 * about 0.15 s on the worker's event loop; past the bound the comparison does not pass (its reason says
 * so) rather than hold the loop for minutes (a 1 MiB output would).
 */
export const TEXT_COMPARE_BUDGET = 400_000_000;

/**
 * The most a judge is shown of each output: characters of canonical JSON once the ignored paths are
 * removed. Past it the judge is not asked and the step fails (`judge_failed`, with the sizes): a
 * verdict on a truncated output would be a verdict on something the judge did not see, and a prompt of
 * megabytes costs what it costs or is refused by the model anyway.
 */
export const JUDGE_OUTPUT_MAX_CHARS = 50_000;

const INDEX = /^(0|[1-9]\d*)$/;
const OPTIONS: { readonly [M in CompareMode]: { required: readonly string[]; optional: readonly string[] } } = {
  exact: { required: [], optional: [] },
  numeric: { required: [], optional: ['abs', 'rel'] },
  text: { required: ['min_similarity'], optional: ['paths'] },
  schema: { required: [], optional: [] },
  judge: { required: ['model', 'rubric'], optional: [] },
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Checks `compare` of a replay body: keys are `*` or a step index (below `stepCount` when given), values
 * comparator objects of a known mode with exactly that mode's options. Returns the normalised map and
 * every problem (field names like `compare.2.min_similarity`).
 */
export function parseCompare(raw: unknown, stepCount?: number): { compare: Record<string, Comparator>; errors: FieldProblem[] } {
  const compare: Record<string, Comparator> = {};
  const errors: FieldProblem[] = [];
  if (raw === undefined || raw === null) return { compare, errors }; // null: absent, as for the other optional fields
  if (!isObject(raw))
    return { compare, errors: [{ field: 'compare', message: 'compare must be an object of step index (or "*") to comparator' }] };
  for (const [key, value] of Object.entries(raw)) {
    const field = `compare.${key}`;
    if (key !== '*' && (!INDEX.test(key) || (stepCount !== undefined && Number(key) >= stepCount))) {
      const range = stepCount === undefined ? 'a step index' : `a step index of the run (0..${stepCount - 1})`;
      errors.push({ field, message: `"${key}" is not "*" or ${range}` });
      continue;
    }
    const parsed = parseComparator(value, field);
    errors.push(...parsed.errors);
    if (parsed.comparator) compare[key] = parsed.comparator;
  }
  return { compare, errors };
}

/** One comparator object: a known mode, its required options, nothing else. */
export function parseComparator(raw: unknown, field: string): { comparator: Comparator | null; errors: FieldProblem[] } {
  const errors: FieldProblem[] = [];
  const fail = (at: string, message: string) => errors.push({ field: at, message });
  if (!isObject(raw)) {
    fail(field, `${field} must be an object with a mode (${COMPARE_MODES.join(', ')})`);
    return { comparator: null, errors };
  }
  const mode = raw.mode;
  if (typeof mode !== 'string' || !(COMPARE_MODES as readonly string[]).includes(mode)) {
    fail(`${field}.mode`, `mode must be one of ${COMPARE_MODES.join(', ')}`);
    return { comparator: null, errors };
  }
  const spec = OPTIONS[mode as CompareMode];
  for (const key of Object.keys(raw)) {
    if (key !== 'mode' && !spec.required.includes(key) && !spec.optional.includes(key)) {
      const allowed = [...spec.required, ...spec.optional];
      fail(
        `${field}.${key}`,
        `${key} is not an option of mode ${mode}${allowed.length ? ` (options: ${allowed.join(', ')})` : ' (it has none)'}`,
      );
    }
  }
  for (const key of spec.required) if (raw[key] === undefined) fail(`${field}.${key}`, `${key} is required for mode ${mode}`);
  const tolerance = (key: 'abs' | 'rel') => {
    const v = raw[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`${field}.${key}`, `${key} must be a finite number >= 0`);
  };
  const text = (key: 'model' | 'rubric', max: number) => {
    const v = raw[key];
    if (v === undefined) return;
    if (typeof v !== 'string' || v.trim().length === 0 || v.length > max)
      fail(`${field}.${key}`, `${key} must be a non-empty string of at most ${max} characters`);
  };
  switch (mode as CompareMode) {
    case 'numeric':
      tolerance('abs');
      tolerance('rel');
      break;
    case 'text': {
      const min = raw.min_similarity;
      if (min !== undefined && (typeof min !== 'number' || !(min >= 0 && min <= 1))) {
        fail(`${field}.min_similarity`, 'min_similarity must be a number from 0 to 1');
      }
      const paths = raw.paths;
      if (paths !== undefined) {
        if (!Array.isArray(paths) || paths.length === 0 || paths.length > COMPARE_LIMITS.textPaths) {
          fail(`${field}.paths`, `paths must be an array of 1 to ${COMPARE_LIMITS.textPaths} RFC 6901 JSON Pointers`);
        } else {
          paths.forEach((p, i) => {
            if (typeof p !== 'string' || p.length > COMPARE_LIMITS.pointerLength || !isJsonPointer(p) || hasLoneSurrogate(p)) {
              fail(`${field}.paths[${i}]`, `${JSON.stringify(p)?.slice(0, 100)} is not an RFC 6901 JSON Pointer`);
            }
          });
        }
      }
      break;
    }
    case 'judge':
      text('model', COMPARE_LIMITS.model);
      text('rubric', COMPARE_LIMITS.rubric);
      break;
    default:
      break;
  }
  if (errors.length > 0) return { comparator: null, errors };
  // Only the known options are kept, copied (never the client's object).
  switch (mode as CompareMode) {
    case 'numeric': {
      const numeric: Comparator = { mode: 'numeric' };
      if (raw.abs !== undefined) numeric.abs = raw.abs as number;
      if (raw.rel !== undefined) numeric.rel = raw.rel as number;
      return { comparator: numeric, errors };
    }
    case 'text':
      return {
        comparator: {
          mode: 'text',
          min_similarity: raw.min_similarity as number,
          ...(raw.paths !== undefined ? { paths: [...(raw.paths as string[])] } : {}),
        },
        errors,
      };
    case 'judge':
      return { comparator: { mode: 'judge', model: raw.model as string, rubric: raw.rubric as string }, errors };
    default:
      return { comparator: { mode: mode as 'exact' | 'schema' }, errors };
  }
}

function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/** The comparator of step `index`: `compare["<index>"]`, else `compare["*"]`, else exact. */
export function comparatorFor(compare: Readonly<Record<string, Comparator>> | undefined, index: number): Comparator {
  return compare?.[String(index)] ?? compare?.['*'] ?? EXACT;
}

/**
 * The pointers of `candidates` (ignore_paths, then volatile paths; duplicates once) that hold a value in
 * the original or the new output: what the comparison of this step actually leaves out.
 */
export function pointersToIgnore(expected: unknown, actual: unknown, candidates: readonly string[]): string[] {
  const seen = new Set<string>();
  return candidates.filter((p) => {
    if (p === '' || seen.has(p)) return false;
    seen.add(p);
    return valueAtPointer(expected, p) !== undefined || valueAtPointer(actual, p) !== undefined;
  });
}

/** Compares two outputs (ignored paths already removed) with a comparator that needs no I/O. */
export function compareOutputs(expected: unknown, actual: unknown, comparator: LocalComparator): Verdict {
  switch (comparator.mode) {
    case 'exact':
      return { passed: hashOutput(expected) === hashOutput(actual), score: null, reason: null };
    case 'numeric': {
      const why = numericDifference(expected, actual, comparator.abs ?? 0, comparator.rel ?? 0, '');
      return { passed: why === null, score: null, reason: why };
    }
    case 'schema': {
      const why = shapeDifference(expected, actual, '');
      return { passed: why === null, score: null, reason: why };
    }
    case 'text':
      return compareText(expected, actual, comparator);
  }
}

const where = (path: string) => (path === '' ? 'the output' : path);
const token = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const show = (v: unknown) => {
  const text = canonicalJson(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/**
 * Numbers equal within `abs` or within `rel` (relative to the larger magnitude, as Python's
 * math.isclose), everything else exactly. Returns why the outputs differ, or null.
 */
function numericDifference(expected: unknown, actual: unknown, abs: number, rel: number, path: string): string | null {
  return structureDifference(expected, actual, path, (e, a, at) => {
    const delta = Math.abs(e - a);
    if (delta <= abs || delta <= rel * Math.max(Math.abs(e), Math.abs(a))) return null;
    return `${where(at)}: ${a} differs from the original ${e} by ${delta}, beyond abs ${abs} and rel ${rel}`;
  });
}

/** Exact equality; returns the first place that differs (in the order of sorted keys), or null. */
function exactDifference(expected: unknown, actual: unknown, path: string): string | null {
  return structureDifference(expected, actual, path, (e, a, at) => (e === a ? null : `${where(at)}: ${a} where the original has ${e}`));
}

/** Same structure and values, numbers compared by `numbers`; the first difference, or null. */
function structureDifference(
  expected: unknown,
  actual: unknown,
  path: string,
  numbers: (expected: number, actual: number, path: string) => string | null,
): string | null {
  if (typeof expected === 'number' && typeof actual === 'number') return numbers(expected, actual, path);
  const te = jsonType(expected);
  const ta = jsonType(actual);
  if (te !== ta) return `${where(path)}: ${show(actual)} where the original has ${show(expected)}`;
  if (Array.isArray(expected)) {
    const other = actual as unknown[];
    if (expected.length !== other.length) return `${where(path)}: ${other.length} items, the original has ${expected.length}`;
    for (let i = 0; i < expected.length; i++) {
      const why = structureDifference(expected[i], other[i], `${path}/${i}`, numbers);
      if (why) return why;
    }
    return null;
  }
  if (isObject(expected)) {
    const other = actual as Record<string, unknown>;
    const keyProblem = keyDifference(expected, other, path);
    if (keyProblem) return keyProblem;
    for (const key of Object.keys(expected).sort()) {
      const why = structureDifference(expected[key], other[key], `${path}/${token(key)}`, numbers);
      if (why) return why;
    }
    return null;
  }
  return expected === actual ? null : `${where(path)}: ${show(actual)} where the original has ${show(expected)}`;
}

function keyDifference(expected: Record<string, unknown>, actual: Record<string, unknown>, path: string): string | null {
  const missing = Object.keys(expected)
    .filter((k) => !Object.prototype.hasOwnProperty.call(actual, k))
    .sort();
  if (missing.length > 0) return `${path}/${token(missing[0])}: missing in the new output`;
  const extra = Object.keys(actual)
    .filter((k) => !Object.prototype.hasOwnProperty.call(expected, k))
    .sort();
  if (extra.length > 0) return `${path}/${token(extra[0])}: not in the original output`;
  return null;
}

/**
 * Same shape: the same JSON type at every place and, for objects, the same keys, recursively; values
 * are free. Arrays may differ in length: element i of the new array must have the shape of the
 * original's element i; elements past the original's length must have the shape of the original's last
 * element (an empty original array accepts any array). So an output always has the shape of itself.
 * Returns why not, or null.
 */
function shapeDifference(expected: unknown, actual: unknown, path: string): string | null {
  const te = jsonType(expected);
  const ta = jsonType(actual);
  if (te !== ta) return `${where(path)}: ${ta} in the new output, ${te} in the original`;
  if (Array.isArray(expected)) {
    if (expected.length === 0) return null;
    const items = actual as unknown[];
    const last = expected.length - 1;
    for (let i = 0; i < items.length; i++) {
      const why = shapeDifference(expected[Math.min(i, last)], items[i], `${path}/${i}`);
      if (why) return i > last ? `${why} (elements past the original's ${expected.length} must have the shape of its last)` : why;
    }
    return null;
  }
  if (isObject(expected)) {
    const other = actual as Record<string, unknown>;
    const keyProblem = keyDifference(expected, other, path);
    if (keyProblem) return keyProblem;
    for (const key of Object.keys(expected).sort()) {
      const why = shapeDifference(expected[key], other[key], `${path}/${token(key)}`);
      if (why) return why;
    }
  }
  return null;
}

/**
 * Normalised Levenshtein similarity: 1 - distance / length of the longer string (1 = identical, 0 =
 * nothing in common), lengths and distance in UTF-16 code units (fastest-levenshtein's Myers
 * bit-parallel distance). Two empty strings are identical.
 */
export function textSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const [start, end] = commonEnds(a, b);
  // The distance of two strings is that of what remains once their common prefix and suffix are set aside.
  return 1 - distance(a.slice(start, a.length - end), b.slice(start, b.length - end)) / Math.max(a.length, b.length);
}

/** The lengths of the common prefix and (after it) the common suffix of two strings. */
function commonEnds(a: string, b: string): [number, number] {
  const shorter = Math.min(a.length, b.length);
  let start = 0;
  while (start < shorter && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let end = 0;
  while (end < shorter - start && a.charCodeAt(a.length - 1 - end) === b.charCodeAt(b.length - 1 - end)) end++;
  return [start, end];
}

/** The lengths of what differs between two strings once their common prefix and suffix are set aside. */
function differingLengths(a: string, b: string): [number, number] {
  const [start, end] = commonEnds(a, b);
  return [a.length - start - end, b.length - start - end];
}

/** "a number", "an object", "null", "nothing" (absent): how a reason names a value's type. */
function described(v: unknown): string {
  if (v === undefined) return 'nothing';
  const type = jsonType(v);
  if (type === 'null') return 'null';
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/**
 * `text`: the strings at `paths` (default: the whole output) reach `min_similarity`; everything else
 * is equal exactly. The score is the lowest similarity over the strings compared (null when none was:
 * no path held a string on both sides). A path that does not hold a string on both sides is compared
 * exactly: the same value there (or nothing on both sides) passes, anything else does not.
 */
function compareText(expected: unknown, actual: unknown, comparator: Extract<Comparator, { mode: 'text' }>): Verdict {
  const paths = comparator.paths ?? [''];
  let budget = TEXT_COMPARE_BUDGET;
  let score: number | null = null;
  let lowest = '';
  for (const path of paths) {
    const a = valueAtPointer(expected, path);
    const b = valueAtPointer(actual, path);
    if (typeof a !== 'string' || typeof b !== 'string') {
      if (a === undefined && b === undefined) continue;
      if (a !== undefined && b !== undefined && hashOutput(a) === hashOutput(b)) continue;
      const hint = comparator.paths ? '' : ' (name the strings to compare with paths)';
      const why =
        typeof a === 'string' || typeof b === 'string' || a === undefined || b === undefined
          ? `${where(path)}: the original has ${described(a)}, the new output has ${described(b)}`
          : `${where(path)} is not a string, so it is compared exactly: ${exactDifference(a, b, path) ?? 'it differs'}`;
      return { passed: false, score: null, reason: `${why}${hint}` };
    }
    const [la, lb] = differingLengths(a, b);
    budget -= la * lb;
    if (budget < 0) {
      return {
        passed: false,
        score: null,
        reason: `${where(path)}: the texts differ over ${la} and ${lb} characters, too long to compare (at most ${TEXT_COMPARE_BUDGET} character pairs per step)`,
      };
    }
    const similarity = textSimilarity(a, b);
    if (score === null || similarity < score) {
      score = similarity;
      lowest = path;
    }
  }
  const rest = (v: unknown) => (paths.includes('') ? null : withoutPaths(v, paths));
  if (hashOutput(rest(expected)) !== hashOutput(rest(actual))) {
    return {
      passed: false,
      score,
      reason: `outside the compared strings the new output differs: ${exactDifference(rest(expected), rest(actual), '') ?? 'see the diff'}`,
    };
  }
  if (score !== null && score < comparator.min_similarity) {
    return {
      passed: false,
      score,
      reason: `${where(lowest)}: similarity ${round(score)} is below min_similarity ${comparator.min_similarity}`,
    };
  }
  return { passed: true, score, reason: null };
}

const round = (n: number) => Math.round(n * 10_000) / 10_000;

/** A judge's verdict, as demanded from it. */
export interface JudgeVerdict {
  pass: boolean;
  reason: string;
}

/** The chat messages that ask the judge for its verdict (outputs as canonical JSON, already redacted). */
export function judgeMessages(rubric: string, expected: unknown, actual: unknown): Array<{ role: 'system' | 'user'; content: string }> {
  return [
    {
      role: 'system',
      content:
        'You judge whether a new output of an automated step meets a rubric, given the original output of the same step. ' +
        'Answer with one JSON object and nothing else, exactly of the form {"pass": true, "reason": "<one sentence>"} or ' +
        '{"pass": false, "reason": "<one sentence>"}. No other keys, no markdown, no text around it.',
    },
    {
      role: 'user',
      content: `Rubric:\n${rubric}\n\nOriginal output (JSON):\n${canonicalJson(expected)}\n\nNew output (JSON):\n${canonicalJson(actual)}`,
    },
  ];
}

/** A judge that gave no usable verdict: the step fails (never a silent pass). */
export class JudgeFailedError extends StepFailure {
  constructor(message: string) {
    super(StepErrorCode.JudgeFailed, message);
    this.name = 'JudgeFailedError';
  }
}

/**
 * The judge's answer, parsed strictly: the whole content must be one JSON object (one enclosing
 * markdown code fence is tolerated) with exactly `pass` (a boolean) and `reason` (a string). Anything
 * else throws JudgeFailedError.
 */
export function parseJudgeVerdict(content: unknown): JudgeVerdict {
  if (typeof content !== 'string') throw new JudgeFailedError(`the judge's answer has no text content (${jsonType(content)})`);
  const fenced = /^```(?:json)?\s*\n?([\s\S]*?)\n?```$/i.exec(content.trim());
  const text = (fenced ? fenced[1] : content).trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new JudgeFailedError(`the judge's answer is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (!isObject(parsed)) throw new JudgeFailedError(`the judge's answer is not a JSON object: ${JSON.stringify(text.slice(0, 200))}`);
  const keys = Object.keys(parsed).sort();
  if (
    keys.length !== 2 ||
    keys[0] !== 'pass' ||
    keys[1] !== 'reason' ||
    typeof parsed.pass !== 'boolean' ||
    typeof parsed.reason !== 'string'
  ) {
    throw new JudgeFailedError(
      `the judge's answer is not exactly {"pass": boolean, "reason": string}: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  return { pass: parsed.pass, reason: parsed.reason };
}
