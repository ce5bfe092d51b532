import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SideEffectServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** How many requests reached `path` (query string excluded). */
  hits(path: string): number;
  /** Requests reached so far, in order. */
  log: Array<{ method: string; path: string; body: string }>;
  /** Resolves when `path` has been hit at least `count` times. */
  waitForHit(path: string, count?: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A local HTTP server that counts side effects. Routes:
 *   POST /effect/<name>      -> 200 { effect: name, count: n }      (n = hits of that path so far)
 *   GET  /fixed              -> 200 { value: 42, items: [1, 2, 3] }
 *   GET  /changing           -> 200 { stable: "same", generated_at: <counter>, nonce: <counter> }
 *   GET  /flaky/<name>?fail=N -> 500 for the first N hits, then 200 { ok: true }
 *   GET  /slow?ms=M          -> waits M ms, then 200 { slept: M }
 *   GET  /redirect?to=URL    -> 302 Location: URL
 *   GET  /lone-surrogate     -> 200 {"text":"\ud800"} (JSON whose string holds a lone surrogate)
 *   GET  /text               -> 200 text/plain "hello"
 *   GET  /bigint/<name>      -> 200 {"id":9007199254740993,"n":1} on the first hit of that path, then
 *                               {"id":9007199254740992,"n":1} (the same double: JSON.parse cannot tell them apart)
 *   GET  /big?bytes=N        -> 200 {"blob":"xxx..."} of about N bytes
 */
export async function startSideEffectServer(): Promise<SideEffectServer> {
  const counts = new Map<string, number>();
  const log: SideEffectServer['log'] = [];
  const waiters: Array<() => void> = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await read(req);
    const n = (counts.get(url.pathname) ?? 0) + 1;
    counts.set(url.pathname, n);
    log.push({ method: req.method ?? 'GET', path: url.pathname, body });
    waiters.splice(0).forEach((w) => w());
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (url.pathname.startsWith('/effect/')) return json(200, { effect: url.pathname.slice(8), count: n });
    if (url.pathname === '/fixed') return json(200, { value: 42, items: [1, 2, 3] });
    if (url.pathname === '/changing') return json(200, { stable: 'same', generated_at: n, nonce: `n-${n}` });
    if (url.pathname.startsWith('/flaky/')) {
      const fail = Number(url.searchParams.get('fail') ?? '1');
      return n <= fail ? json(500, { error: 'flaky' }) : json(200, { ok: true, hit: n });
    }
    if (url.pathname === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? '100');
      setTimeout(() => json(200, { slept: ms }), ms);
      return;
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/fixed' }).end();
      return;
    }
    if (url.pathname === '/lone-surrogate') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"\\ud800"}');
      return;
    }
    if (url.pathname.startsWith('/bigint/')) {
      const id = n === 1 ? '9007199254740993' : '9007199254740992';
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"id":${id},"n":1}`);
      return;
    }
    if (url.pathname === '/big') return json(200, { blob: 'x'.repeat(Number(url.searchParams.get('bytes') ?? '1000')) });
    if (url.pathname === '/text') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
      return;
    }
    json(404, { error: 'no such route' });
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const hits = (path: string) => counts.get(path) ?? 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    log,
    waitForHit: async (path, count = 1, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (hits(path) < count) {
        if (Date.now() > deadline) throw new Error(`${path} was hit ${hits(path)} times, expected ${count}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
