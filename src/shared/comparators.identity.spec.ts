import { type LocalComparator, compareOutputs } from './comparators.js';

/**
 * The invariant every local comparator keeps: an output compared with itself (or with a copy of itself)
 * passes. A corpus of shapes that broke it once (heterogeneous arrays, optional keys, nulls in lists,
 * non-string values under `text`), then seeded random JSON values.
 */

const CORPUS: unknown[] = [
  null,
  true,
  0,
  -1.5,
  '',
  'text',
  [],
  {},
  [1, 'a'],
  [null, 1],
  [{ a: 1 }, null],
  [[], [1], [[2]]],
  [{ a: 1 }, { a: 1, b: 2 }],
  { items: [{ id: 1 }, { id: 2, note: 'x' }, null] },
  { list: [1, 'two', { three: 3 }, [4], null, true] },
  { nested: { deeper: { deepest: [{ x: [] }, { x: [1, { y: null }] }] } } },
  {
    status: 200,
    headers: { 'content-type': 'application/json', date: 'Mon' },
    body: { total: 42, lines: [{ sku: 'a' }, { sku: 'b', qty: 2 }] },
  },
  { content: 'Hello', model: 'm', usage: { total_tokens: 3 } },
  { '': 1, 'a/b': 2, 'c~d': [3] },
];

/** Comparators that must pass x against x, whatever x is. */
const COMPARATORS: LocalComparator[] = [
  { mode: 'exact' },
  { mode: 'numeric' },
  { mode: 'numeric', abs: 0.5, rel: 0.1 },
  { mode: 'schema' },
  { mode: 'text', min_similarity: 1 },
  { mode: 'text', min_similarity: 1, paths: ['/content'] },
  { mode: 'text', min_similarity: 1, paths: ['/items/1', '/body', '/list/0', '/missing', '', '/0'] },
];

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomJson(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 4 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.round((next() - 0.5) * 1e6) / 100;
    case 3:
      return 'abcdefgh'.slice(0, Math.floor(next() * 8));
    case 4:
      return next() < 0.5 ? [] : {};
    case 5:
      return Array.from({ length: Math.floor(next() * 5) }, () => randomJson(next, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 5); i > 0; i--) out[`k${Math.floor(next() * 6)}`] = randomJson(next, depth + 1);
      return out;
    }
  }
}

describe('compare(x, x) passes for every local comparator', () => {
  it.each(CORPUS.map((value) => [JSON.stringify(value), value]))('%s', (_name, value) => {
    for (const comparator of COMPARATORS) {
      const copy = structuredClone(value);
      expect({ comparator, verdict: compareOutputs(value, copy, comparator) }).toMatchObject({ comparator, verdict: { passed: true } });
    }
  });

  it('over 2,000 seeded random JSON values', () => {
    for (let seed = 1; seed <= 2_000; seed++) {
      const value = randomJson(random(seed));
      for (const comparator of COMPARATORS) {
        const verdict = compareOutputs(value, structuredClone(value), comparator);
        if (!verdict.passed) throw new Error(`seed ${seed}, ${JSON.stringify(comparator)}: ${verdict.reason} for ${JSON.stringify(value)}`);
      }
    }
  });
});
