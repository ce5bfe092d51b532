import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  path: string;
  body: string;
  headers: IncomingHttpHeaders;
  /** When the request arrived (ms since the epoch). */
  at: number;
}

export interface SideEffectServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** How many requests reached `path` (query string excluded). */
  hits(path: string): number;
  /** Requests reached so far, in order, with their headers. */
  log: LoggedRequest[];
  /** Requests to `/pay/...` applied: one per Idempotency-Key (requests without a key are each applied). */
  applied(path: string): number;
  /** Resolves when `path` has been hit at least `count` times. */
  waitForHit(path: string, count?: number, timeoutMs?: number): Promise<void>;
  /** From now on, requests to `path` are held (not answered) until release(path). */
  hold(path: string): void;
  /** Answers the held requests of `path` and stops holding it. */
  release(path: string): void;
  /** How many requests to `path` were held and then lost their client (closed before any answer). */
  abandoned(path: string): number;
  close(): Promise<void>;
}

/**
 * A local HTTP server that counts side effects. It sends no `Date` header, so what it answers never
 * depends on the second a request falls in. Routes:
 *   POST /effect/<name>      -> 200 { effect: name, count: n }      (n = hits of that path so far)
 *   POST /pay/<name>         -> 200 { paid: name, charge: c }: a payment API that applies a request once per
 *                               Idempotency-Key header (a re-send with a seen key gets the first answer again)
 *   GET  /fixed              -> 200 { value: 42, items: [1, 2, 3] }
 *   GET  /changing           -> 200 { stable: "same", generated_at: 100000 + n, nonce: "n-<100000 + n>" }, header x-generation
 *   GET  /flaky/<name>?fail=N -> 500 for the first N hits, then 200 { ok: true }
 *   GET  /slow?ms=M          -> waits M ms, then 200 { slept: M }
 *   GET  /redirect?to=URL    -> 302 Location: URL
 *   GET  /lone-surrogate     -> 200 {"text":"\ud800"} (JSON whose string holds a lone surrogate)
 *   GET  /text               -> 200 text/plain "hello"
 *   POST /v1/chat/completions -> an OpenAI-compatible completion: content "echo: <last message>",
 *                               usage { prompt_tokens: characters of all messages, completion_tokens: 7 }
 */
export async function startSideEffectServer(): Promise<SideEffectServer> {
  const counts = new Map<string, number>();
  const log: LoggedRequest[] = [];
  const waiters: Array<() => void> = [];
  const held = new Map<string, Array<() => void>>();
  const holding = new Set<string>();
  const abandonedCounts = new Map<string, number>();
  const payments = new Map<string, { charge: number }>(); // Idempotency-Key -> first answer
  const appliedCounts = new Map<string, number>();
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.sendDate = false;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await read(req);
    const n = (counts.get(url.pathname) ?? 0) + 1;
    counts.set(url.pathname, n);
    log.push({ method: req.method ?? 'GET', path: url.pathname, body, headers: req.headers, at: Date.now() });
    waiters.splice(0).forEach((w) => w());
    // The route acts first (a payment is applied on receipt); a held path then keeps its answer back.
    const send = async (status: number, headers: Record<string, string>, payload: string): Promise<void> => {
      if (holding.has(url.pathname)) {
        let answered = false;
        res.on('close', () => {
          if (!answered) abandonedCounts.set(url.pathname, (abandonedCounts.get(url.pathname) ?? 0) + 1);
        });
        await new Promise<void>((resolve) => held.set(url.pathname, [...(held.get(url.pathname) ?? []), resolve]));
        answered = true;
      }
      if (!res.destroyed) res.writeHead(status, headers).end(payload);
    };
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
      send(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
    if (url.pathname.startsWith('/effect/')) return json(200, { effect: url.pathname.slice(8), count: n });
    if (url.pathname.startsWith('/pay/')) {
      const key = req.headers['idempotency-key'];
      const seen = typeof key === 'string' ? payments.get(`${url.pathname} ${key}`) : undefined;
      if (seen) return json(200, { paid: url.pathname.slice(5), ...seen });
      const applied = (appliedCounts.get(url.pathname) ?? 0) + 1;
      appliedCounts.set(url.pathname, applied);
      const answer = { charge: applied };
      if (typeof key === 'string') payments.set(`${url.pathname} ${key}`, answer);
      return json(200, { paid: url.pathname.slice(5), ...answer });
    }
    if (url.pathname === '/fixed') return json(200, { value: 42, items: [1, 2, 3] });
    if (url.pathname === '/changing') {
      // fixed-width values: every answer has the same length (content-length never changes)
      const generation = String(100_000 + n);
      return json(200, { stable: 'same', generated_at: 100_000 + n, nonce: `n-${generation}` }, { 'x-generation': generation });
    }
    if (url.pathname.startsWith('/flaky/')) {
      const fail = Number(url.searchParams.get('fail') ?? '1');
      return n <= fail ? json(500, { error: 'flaky' }) : json(200, { ok: true, hit: n });
    }
    if (url.pathname === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? '100');
      setTimeout(() => void json(200, { slept: ms }), ms);
      return;
    }
    if (url.pathname === '/redirect') {
      return send(302, { location: url.searchParams.get('to') ?? '/fixed' }, '');
    }
    if (url.pathname === '/lone-surrogate') {
      return send(200, { 'content-type': 'application/json' }, '{"text":"\\ud800"}');
    }
    if (url.pathname === '/text') {
      return send(200, { 'content-type': 'text/plain' }, 'hello');
    }
    if (url.pathname === '/v1/chat/completions') {
      const request = JSON.parse(body) as { model: string; messages: Array<{ content?: string }> };
      const prompt = request.messages.reduce((a, m) => a + (m.content ?? '').length, 0);
      return json(200, {
        id: 'chatcmpl-test',
        model: request.model,
        choices: [
          { index: 0, message: { role: 'assistant', content: `echo: ${request.messages.at(-1)?.content ?? ''}` }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: prompt, completion_tokens: 7, total_tokens: prompt + 7 },
      });
    }
    return json(404, { error: 'no such route' });
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
    applied: (path) => appliedCounts.get(path) ?? 0,
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
    hold: (path) => holding.add(path),
    release: (path) => {
      holding.delete(path);
      (held.get(path) ?? []).forEach((answer) => answer());
      held.delete(path);
    },
    abandoned: (path) => abandonedCounts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const path of [...holding]) {
          holding.delete(path);
          (held.get(path) ?? []).forEach((answer) => answer());
        }
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
