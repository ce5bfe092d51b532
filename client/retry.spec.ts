import { createAgentRunsClient, parseRetryAfter, type RetryOptions } from './index.js';

const RUN = {
  id: '3f0e2c1a-8d5b-4f6e-9a7c-1b2d3e4f5a6b',
  agent_id: 'bot',
  status: 'queued',
  idempotency_key: null,
  input: {},
  metadata: {},
  output: null,
  error: null,
  attempts: 0,
  replay_of: null,
  replay: null,
  created_at: '2026-11-25T00:00:00.000Z',
  started_at: null,
  finished_at: null,
};

interface Seen {
  method: string;
  url: string;
  key: string | null;
  auth: string | null;
  body: string;
}

type Answer = Response | Error;
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const problem = (status: number, type: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type, title: type, status, detail: type }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });

/** A fake server answering each request with the next scripted answer; records what it received. */
function harness(answers: Answer[], options: RetryOptions = {}) {
  const seen: Seen[] = [];
  const sleeps: number[] = [];
  let next = 0;
  const client = createAgentRunsClient({
    baseUrl: 'http://runs.test',
    apiKey: 'ak_secret',
    random: () => 1, // no jitter: delays are exact
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
    fetch: async (request) => {
      seen.push({
        method: request.method,
        url: request.url,
        key: request.headers.get('Idempotency-Key'),
        auth: request.headers.get('Authorization'),
        body: await request.text(),
      });
      const answer = answers[Math.min(next++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer.clone(); // the last answer repeats: never hand out the same body twice
    },
  });
  return { client, seen, sleeps };
}

const createRun = (client: ReturnType<typeof harness>['client'], headers?: Record<string, string>) =>
  client.POST('/v1/agents/{agentId}/runs', {
    params: { path: { agentId: 'bot' } },
    body: { steps: [{ name: 'double', skill: 'transform', params: { expression: '21 * 2' } }] },
    headers,
  });

describe('typed client retries (Stripe-like)', () => {
  it('makes one Idempotency-Key per create call and sends it again on each retry of 503 and network errors', async () => {
    const { client, seen } = harness([problem(503, 'service-unavailable'), new TypeError('fetch failed'), json(202, RUN)]);
    const { data, response } = await createRun(client);
    expect(response.status).toBe(202);
    expect(data?.id).toBe(RUN.id);
    expect(seen).toHaveLength(3);
    const key = seen[0].key;
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(seen.map((s) => s.key)).toEqual([key, key, key]);
    // the same body every time, and the key only in a header, never in the URL
    expect(new Set(seen.map((s) => s.body)).size).toBe(1);
    expect(JSON.parse(seen[2].body)).toEqual({ steps: [{ name: 'double', skill: 'transform', params: { expression: '21 * 2' } }] });
    expect(seen.every((s) => s.url === 'http://runs.test/v1/agents/bot/runs' && s.auth === 'Bearer ak_secret')).toBe(true);
  });

  it('a second call gets a new key; a replay call gets one too; a caller key is kept', async () => {
    const { client, seen } = harness([json(202, RUN)]);
    await createRun(client);
    await createRun(client);
    await client.POST('/v1/runs/{runId}/replay', { params: { path: { runId: RUN.id } }, body: { default_behavior: 'check' } });
    await createRun(client, { 'Idempotency-Key': 'order-42' });
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST', 'POST', 'POST']);
    const keys = seen.map((s) => s.key);
    expect(keys.slice(0, 3).every((k) => typeof k === 'string' && k.length === 36)).toBe(true);
    expect(new Set(keys.slice(0, 3)).size).toBe(3);
    expect(keys[3]).toBe('order-42');
  });

  it('honours Retry-After in seconds and as an HTTP date; backs off exponentially without it', async () => {
    const date = new Date(Date.now() + 4000).toUTCString();
    const { client, sleeps, seen } = harness(
      [
        problem(429, 'rate-limited', { 'Retry-After': '3' }),
        problem(429, 'rate-limited', { 'Retry-After': date }),
        problem(503, 'service-unavailable'),
        problem(503, 'service-unavailable'),
        json(200, { data: [], next_cursor: null }),
      ],
      { maxRetries: 4, initialDelayMs: 100, maxDelayMs: 150 },
    );
    const { data } = await client.GET('/v1/runs', { params: { query: { limit: 5 } } });
    expect(data).toEqual({ data: [], next_cursor: null });
    expect(seen).toHaveLength(5);
    expect(seen[0].url).toBe('http://runs.test/v1/runs?limit=5');
    expect(sleeps[0]).toBe(3000);
    expect(sleeps[1]).toBeGreaterThan(2000); // the date is rounded to seconds
    expect(sleeps[1]).toBeLessThanOrEqual(4000);
    expect(sleeps.slice(2)).toEqual([150, 150]); // retries 3 and 4: 400 and 800 ms, capped at maxDelayMs
  });

  it('backoff doubles per retry, with jitter between half and all of it', async () => {
    const { client, sleeps } = harness(
      [problem(503, 'service-unavailable'), problem(503, 'service-unavailable'), problem(503, 'service-unavailable'), json(200, RUN)],
      { maxRetries: 3, initialDelayMs: 200, maxDelayMs: 10_000, random: () => 0 },
    );
    await client.GET('/v1/runs/{runId}', { params: { path: { runId: RUN.id } } });
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('gives up after maxRetries: the last response goes back to the caller, a network error is thrown', async () => {
    const failing = harness([problem(503, 'service-unavailable')], { maxRetries: 2 });
    const { error, response } = await createRun(failing.client);
    expect(response.status).toBe(503);
    expect(error).toMatchObject({ type: 'service-unavailable' });
    expect(failing.seen).toHaveLength(3);

    const down = harness([new TypeError('fetch failed')], { maxRetries: 1 });
    await expect(createRun(down.client)).rejects.toThrow('fetch failed');
    expect(down.seen).toHaveLength(2);
    expect(down.seen[0].key).toBe(down.seen[1].key);
  });

  it('retries 409 only while the same key is in progress, not other conflicts', async () => {
    const inProgress = harness([problem(409, 'idempotency-request-in-progress', { 'Retry-After': '1' }), json(202, RUN)]);
    expect((await createRun(inProgress.client)).response.status).toBe(202);
    expect(inProgress.seen).toHaveLength(2);
    expect(inProgress.sleeps).toEqual([1000]);

    const notFinished = harness([problem(409, 'run-not-replayable'), json(202, RUN)]);
    const { response } = await notFinished.client.POST('/v1/runs/{runId}/replay', { params: { path: { runId: RUN.id } }, body: {} });
    expect(response.status).toBe(409);
    expect(notFinished.seen).toHaveLength(1);
  });

  it('does not repeat a call without a key (cancel) after 503 or a network error, but does after 429', async () => {
    const unavailable = harness([problem(503, 'service-unavailable'), json(202, RUN)]);
    const cancel = (c: typeof unavailable.client) => c.POST('/v1/runs/{runId}/cancel', { params: { path: { runId: RUN.id } } });
    expect((await cancel(unavailable.client)).response.status).toBe(503);
    expect(unavailable.seen).toHaveLength(1);
    expect(unavailable.seen[0].key).toBeNull();

    const offline = harness([new TypeError('fetch failed'), json(202, RUN)]);
    await expect(cancel(offline.client)).rejects.toThrow('fetch failed');
    expect(offline.seen).toHaveLength(1);

    const limited = harness([problem(429, 'rate-limited', { 'Retry-After': '2' }), json(202, RUN)]);
    expect((await cancel(limited.client)).response.status).toBe(202);
    expect(limited.seen).toHaveLength(2);
  });

  it('returns a Retry-After longer than maxRetryAfterMs to the caller instead of waiting', async () => {
    const { client, seen, sleeps } = harness([problem(429, 'rate-limited', { 'Retry-After': '120' }), json(200, RUN)]);
    const { response } = await client.GET('/v1/runs/{runId}', { params: { path: { runId: RUN.id } } });
    expect(response.status).toBe(429);
    expect(seen).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('stops retrying when the caller aborts', async () => {
    const controller = new AbortController();
    const { client, seen } = harness([problem(503, 'service-unavailable'), json(200, RUN)], {
      sleep: async () => {
        controller.abort(new Error('navigated away'));
        throw new Error('navigated away');
      },
    });
    await expect(client.GET('/v1/runs/{runId}', { params: { path: { runId: RUN.id } }, signal: controller.signal })).rejects.toThrow(
      'navigated away',
    );
    expect(seen).toHaveLength(1);
  });

  it('does not retry success or client errors', async () => {
    const { client, seen } = harness([problem(400, 'validation-error'), json(202, RUN)]);
    expect((await createRun(client)).response.status).toBe(400);
    expect(seen).toHaveLength(1);
  });

  it('parses Retry-After', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter(new Date(1_000).toUTCString(), 4_000)).toBe(0);
  });
});
