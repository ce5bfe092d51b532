import type { components, paths as GeneratedPaths } from './schema.js';

/*
 * Types of the parts of the HTTP contract (../shared/docs/API.md) that the service's OpenAPI document
 * does not have yet: replay batches (/v1/replays). They are written by hand from the contract, in
 * openapi-typescript's shape, and give way to the generated types: `paths` below prefers a generated
 * path of the same name, and `npm run client:check` fails once the document has any of PENDING_PATHS
 * or PENDING_FIELDS, so the hand-written part is deleted as soon as the service serves it.
 */
export const PENDING_PATHS = ['/v1/replays', '/v1/replays/{id}', '/v1/replays/{id}/items', '/v1/replays/{id}/cancel'] as const;
export const PENDING_FIELDS: Record<string, readonly string[]> = {};

type Schemas = components['schemas'];
type Problem = Schemas['ProblemSchema'];

export type Usage = Schemas['UsageSchema'];
/** How a checked step was compared (what-if replays). */
export type Comparison = Schemas['ComparisonSchema'];
export type Run = Schemas['RunSchema'];
export type Step = Schemas['StepSchema'];
export type Trace = Schemas['TraceSchema'];
export type ReplayRequest = Schemas['ReplayRunDto'];
export type ReplayReport = Schemas['ReplayReportSchema'];
export type JsonPatchOperation = Schemas['JsonPatchOperationSchema'];

export type BatchStatus = 'running' | 'completed' | 'cancelled';
export type BatchVerdict = 'match' | 'mismatch' | 'failed' | 'pending' | 'cancelled';

export interface ReplayBatchFilter {
  agent_id?: string;
  status?: Array<'succeeded' | 'failed'>;
  created_after?: string;
  created_before?: string;
  run_ids?: string[];
  /** 1 to 1000, default 100. */
  limit?: number;
}

export interface ReplayBatch {
  id: string;
  status: BatchStatus;
  total: number;
  counts: { pending: number; match: number; mismatch: number; failed: number; cancelled: number };
  filter: ReplayBatchFilter;
  replay: ReplayRequest;
  created_at: string;
  finished_at: string | null;
}

export interface ReplayBatchItem {
  run_id: string;
  replay_run_id: string | null;
  status: string;
  verdict: BatchVerdict;
  first_mismatch_step: number | null;
  reason: string | null;
}

interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

type Json<T> = { headers: { [name: string]: unknown }; content: { 'application/json': T } };
type Errors = { 400: Json<Problem>; 401: Json<Problem>; 404: Json<Problem>; 409: Json<Problem>; 422: Json<Problem>; 429: Json<Problem> };
type NoParams = { query?: never; header?: never; path?: never; cookie?: never };
type PathItem = { parameters: NoParams; put?: never; delete?: never; options?: never; head?: never; patch?: never; trace?: never };

interface PendingPaths {
  '/v1/replays': PathItem & {
    get: {
      parameters: { query?: { limit?: number; cursor?: string }; header?: never; path?: never; cookie?: never };
      requestBody?: never;
      responses: { 200: Json<Page<ReplayBatch>> } & Errors;
    };
    post: {
      parameters: { query?: never; header?: { 'Idempotency-Key'?: string }; path?: never; cookie?: never };
      requestBody: { content: { 'application/json': { filter: ReplayBatchFilter; replay: ReplayRequest } } };
      responses: { 202: Json<ReplayBatch> } & Errors;
    };
  };
  '/v1/replays/{id}': PathItem & {
    get: {
      parameters: { query?: never; header?: never; path: { id: string }; cookie?: never };
      requestBody?: never;
      responses: { 200: Json<ReplayBatch> } & Errors;
    };
    post?: never;
  };
  '/v1/replays/{id}/items': PathItem & {
    get: {
      parameters: {
        query?: { verdict?: BatchVerdict; limit?: number; cursor?: string };
        header?: never;
        path: { id: string };
        cookie?: never;
      };
      requestBody?: never;
      responses: { 200: Json<Page<ReplayBatchItem>> } & Errors;
    };
    post?: never;
  };
  '/v1/replays/{id}/cancel': PathItem & {
    get?: never;
    post: {
      parameters: { query?: never; header?: never; path: { id: string }; cookie?: never };
      requestBody?: never;
      responses: { 202: Json<ReplayBatch> } & Errors;
    };
  };
}

// Compile-time guard: PENDING_PATHS names exactly the paths written above.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const pendingPathsListed: Same<(typeof PENDING_PATHS)[number], keyof PendingPaths> = true;
void pendingPathsListed;

/** The API's paths: the generated ones, plus the contract's paths the service does not document yet. */
export type paths = GeneratedPaths & Omit<PendingPaths, keyof GeneratedPaths>;
