import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the upstream received it. */
export interface ReceivedRequest {
  path: string;
  idempotencyKey: string | null;
  at: number;
}

/**
 * An upstream that behaves like a payment API: `POST /pay/<name>?ms=M` applies a charge once per
 * `Idempotency-Key` header and answers after M ms (default 0); a request that repeats a key gets the
 * first request's answer (waiting for it if it is still in flight), and applies nothing. It counts what it
 * received and what it applied separately: received-twice is what a test of at-most-once sending reads.
 */
export interface PaymentServer {
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** Requests received with this Idempotency-Key. */
  receivedWithKey(key: string): number;
  /** Charges applied for this key (at most 1 by construction; keyless requests each apply one). */
  applied(key: string): number;
  /** Resolves once `count` requests with this key have been received. */
  waitForKey(key: string, count?: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startPaymentServer(): Promise<PaymentServer> {
  const received: ReceivedRequest[] = [];
  const answers = new Map<string, Promise<{ charge: string; key: string; sequence: number }>>();
  const appliedCount = new Map<string, number>();
  let sequence = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for await (const _ of req); // drain the body
    const url = new URL(req.url ?? '/', 'http://localhost');
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
    received.push({ path: url.pathname, idempotencyKey: key, at: Date.now() });
    if (req.method !== 'POST' || !url.pathname.startsWith('/pay/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such route"}');
      return;
    }
    const ms = Number(url.searchParams.get('ms') ?? '0');
    const dedupKey = key ?? `keyless-${++sequence}`;
    let answer = answers.get(dedupKey);
    if (!answer) {
      appliedCount.set(dedupKey, (appliedCount.get(dedupKey) ?? 0) + 1);
      const charge = { charge: url.pathname.slice(5), key: dedupKey, sequence: ++sequence };
      answer = new Promise((resolve) => setTimeout(() => resolve(charge), ms));
      answers.set(dedupKey, answer);
    }
    const body = JSON.stringify(await answer);
    if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const receivedWithKey = (key: string) => received.filter((r) => r.idempotencyKey === key).length;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    receivedWithKey,
    applied: (key) => appliedCount.get(key) ?? 0,
    waitForKey: async (key, count = 1, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (receivedWithKey(key) < count) {
        if (Date.now() > deadline) throw new Error(`key ${key} was received ${receivedWithKey(key)} times, expected ${count}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
