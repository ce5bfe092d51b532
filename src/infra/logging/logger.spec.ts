import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { AppLogger, createHttpLogger, createRootLogger, resolveLogFormat, type LogSettings } from './logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

const settings: LogSettings = { level: 'info', requests: true, format: 'json' };

describe('logging', () => {
  it('is JSON unless a person watches: pretty only in a terminal outside production, or when asked', () => {
    expect(resolveLogFormat('auto', false, true)).toBe('pretty');
    expect(resolveLogFormat('auto', true, true)).toBe('json');
    expect(resolveLogFormat('auto', false, false)).toBe('json');
    expect(resolveLogFormat('json', false, true)).toBe('json');
    expect(resolveLogFormat('pretty', true, false)).toBe('pretty');
  });

  it('writes Nest log calls as pino lines with their context, errors with their stack', () => {
    const { lines, stream } = capture();
    const logger = new AppLogger(createRootLogger(settings, stream), 'json');
    logger.log('hello', 'Boot');
    logger.error('failed', 'Error: failed\n    at x (y.js:1:1)', 'ExceptionsHandler');
    logger.warn(new Error('boom'), 'Worker');
    logger.debug('hidden at info', 'Boot');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 30, context: 'Boot', msg: 'hello' });
    expect(lines[1]).toMatchObject({
      level: 50,
      context: 'ExceptionsHandler',
      msg: 'failed',
      err: { stack: expect.stringContaining('at x') },
    });
    expect(lines[2]).toMatchObject({ level: 40, context: 'Worker', err: { message: 'boom' } });
  });

  it("drops Nest's start-up chatter from human output only", () => {
    const json = capture();
    new AppLogger(createRootLogger(settings, json.stream), 'json').log('Mapped {/v1/runs, POST} route', 'RouterExplorer');
    expect(json.lines).toHaveLength(1);
    const pretty = capture();
    const human = new AppLogger(createRootLogger(settings, pretty.stream), 'pretty');
    human.log('Mapped {/v1/runs, POST} route', 'RouterExplorer');
    human.error('cannot start', 'NestApplication');
    expect(pretty.lines.map((l) => l.msg)).toEqual(['cannot start']);
  });

  it('logs a line per request with its id, binds the id to lines logged meanwhile, and never the Authorization header', async () => {
    const { lines, stream } = capture();
    const root = createRootLogger(settings, stream);
    const logger = new AppLogger(root, 'json');
    const http = createHttpLogger(root, settings);
    const server = createServer((req, res) => {
      (req as IncomingMessage & { id: string }).id = 'req-42';
      http(req, res, () => {
        logger.log('inside', 'Handler');
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await fetch(`http://127.0.0.1:${port}/v1/runs?x=1`, { headers: { authorization: 'Bearer ar_live_secret' } });
    await new Promise<void>((r) => server.close(() => r()));
    expect(lines.find((l) => l.msg === 'inside')).toMatchObject({
      context: 'Handler',
      req: { id: 'req-42', method: 'GET', url: '/v1/runs?x=1' },
    });
    const completed = lines.find((l) => l.msg === 'request completed');
    expect(completed).toMatchObject({ req: { id: 'req-42', method: 'GET', url: '/v1/runs?x=1' }, res: { statusCode: 200 } });
    // exactly these fields: no headers, so the line needs no redaction
    expect(Object.keys(completed!).sort()).toEqual(['hostname', 'level', 'msg', 'pid', 'req', 'res', 'responseTime', 'time']);
    expect(completed?.res).toEqual({ statusCode: 200 });
    expect(JSON.stringify(lines)).not.toContain('ar_live_secret');
  });

  it('logs a 5xx as "request errored" at level error, and redacts lines logged while handling a request', async () => {
    const { lines, stream } = capture();
    const root = createRootLogger(settings, stream);
    const logger = new AppLogger(root, 'json');
    const http = createHttpLogger(root, settings);
    const server = createServer((req, res) => {
      (req as IncomingMessage & { id: string }).id = 'req-43';
      http(req, res, () => {
        logger.warn({ token: 'tok_secret_1', headers: { authorization: 'Bearer ar_live_2' } }, 'upstream refused', 'Handler');
        res.statusCode = 503;
        res.end('down');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await fetch(`http://127.0.0.1:${port}/v1/runs`);
    await new Promise<void>((r) => server.close(() => r()));
    expect(lines.find((l) => l.msg === 'request errored')).toMatchObject({ level: 50, req: { id: 'req-43' }, res: { statusCode: 503 } });
    expect(lines.find((l) => l.msg === 'upstream refused')).toMatchObject({ level: 40, req: { id: 'req-43' }, token: '[redacted]' });
    expect(JSON.stringify(lines)).not.toMatch(/tok_secret_1|ar_live_2/);
  });
});
