import { STEP_ERROR_CODES, StepErrorCode } from '../../shared/run-errors.js';
import { SkillError } from '../skill.interface.js';
import { type OutgoingRequest, redirectRequest } from './http-request.skill.js';

describe('http.request redirects', () => {
  const start = (url: string, method = 'POST'): OutgoingRequest => ({
    url: new URL(url),
    method,
    headers: {
      Authorization: 'Bearer lit',
      'Proxy-Authorization': 'p',
      Cookie: 'c',
      'Idempotency-Key': 'step-key',
      'X-Signed': 'sk_secret_value',
      'X-Trace': 'keep-me',
      'content-type': 'application/json',
    },
    body: '{"a":1}',
    leftOrigin: false,
  });

  it('to the same origin, a 307 keeps method, body and every header', () => {
    const next = redirectRequest(start('https://api.example.com/a'), 307, '/b', ['sk_secret_value']);
    expect(next.url.href).toBe('https://api.example.com/b');
    expect(next).toMatchObject({ method: 'POST', body: '{"a":1}', leftOrigin: false });
    expect(Object.keys(next.headers)).toHaveLength(7);
  });

  it('to another origin, carries no body, credentials, Idempotency-Key nor a header holding a secret', () => {
    const next = redirectRequest(start('https://api.example.com/a'), 307, 'https://other.example.com/b', ['sk_secret_value']);
    expect(next).toMatchObject({ method: 'POST', body: undefined, leftOrigin: true });
    expect(next.headers).toEqual({ 'X-Trace': 'keep-me' });
  });

  it('another port is another origin; once left, credentials stay behind even back at the first origin', () => {
    const away = redirectRequest(start('http://127.0.0.1:8080/a'), 302, 'http://127.0.0.1:8081/b', []);
    expect(away.headers.Authorization).toBeUndefined();
    const back = redirectRequest({ ...away, headers: { ...away.headers, Cookie: 'again' } }, 307, 'http://127.0.0.1:8080/c', []);
    expect(back.leftOrigin).toBe(true);
    expect(back.headers.Cookie).toBeUndefined();
  });

  it('303, and 301/302 after a POST, become a GET without body', () => {
    for (const status of [301, 302, 303]) {
      const next = redirectRequest(start('https://a.example/x'), status, '/y', []);
      expect(next).toMatchObject({ method: 'GET', body: undefined });
      expect(next.headers['content-type']).toBeUndefined();
      expect(next.headers.Authorization).toBe('Bearer lit');
    }
  });

  it('refuses https -> http (not retryable) and a Location that is not a URL', () => {
    const refuse = () => redirectRequest(start('https://a.example/x'), 302, 'http://a.example/y', []);
    expect(refuse).toThrow(SkillError);
    expect(refuse).toThrow(/https to http/);
    try {
      refuse();
      throw new Error('followed https -> http');
    } catch (e) {
      expect((e as SkillError).code).toBe(StepErrorCode.HostNotAllowed);
      expect(STEP_ERROR_CODES[(e as SkillError).code].retryable).toBe(false);
    }
    expect(() => redirectRequest(start('https://a.example/x'), 302, 'http://[::1', [])).toThrow(/not a URL/);
  });
});
