import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  temperature?: number;
  /** The raw request body, as received. */
  raw: string;
  headers: IncomingHttpHeaders;
}

export interface WhatIfUpstream {
  url: string;
  port: number;
  /** Chat completions received, in order. */
  chats: ChatRequest[];
  hits(path: string): number;
  close(): Promise<void>;
}

/** The answer of the `writer` model: its first call with a prompt, then every later one (a slight rewording). */
export const WRITER_FIRST = 'The order 42 has shipped and will arrive on Monday.';
export const WRITER_LATER = 'The order 42 was shipped and will arrive on Monday.';

/**
 * A loopback upstream for what-if replays, with the real `Date` header Node sends (it changes every second).
 *   GET  /deterministic      -> 200 {"value":42} with a fresh x-request-id, and hop-by-hop headers (connection,
 *                               keep-alive, transfer-encoding: chunked, trailer, upgrade, te, proxy-*) plus x-custom
 *   GET  /numbers/<tag>      -> {"total":100.1,"count":3,"label":"x"} on its first hit, then total 100.5 (same length)
 *   GET  /shape/<tag>        -> first {id:1,name:"a",tags:["x"],nested:{ok:true}}, then other values of the same shape
 *   GET  /shape-broken/<tag> -> first as /shape, then {id:"2",...} (a string where a number was)
 *   GET  /echo-token         -> {"token": <the x-token header>, "greeting": "hi"}
 *   POST /v1/chat/completions, by model:
 *     writer        -> WRITER_FIRST on its first call with a prompt, WRITER_LATER after (usage differs too)
 *     judge-pass    -> {"pass": true, "reason": "Same facts: order 42 shipped, arrives Monday."}
 *     judge-fail    -> {"pass": false, "reason": "The delivery day is not stated the same way."}
 *     judge-garbage -> "Looks good to me!" (no JSON)
 *     judge-500     -> HTTP 500
 *     anything else -> "echo: <last message>"
 */
export async function startWhatIfUpstream(): Promise<WhatIfUpstream> {
  const counts = new Map<string, number>();
  const chats: ChatRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const n = (counts.get(url.pathname) ?? 0) + 1;
      counts.set(url.pathname, n);
      const json = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (url.pathname === '/deterministic') {
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-custom': 'kept',
          'x-request-id': randomUUID(),
          connection: 'keep-alive',
          'keep-alive': 'timeout=5',
          'transfer-encoding': 'chunked',
          trailer: 'x-checksum',
          upgrade: 'h2c',
          te: 'trailers',
          'proxy-authenticate': 'Basic realm="upstream"',
          'proxy-connection': 'keep-alive',
        });
        res.write('{"value":');
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end('42}');
        return;
      }
      if (url.pathname.startsWith('/numbers/')) return json(200, { total: n === 1 ? 100.1 : 100.5, count: 3, label: 'x' });
      if (url.pathname.startsWith('/shape/')) {
        return json(
          200,
          n === 1 ? { id: 1, name: 'a', tags: ['x'], nested: { ok: true } } : { id: 2, name: 'b', tags: ['y', 'z'], nested: { ok: false } },
        );
      }
      if (url.pathname.startsWith('/shape-broken/')) {
        return json(
          200,
          n === 1 ? { id: 1, name: 'a', tags: ['x'], nested: { ok: true } } : { id: '2', name: 'b', tags: ['y'], nested: { ok: false } },
        );
      }
      if (url.pathname === '/echo-token') return json(200, { token: req.headers['x-token'] ?? null, greeting: 'hi' });
      if (url.pathname === '/v1/chat/completions') {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as Omit<ChatRequest, 'raw' | 'headers'>;
        chats.push({ ...body, raw, headers: req.headers });
        const calls = (counts.get(`model:${body.model}`) ?? 0) + 1;
        counts.set(`model:${body.model}`, calls);
        const prompt = `prompt:${body.model}:${body.messages.at(-1)?.content ?? ''}`;
        const sameCalls = (counts.get(prompt) ?? 0) + 1;
        counts.set(prompt, sameCalls);
        const answer = (content: string, completion: number) =>
          json(200, {
            id: `chatcmpl-${calls}`,
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 20, completion_tokens: completion, total_tokens: 20 + completion },
          });
        switch (body.model) {
          case 'writer':
            return sameCalls === 1 ? answer(WRITER_FIRST, 12) : answer(WRITER_LATER, 13);
          case 'judge-pass':
            return answer('{"pass": true, "reason": "Same facts: order 42 shipped, arrives Monday."}', 15);
          case 'judge-fail':
            return answer('{"pass": false, "reason": "The delivery day is not stated the same way."}', 15);
          case 'judge-garbage':
            return answer('Looks good to me!', 5);
          case 'judge-500':
            return json(500, { error: 'overloaded' });
          default:
            return answer(`echo: ${body.messages.at(-1)?.content ?? ''}`, 7);
        }
      }
      return json(404, { error: 'no such route' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    chats,
    hits: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
