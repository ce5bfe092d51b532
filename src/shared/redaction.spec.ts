import { canonicalJson } from './canonical-json.js';
import { maskSecrets, REDACTED, redactRunFields, redactStep, redactText, redactValue, SecretMask } from './redaction.js';
import type { StepRecord } from './step.types.js';

describe('redactText: credential query parameters in URLs', () => {
  it.each([
    ['https://api.example.com/v1?api_key=sk_live_1&page=2', 'https://api.example.com/v1?api_key=[redacted]&page=2'],
    ['https://x/?a=1&TOKEN=abc', 'https://x/?a=1&TOKEN=[redacted]'],
    [
      'https://x/?ApiKey=1&access_token=2&password=3&secret=4&signature=5',
      'https://x/?ApiKey=[redacted]&access_token=[redacted]&password=[redacted]&secret=[redacted]&signature=[redacted]',
    ],
    ['https://x/?api%5Fkey=enc', 'https://x/?api%5Fkey=[redacted]'],
    ['https://x/cb#access_token=frag&state=s', 'https://x/cb#access_token=[redacted]&state=s'],
    ['/relative?token=t', '/relative?token=[redacted]'],
    ['GET "https://x/?token=q" failed', 'GET "https://x/?token=[redacted]" failed'],
  ])('%s', (input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it('leaves other parameters and plain text alone', () => {
    for (const text of ['https://x/?tokens=1&my_token=2&page=3', 'token=abc', 'a = b', 'no url here']) expect(redactText(text)).toBe(text);
  });

  it('keeps a secret placeholder and is idempotent', () => {
    expect(redactText('https://x/?token=[secret:t]')).toBe('https://x/?token=[secret:t]');
    const once = redactText('https://x/?token=abc&signature=def');
    expect(redactText(once)).toBe(once);
  });
});

describe('redactValue: credential headers wherever they stand as members', () => {
  it('redacts the listed headers case-insensitively, in params, outputs and echoed bodies', () => {
    const value = {
      url: 'https://x/?api_key=k',
      headers: { Authorization: 'Bearer lit', 'Proxy-Authorization': 'p', Cookie: 'c', 'X-Api-Key': 'x', 'api-key': 'y', Accept: 'json' },
      body: { echoed: { 'set-cookie': ['a=1', 'b=2'], authorization: 'Basic zz' } },
    };
    expect(redactValue(value)).toEqual({
      url: 'https://x/?api_key=[redacted]',
      headers: {
        Authorization: REDACTED,
        'Proxy-Authorization': REDACTED,
        Cookie: REDACTED,
        'X-Api-Key': REDACTED,
        'api-key': REDACTED,
        Accept: 'json',
      },
      body: { echoed: { 'set-cookie': REDACTED, authorization: REDACTED } },
    });
    expect(value.headers.Authorization).toBe('Bearer lit'); // a copy: execution keeps the real values
  });

  it('keeps secret placeholders and references (a pending step shows its params as written)', () => {
    const value = { headers: { authorization: '[secret:stripe]', cookie: { $secret: 'c' }, 'x-api-key': { $ref: '/input/k' } } };
    expect(redactValue(value)).toEqual(value);
  });

  it('is idempotent, so an output hashed as recorded keeps its hash when read paths redact it again', () => {
    const once = redactValue({ headers: { authorization: 'x', 'set-cookie': 'y' }, link: 'https://x/?token=1' });
    expect(canonicalJson(redactValue(once))).toBe(canonicalJson(once));
  });

  it('passes through what canonical JSON must refuse, keeps __proto__ a member, reads toJSON', () => {
    expect(Number.isNaN(redactValue({ n: NaN }).n)).toBe(true);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => canonicalJson(redactValue(cyclic))).toThrow();
    const parsed = JSON.parse('{"__proto__":{"authorization":"x"}}') as object;
    const redacted = redactValue(parsed);
    expect(Object.getPrototypeOf(redacted)).toBe(Object.prototype);
    expect(JSON.stringify(redacted)).toBe('{"__proto__":{"authorization":"[redacted]"}}');
    expect(redactValue({ at: new Date('2026-01-02T03:04:05.000Z') })).toEqual({ at: '2026-01-02T03:04:05.000Z' });
  });
});

describe('SecretMask: a secret value reads [secret:<name>]', () => {
  const mask = new SecretMask([
    { name: 'stripe', value: 'sk_live_abc123' },
    { name: 'short', value: 'abc' },
    { name: 'spaced', value: 'p a"ss/w\\rd' },
    { name: 'pin', value: '424242' },
  ]);

  it('masks values inside strings, longest first, in one pass', () => {
    expect(mask.text('Bearer sk_live_abc123 and abc')).toBe('Bearer [secret:stripe] and [secret:short]');
  });

  it('masks the value as it comes back JSON-escaped, percent-encoded or form-encoded', () => {
    expect(mask.text('{"v":"p a\\"ss/w\\\\rd"}')).toBe('{"v":"[secret:spaced]"}');
    expect(mask.text('?q=p%20a%22ss%2Fw%5Crd')).toBe('?q=[secret:spaced]');
    expect(mask.text('q=p+a%22ss%2Fw%5Crd')).toBe('q=[secret:spaced]');
  });

  it('masks member names and numbers that spell a value; leaves the input unchanged', () => {
    const output = { body: { sk_live_abc123: true, pin: 424242, list: ['x sk_live_abc123 y'] } };
    expect(mask.value(output)).toEqual({ body: { '[secret:stripe]': true, pin: '[secret:pin]', list: ['x [secret:stripe] y'] } });
    expect(output.body.pin).toBe(424242);
  });

  it('maskSecrets masks, then redacts, keeping the placeholder of a secret header', () => {
    const recorded = maskSecrets({ headers: { authorization: 'sk_live_abc123', cookie: 'literal' } }, mask);
    expect(recorded).toEqual({ headers: { authorization: '[secret:stripe]', cookie: REDACTED } });
  });

  it('takes a value URI encoding refuses (a lone surrogate) without failing', () => {
    expect(new SecretMask([{ name: 'odd', value: 'x\ud800y' }]).text('a x\ud800y b')).toBe('a [secret:odd] b');
  });

  it('an empty mask changes nothing', () => {
    const empty = new SecretMask([{ name: 'e', value: '' }]);
    expect(empty.empty).toBe(true);
    expect(empty.text('anything')).toBe('anything');
  });
});

describe('redactStep and redactRunFields: the read paths', () => {
  it('redact params, output, error message and mismatch diff of a step', () => {
    const step = {
      index: 0,
      params: { url: 'https://x/?token=t', headers: { cookie: 'c' } },
      output: { headers: { 'set-cookie': 's' } },
      error: { type: 'step_failed', message: 'GET https://x/?signature=sig failed' },
      mismatch: { expected_hash: null, actual_hash: 'h', diff: [{ op: 'add', path: '/headers', value: { authorization: 'a' } }] },
    } as unknown as StepRecord;
    const redacted = redactStep(step);
    expect(redacted.params).toEqual({ url: 'https://x/?token=[redacted]', headers: { cookie: REDACTED } });
    expect(redacted.output).toEqual({ headers: { 'set-cookie': REDACTED } });
    expect(redacted.error!.message).toBe('GET https://x/?signature=[redacted] failed');
    expect(redacted.mismatch!.diff).toEqual([{ op: 'add', path: '/headers', value: { authorization: REDACTED } }]);
  });

  it('redact the output, error and replay report of a run', () => {
    const run = redactRunFields({
      id: 'r',
      output: { cookie: 'c' },
      error: { type: 'step_failed', message: 'see https://x/?password=p' },
      replay: { mismatches: [{ diff: [{ op: 'replace', path: '/h', value: { 'x-api-key': 'k' } }] }] },
    });
    expect(run).toEqual({
      id: 'r',
      output: { cookie: REDACTED },
      error: { type: 'step_failed', message: 'see https://x/?password=[redacted]' },
      replay: { mismatches: [{ diff: [{ op: 'replace', path: '/h', value: { 'x-api-key': REDACTED } }] }] },
    });
  });
});
