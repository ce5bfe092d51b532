/**
 * A `fetch` wrapper with Stripe-like retries for the agent-runs API.
 *
 * - Every call that creates something (a run, a replay, a replay batch, a signal) gets an
 *   `Idempotency-Key` (a random UUID) unless the caller set one. The same key is sent again on each
 *   of this wrapper's own retries, so a retry never creates a second run: the service answers it
 *   with the run the first attempt created.
 * - Retried: network errors, 503 and 409 `idempotency-request-in-progress` for requests that are safe to
 *   repeat (GET/HEAD, or carrying an Idempotency-Key); 429 for every request (the rate limit refuses
 *   before anything is done).
 * - Waits: `Retry-After` (seconds or an HTTP date) when the response has one, up to `maxRetryAfterMs`
 *   (a longer wait is not retried: the response goes back to the caller); else exponential backoff
 *   with jitter (`initialDelayMs` doubling per retry, at most `maxDelayMs`, times 0.5 to 1).
 * - The caller's AbortSignal stops the waiting and the retries.
 */
export interface RetryOptions {
  /** Retries after the first attempt (default 2: three attempts in all). */
  maxRetries?: number;
  /** First backoff delay (default 500 ms); it doubles per retry. */
  initialDelayMs?: number;
  /** Largest backoff delay (default 5000 ms). */
  maxDelayMs?: number;
  /** Longest Retry-After honoured (default 60000 ms); past it the response is returned, not retried. */
  maxRetryAfterMs?: number;
  /** Makes an Idempotency-Key (default: crypto.randomUUID()). */
  idempotencyKey?: () => string;
  /** Called before each retry (for logging or metrics). Never receives headers or bodies. */
  onRetry?: (info: RetryInfo) => void;
  /** For tests: how to wait, and the source of jitter. */
  sleep?: (ms: number, signal?: AbortSignal | null) => Promise<void>;
  random?: () => number;
}

export interface RetryInfo {
  method: string;
  /** Path of the request (no query string, never the host). */
  path: string;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  reason: number | 'network-error';
}

/** Endpoints that take an Idempotency-Key (POST), matched on the URL path. */
const KEYED_POSTS = [/\/v1\/agents\/[^/]+\/runs$/, /\/v1\/runs\/[^/]+\/replay$/, /\/v1\/replays$/, /\/v1\/runs\/[^/]+\/signals\/[^/]+$/];

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

export function takesIdempotencyKey(method: string, url: string): boolean {
  const path = new URL(url).pathname;
  return method.toUpperCase() === 'POST' && KEYED_POSTS.some((pattern) => pattern.test(path));
}

/** Milliseconds to wait from a Retry-After header (delta-seconds or HTTP date), or null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** A random UUID v4; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
export function randomKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const defaultSleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });

async function problemType(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.clone().json()) as { type?: unknown };
    return typeof body?.type === 'string' ? body.type : undefined;
  } catch {
    return undefined;
  }
}

export function withRetries(fetchImpl: (request: Request) => Promise<Response>, options: RetryOptions = {}) {
  const maxRetries = options.maxRetries ?? 2;
  const initialDelayMs = options.initialDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const makeKey = options.idempotencyKey ?? randomKey;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const backoff = (retry: number) => Math.min(maxDelayMs, initialDelayMs * 2 ** (retry - 1)) * (0.5 + random() / 2);

  return async function fetchWithRetries(input: Request): Promise<Response> {
    let request = input;
    if (takesIdempotencyKey(request.method, request.url) && !request.headers.has(IDEMPOTENCY_HEADER)) {
      // One key per call, made once, before the first attempt: every retry below sends this same request.
      const headers = new Headers(request.headers);
      headers.set(IDEMPOTENCY_HEADER, makeKey());
      request = new Request(request, { headers });
    }
    const method = request.method.toUpperCase();
    const safeToRepeat = method === 'GET' || method === 'HEAD' || request.headers.has(IDEMPOTENCY_HEADER);
    const path = new URL(request.url).pathname;

    for (let retry = 1; ; retry++) {
      const canRetry = retry <= maxRetries && !request.signal.aborted;
      let response: Response;
      try {
        response = await fetchImpl(request.clone());
      } catch (error) {
        if (!canRetry || !safeToRepeat || request.signal.aborted) throw error;
        const delayMs = backoff(retry);
        options.onRetry?.({ method, path, retry, delayMs, reason: 'network-error' });
        await sleep(delayMs, request.signal);
        continue;
      }
      if (!canRetry) return response;
      const status = response.status;
      const retryable =
        status === 429 ||
        (safeToRepeat && status === 503) ||
        (safeToRepeat && status === 409 && (await problemType(response)) === 'idempotency-request-in-progress');
      if (!retryable) return response;
      const retryAfter = parseRetryAfter(response.headers.get('Retry-After'));
      if (retryAfter !== null && retryAfter > maxRetryAfterMs) return response;
      const delayMs = retryAfter ?? backoff(retry);
      options.onRetry?.({ method, path, retry, delayMs, reason: status });
      // Drop the body (not awaited: a cancel of a cloned body settles only when every branch is done).
      response.body?.cancel().catch(() => undefined);
      await sleep(delayMs, request.signal);
    }
  };
}
