import { jest } from '@jest/globals';
import { REDACTED } from '../../shared/redaction.js';
import { SecretMissingError, StepSecrets } from './step-secrets.js';

describe('StepSecrets: resolution at the last moment, masking of everything recorded', () => {
  const vault = new Map([
    ['stripe', 'sk_live_REAL_VALUE'],
    ['earlier', 'tok_EARLIER_VALUE'],
  ]);
  const plan = [
    { params: { headers: { 'x-token': { $secret: 'earlier' } } } },
    { params: { url: 'https://api/x?api_key=lit', headers: { authorization: { $secret: 'stripe' }, cookie: 'sid=literal' } } },
  ];
  const loader = () => {
    const calls: string[][] = [];
    const load = async (names: readonly string[]) => {
      calls.push([...names]);
      return new Map([...vault].filter(([name]) => names.includes(name)));
    };
    return { calls, load };
  };

  it('records params with placeholders and redactions, before any secret is read', () => {
    const { calls, load } = loader();
    const secrets = StepSecrets.of(plan, plan[1].params, load);
    expect(secrets.record(plan[1].params, plan[1].params)).toEqual({
      url: 'https://api/x?api_key=[redacted]',
      headers: { authorization: '[secret:stripe]', cookie: REDACTED },
    });
    expect(calls).toEqual([]);
  });

  it('calls the skill with the real values and returns its output masked (also echoes of the plan’s other secrets) and redacted', async () => {
    const { calls, load } = loader();
    const secrets = StepSecrets.of(plan, plan[1].params, load);
    let sent: unknown;
    let sentSecrets: readonly string[] = [];
    const output = await secrets.execute(plan[1].params, plan[1].params, async (params, secretValues) => {
      sent = params;
      sentSecrets = secretValues;
      return { echoed: 'Bearer sk_live_REAL_VALUE', earlier: 'tok_EARLIER_VALUE', headers: { 'set-cookie': 'sid=abc' } };
    });
    expect(sent).toEqual({ url: 'https://api/x?api_key=lit', headers: { authorization: 'sk_live_REAL_VALUE', cookie: 'sid=literal' } });
    expect(sentSecrets).toEqual(['sk_live_REAL_VALUE']);
    expect(output).toEqual({ echoed: 'Bearer [secret:stripe]', earlier: '[secret:earlier]', headers: { 'set-cookie': REDACTED } });
    expect(calls).toEqual([['earlier', 'stripe']]);
    expect(secrets.error({ type: 'step_failed', message: 'upstream said sk_live_REAL_VALUE at https://h/?token=t' })).toEqual({
      type: 'step_failed',
      message: 'upstream said [secret:stripe] at https://h/?token=[redacted]',
    });
  });

  it('sends a $secret that a $ref brought in as data: only references written in the plan are resolved', async () => {
    const { load } = loader();
    const written = { body: { $ref: '/steps/0/output' }, headers: { authorization: { $secret: 'stripe' } } };
    const resolved = { body: { smuggled: { $secret: 'earlier' } }, headers: { authorization: { $secret: 'stripe' } } };
    let sent: unknown;
    await StepSecrets.of([{ params: written }], written, load).execute(written, resolved, async (params) => (sent = params));
    expect(sent).toEqual({ body: { smuggled: { $secret: 'earlier' } }, headers: { authorization: 'sk_live_REAL_VALUE' } });
  });

  it('a secret deleted before the step fails it with SecretMissingError, and the skill is not called', async () => {
    const secrets = StepSecrets.of([], { a: { $secret: 'gone' } }, async () => new Map());
    const call = jest.fn(async () => null);
    await expect(secrets.execute({ a: { $secret: 'gone' } }, { a: { $secret: 'gone' } }, call)).rejects.toThrow(SecretMissingError);
    expect(call).not.toHaveBeenCalled();
  });

  it('a plan without secrets reads none, and still redacts the output', async () => {
    const load = jest.fn(async () => new Map<string, string>());
    const secrets = StepSecrets.of([{ params: {} }], {}, load);
    await expect(secrets.execute({}, {}, async () => ({ cookie: 'c' }))).resolves.toEqual({ cookie: REDACTED });
    expect(load).not.toHaveBeenCalled();
  });
});
