import {
  collectSecretRefs,
  isSecretRef,
  planSecretNames,
  secretNames,
  secretPlaceholder,
  secretRefProblem,
  substituteSecrets,
} from './param-refs.js';

describe('$secret references', () => {
  it('isSecretRef: exactly one member "$secret" holding a string', () => {
    expect(isSecretRef({ $secret: 'a' })).toBe(true);
    for (const v of [{ $secret: 1 }, { $secret: 'a', x: 1 }, ['$secret'], null, '$secret', { $ref: '/input' }])
      expect(isSecretRef(v)).toBe(false);
  });

  it('secretRefProblem names the malformed shapes and bad names', () => {
    expect(secretRefProblem({ $secret: 'stripe.live_1-x' })).toBeNull();
    expect(secretRefProblem({ $secret: 5 })).toMatch(/exactly one member/);
    expect(secretRefProblem({ $secret: 'a', extra: 1 })).toMatch(/exactly one member/);
    expect(secretRefProblem({ $secret: 'has space' })).toMatch(/not a secret name/);
    expect(secretRefProblem({ $secret: 'x'.repeat(129) })).toMatch(/not a secret name/);
  });

  it('collectSecretRefs finds references with their paths, never inside a $ref', () => {
    const params = {
      headers: { authorization: { $secret: 'a' } },
      body: [{ k: { $secret: 'b' } }, { $ref: '/input' }],
      bad: { $secret: 1 },
    };
    expect(collectSecretRefs(params, 'steps[0].params')).toEqual([
      { path: 'steps[0].params.headers.authorization', ref: { $secret: 'a' } },
      { path: 'steps[0].params.body[0].k', ref: { $secret: 'b' } },
      { path: 'steps[0].params.bad', ref: { $secret: 1 } },
    ]);
    expect(secretNames(params)).toEqual(['a', 'b']);
    expect(planSecretNames([{ params }, { params: { x: { $secret: 'a' }, y: { $secret: 'c' } } }])).toEqual(['a', 'b', 'c']);
  });
});

describe('substituteSecrets', () => {
  const values = new Map([
    ['stripe', 'sk_live_1'],
    ['other', 'sk_other'],
  ]);

  it('replaces the references written in the plan, in objects and arrays', () => {
    const written = { url: 'https://x', headers: { authorization: { $secret: 'stripe' } }, list: [{ $secret: 'other' }, 1] };
    expect(substituteSecrets(written, written, (n) => values.get(n))).toEqual({
      url: 'https://x',
      headers: { authorization: 'sk_live_1' },
      list: ['sk_other', 1],
    });
  });

  it('never reads a $secret that a $ref brought in: an upstream answer cannot name a secret for a later step to send', () => {
    const written = { body: { $ref: '/steps/0/output' }, auth: { $secret: 'stripe' } };
    const resolved = { body: { forwarded: { $secret: 'other' } }, auth: { $secret: 'stripe' } };
    expect(substituteSecrets(written, resolved, (n) => values.get(n))).toEqual({
      body: { forwarded: { $secret: 'other' } },
      auth: 'sk_live_1',
    });
  });

  it('writes placeholders for the trace', () => {
    expect(substituteSecrets({ a: { $secret: 'stripe' } }, { a: { $secret: 'stripe' } }, secretPlaceholder)).toEqual({
      a: '[secret:stripe]',
    });
  });
});
