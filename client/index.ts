import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './contract.js';
import { type RetryOptions, withRetries } from './retry.js';

export type { components, operations } from './schema.js';
export type * from './contract.js';
export { parseRetryAfter, randomKey, takesIdempotencyKey, withRetries, type RetryInfo, type RetryOptions } from './retry.js';

export interface AgentRunsClientOptions extends RetryOptions {
  /** Where the service is, e.g. https://runs.example.com (default: the page's origin in a browser). */
  baseUrl?: string;
  /** A tenant API key, sent as `Authorization: Bearer <key>` (never in a URL). */
  apiKey: string;
  /** The fetch to use (default: globalThis.fetch). */
  fetch?: (request: Request) => Promise<Response>;
}

export type AgentRunsClient = Client<paths>;

/**
 * A typed client of the agent-runs HTTP API (types generated from /openapi.json), with Stripe-like
 * retries: an Idempotency-Key per create/replay call, reused on its own retries of 409 (request in
 * progress), 429, 503 and network errors, with exponential backoff and Retry-After honoured.
 *
 * ```ts
 * const runs = createAgentRunsClient({ baseUrl: 'http://localhost:3000', apiKey: process.env.KEY! });
 * const { data, error } = await runs.POST('/v1/agents/{agentId}/runs', {
 *   params: { path: { agentId: 'support-bot' } },
 *   body: { steps: [{ name: 'double', skill: 'transform', params: { expression: '21 * 2' } }] },
 * });
 * ```
 */
export function createAgentRunsClient(options: AgentRunsClientOptions): AgentRunsClient {
  const { baseUrl, apiKey, fetch: fetchImpl, ...retry } = options;
  const base = baseUrl ?? (globalThis as { location?: { origin: string } }).location?.origin;
  if (!base) throw new Error('createAgentRunsClient: baseUrl is required outside a browser');
  const send = fetchImpl ?? ((request: Request) => globalThis.fetch(request));
  return createClient<paths>({
    baseUrl: base.replace(/\/+$/, ''),
    headers: { Authorization: `Bearer ${apiKey}` },
    fetch: withRetries(send, retry),
  });
}
