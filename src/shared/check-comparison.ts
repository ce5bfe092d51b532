import type { Operation } from 'fast-json-patch';
import { hashOutput } from './canonical-json.js';
import { type Comparator, compareOutputs, JUDGE_OUTPUT_MAX_CHARS, pointersToIgnore, type Verdict } from './comparators.js';
import { canonicalJson } from './canonical-json.js';
import { jsonDepthExceeds, MAX_OUTPUT_DEPTH } from './json-depth.js';
import { jsonDiff, withoutPaths } from './json-pointer.js';

/**
 * The work of one `check` (API.md "Replay"), with no I/O: which paths are left out, the comparison by a
 * comparator that needs no call, and the diff. A pure function of plain JSON, so the replay enforcer
 * runs it inline for small outputs and in a worker thread for large ones (`comparison.worker.mjs`):
 * on 1 MB outputs it takes a second or two, which must not hold a worker's event loop.
 */
export interface CheckJob {
  /** The original run's recorded output; absent (`recorded: false`) when it recorded none. */
  expected: unknown;
  recorded: boolean;
  /** The hash recorded with `expected` (the trace's), when known: not computed again. */
  expectedHash?: string;
  actual: unknown;
  /** Hash of `actual` as recorded (an exact comparison with nothing ignored compares hashes only). */
  actualHash: string;
  /** ignore_paths, then the skill's volatile paths: left out where they hold a value on either side. */
  candidates: readonly string[];
  /** Paths the skill no longer records (found in the recorded output): left out too, strict or not. */
  unrecorded: readonly string[];
  comparator: Comparator;
}

export type CheckOutcome =
  /** Compared: the verdict, and the diff when it did not pass. */
  | { kind: 'compared'; expectedHash: string | null; ignored: string[]; verdict: Verdict; diff: Operation[] | null }
  /** A judge decides: the outputs it is to see (ignored paths removed, each within JUDGE_OUTPUT_MAX_CHARS). */
  | { kind: 'judge'; expectedHash: string; ignored: string[]; expected: unknown; actual: unknown }
  /** A judge would have to see more than it may: the check fails as judge_failed, with this reason. */
  | { kind: 'judge-refused'; expectedHash: string; ignored: string[]; reason: string };

export function runCheck(job: CheckJob): CheckOutcome {
  const { comparator } = job;
  const candidates = [...job.candidates, ...job.unrecorded];
  if (!job.recorded) {
    const ignored = pointersToIgnore(undefined, job.actual, candidates);
    return {
      kind: 'compared',
      expectedHash: null,
      ignored,
      verdict: { passed: false, score: null, reason: 'the original run recorded no output for this step' },
      diff: jsonDiff(null, withoutPaths(job.actual, ignored)),
    };
  }
  const expectedHash = job.expectedHash ?? hashOutput(job.expected);
  if (jsonDepthExceeds(job.expected, MAX_OUTPUT_DEPTH)) {
    // Recorded before outputs were limited in depth: comparing it would recurse past the stack.
    return {
      kind: 'compared',
      expectedHash,
      ignored: [],
      verdict: {
        passed: false,
        score: null,
        reason: `the original output is nested deeper than ${MAX_OUTPUT_DEPTH} levels: it cannot be compared`,
      },
      diff: [{ op: 'replace', path: '', value: job.actual }],
    };
  }
  const ignored = pointersToIgnore(job.expected, job.actual, candidates);
  if (comparator.mode === 'exact' && ignored.length === 0) {
    const passed = expectedHash === job.actualHash;
    const verdict: Verdict = { passed, score: null, reason: null };
    return { kind: 'compared', expectedHash, ignored, verdict, diff: passed ? null : jsonDiff(job.expected, job.actual) };
  }
  const expected = withoutPaths(job.expected, ignored);
  const actual = withoutPaths(job.actual, ignored);
  if (comparator.mode === 'judge') {
    const sizes = [canonicalJson(expected).length, canonicalJson(actual).length];
    if (sizes.some((n) => n > JUDGE_OUTPUT_MAX_CHARS)) {
      return {
        kind: 'judge-refused',
        expectedHash,
        ignored,
        reason:
          `the judge is not asked: the outputs are ${sizes[0]} and ${sizes[1]} characters of JSON (ignored paths removed), ` +
          `more than the ${JUDGE_OUTPUT_MAX_CHARS} it may be shown per output; leave parts out with ignore_paths`,
      };
    }
    return { kind: 'judge', expectedHash, ignored, expected, actual };
  }
  const verdict = compareOutputs(expected, actual, comparator);
  return { kind: 'compared', expectedHash, ignored, verdict, diff: verdict.passed ? null : jsonDiff(expected, actual) };
}
