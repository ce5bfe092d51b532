import { AppLogger, createRootLogger } from './logger.js';

describe('log redaction paths', () => {
  it('censor credentials of requests, responses and anything named like a secret, at the top and one level down', () => {
    const lines: string[] = [];
    // The process's root logger (what AppLogger, the request lines and the TypeORM logger write through).
    const logger = createRootLogger({ level: 'info', requests: true, format: 'json' }, { write: (line: string) => lines.push(line) });
    logger.info(
      {
        req: { headers: { authorization: 'Bearer A1', cookie: 'C1', 'proxy-authorization': 'P1', 'x-api-key': 'K1', accept: 'json' } },
        res: { headers: { 'set-cookie': 'S1' } },
        err: { parameters: ['Q1'], message: 'failed', headers: { authorization: 'A2' } },
        secret: 'S2',
        token: 'T1',
        context: { password: 'W1', api_key: 'K2' },
      },
      'request',
    );
    const line = lines.join('');
    for (const value of ['A1', 'C1', 'P1', 'K1', 'S1', 'Q1', 'A2', 'S2', 'T1', 'W1', 'K2']) expect(line).not.toContain(`"${value}"`);
    expect(line).toContain('"accept":"json"');
    expect(line).toContain('"message":"failed"');
  });

  it('keeps the text of a Nest log call made with fields (the TypeORM logger, the problem filter)', () => {
    const lines: string[] = [];
    const logger = new AppLogger(
      createRootLogger({ level: 'info', requests: true, format: 'json' }, { write: (l: string) => lines.push(l) }),
      'json',
    );
    logger.warn({ query: 'SELECT $1', token: 'T9' }, 'query failed: x', 'TypeORM');
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line).toMatchObject({ context: 'TypeORM', query: 'SELECT $1', token: '[redacted]', msg: 'query failed: x' });
  });
});
