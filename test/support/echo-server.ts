import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  /** Path and query string as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoServer {
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** Requests whose path (without query) is `path`. */
  at(path: string): ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A loopback upstream that echoes what it receives. Routes:
 *   ANY /redirect?status=S&to=URL -> S (default 302) Location: URL
 *   ANY /fail                     -> 500 { error }
 *   ANY anything else             -> 200 { method, url, headers, body } (body as the raw text received),
 *                                    with Set-Cookie: session=<echo-session-cookie> in the response
 */
export async function startEchoServer(): Promise<EchoServer> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: req.method ?? 'GET', path: url.pathname, url: req.url ?? '/', headers: req.headers, body });
      if (url.pathname === '/redirect') {
        res.writeHead(Number(url.searchParams.get('status') ?? '302'), { location: url.searchParams.get('to') ?? '/' }).end();
        return;
      }
      if (url.pathname === '/fail') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"failing on purpose"}');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'session=echo-session-cookie; HttpOnly' })
        .end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    at: (path) => received.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
