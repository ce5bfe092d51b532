import { flattenHeaders, HttpRequestSkill, parseJson } from './http-request.skill.js';

describe('http.request JSON bodies keep numbers exact', () => {
  it('turns integers beyond 2^53 - 1 into strings of their exact digits; other numbers stay numbers', () => {
    const body = parseJson(
      '{"id":9007199254740993,"neg":-12345678901234567890,"edge":9007199254740991,"two53":9007199254740992,' +
        '"small":42,"float":0.1,"exp":1.5e300,"huge":1e400,"list":[18446744073709551615,1]}',
    );
    expect(body).toEqual({
      id: '9007199254740993',
      neg: '-12345678901234567890',
      edge: 9007199254740991,
      two53: '9007199254740992',
      small: 42,
      float: 0.1,
      exp: 1.5e300,
      huge: '1e400',
      list: ['18446744073709551615', 1],
    });
  });

  it('takes the fast path when no number can be inexact, with the same result', () => {
    const text = '{"a":[1,2.5,-3e-7,"9007199254740993"],"b":{"c":null,"d":true}}';
    expect(parseJson(text)).toEqual(JSON.parse(text));
  });

  it('parses like JSON.parse otherwise: last duplicate key wins, __proto__ is a plain key, bad JSON throws', () => {
    expect(parseJson('{"a":1,"a":2,"n":12345678901234567890}')).toEqual({ a: 2, n: '12345678901234567890' });
    const proto = parseJson('{"__proto__":{"polluted":true},"n":12345678901234567890}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => parseJson('{"n":12345678901234567890')).toThrow();
  });
});

describe('http.request: what it no longer records', () => {
  const skill = new HttpRequestSkill({ allowedHosts: '', timeoutMs: 1000, maxResponseBytes: 1000 });

  it('names the hop-by-hop headers of a recorded output (runs recorded before they were left out), pointers escaped', () => {
    const recorded = {
      status: 200,
      headers: {
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'proxy-agent': 'x',
        date: 'Mon',
        'x-custom': 'y',
      },
      body: {},
    };
    expect(skill.unrecordedPaths(recorded)).toEqual([
      '/headers/connection',
      '/headers/keep-alive',
      '/headers/transfer-encoding',
      '/headers/proxy-agent',
    ]);
    expect(flattenHeaders({ connection: 'close', 'proxy-agent': 'x', date: 'Mon' })).toEqual({ date: 'Mon' }); // same rule when recording
    for (const odd of [null, 'text', { headers: null }, { headers: ['connection'] }, {}]) expect(skill.unrecordedPaths(odd)).toEqual([]);
  });
});
