import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { canonicalJson, hashOutput, NonRepresentableJsonError, StepOutputTooLargeError, toHashedJson } from './canonical-json.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('canonical JSON (RFC 8785) and output hashing', () => {
  it('matches the RFC 8785 section 3.2.2 example byte for byte', () => {
    // The input as the RFC writes it, parsed by JSON.parse (number and escape forms included).
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`);
    expect(canonicalJson(input)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it('sorts keys by UTF-16 code units (RFC 8785 section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // (Object.keys would put "1" first: JS orders integer-like keys; so read the text itself.)
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    [0, '0'],
    [-0, '0'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [123456789012345680000, '123456789012345680000'],
    [0.1 + 0.2, '0.30000000000000004'],
    [-1.5e-10, '-1.5e-10'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
  ])('serialises the number %p as %s (ECMAScript shortest form)', (n, text) => {
    expect(canonicalJson(n)).toBe(text);
  });

  it('hashes the full 64-character SHA-256 of the canonical text; null hashes "null"', () => {
    expect(hashOutput({ b: 1, a: [true, null] })).toBe(sha('{"a":[true,null],"b":1}'));
    expect(hashOutput(null)).toBe(sha('null'));
    expect(hashOutput(undefined)).toBe(sha('null'));
    expect(hashOutput({ x: 'y' })).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['NaN', { v: Number.NaN }],
    ['Infinity', [1, Number.POSITIVE_INFINITY]],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a lone high surrogate', { s: 'a\ud800b' }],
    ['a lone low surrogate in a key', { '\udc00': 1 }],
  ])('refuses %s with NonRepresentableJsonError instead of hashing it', (_label, value) => {
    expect(() => hashOutput(value)).toThrow(NonRepresentableJsonError);
  });

  it('refuses a cycle and values that are not JSON', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => hashOutput(cyclic)).toThrow(NonRepresentableJsonError);
    expect(() => toHashedJson({ f: () => 1 })).toThrow(NonRepresentableJsonError);
    expect(() => hashOutput(10n)).toThrow(NonRepresentableJsonError);
  });

  it('is byte-identical to the reference implementation (canonicalize) on random JSON values', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
    const strings = ['', 'a', 'Z', 'é', '€', '😀', '\u0000', '\u001f', '"', '\\', '/', '\n', 'דּ', '\u0080', 'key', '1', '10', '2'];
    const numbers = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789.123, -5e-324, 2 ** 53, 1.7976931348623157e308, 333333333.3333333];
    const value = (depth: number): unknown => {
      const kind = depth > 3 ? pick(['s', 'n', 'b', 'z']) : pick(['s', 'n', 'b', 'z', 'a', 'o', 'o']);
      if (kind === 's') return Array.from({ length: Math.floor(random() * 3) }, () => pick(strings)).join('');
      if (kind === 'n') return random() < 0.5 ? pick(numbers) : (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      if (kind === 'b') return random() < 0.5;
      if (kind === 'z') return null;
      if (kind === 'a') return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [pick(strings) + pick(strings), value(depth + 1)]));
    };
    for (let i = 0; i < 5_000; i++) {
      const v = value(0);
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
  });

  it('tells a lone surrogate from an escaped backslash followed by "ud800"', () => {
    expect(canonicalJson('\\ud800')).toBe('"\\\\ud800"');
    expect(canonicalJson({ k: 'a\\\\ud800' })).toBe('{"k":"a\\\\\\\\ud800"}');
    expect(() => canonicalJson('\\\ud800')).toThrow(NonRepresentableJsonError);
    expect(canonicalJson('\ud83d\ude00')).toBe('"😀"');
  });

  it('stores exactly what it hashed', () => {
    const { value, hash } = toHashedJson({ z: 1, a: { y: [3, 2] }, u: undefined });
    expect(value).toEqual({ a: { y: [3, 2] }, z: 1 });
    expect(hash).toBe(hashOutput(value));
  });

  it('caps the canonical JSON at maxBytes, counted in UTF-8 bytes', () => {
    // '{"s":"' + 10 characters + '"}' is 18 bytes in ASCII; each € is 3 bytes in UTF-8.
    expect(toHashedJson({ s: 'x'.repeat(10) }, 18).value).toEqual({ s: 'x'.repeat(10) });
    expect(() => toHashedJson({ s: 'x'.repeat(11) }, 18)).toThrow(StepOutputTooLargeError);
    expect(toHashedJson({ s: '€'.repeat(4) }, 20).value).toEqual({ s: '€€€€' }); // 8 + 12 bytes
    const error = (() => {
      try {
        toHashedJson({ s: '€'.repeat(5) }, 20);
      } catch (e) {
        return e as StepOutputTooLargeError;
      }
    })();
    expect(error).toBeInstanceOf(StepOutputTooLargeError);
    expect(error).toMatchObject({ bytes: 23, limit: 20 });
    expect(error?.message).toBe('step output is 23 bytes of canonical JSON, more than STEP_MAX_OUTPUT_BYTES (20 bytes)');
    expect(toHashedJson('x'.repeat(100_000)).hash).toBe(hashOutput('x'.repeat(100_000))); // no cap by default
  });
});
