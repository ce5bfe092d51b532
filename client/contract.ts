import type { components, paths as GeneratedPaths } from './schema.js';

/*
 * Named types of the HTTP contract (../shared/docs/API.md) over the generated ones (client/schema.ts).
 * A contract part the service's OpenAPI document lacks can be typed here by hand, in openapi-typescript's
 * shape, and listed in PENDING_PATHS/PENDING_FIELDS: `npm run client:check` fails once the document has
 * it, so the hand-written part is deleted as soon as the service serves it. Nothing is pending now.
 */
export const PENDING_PATHS: readonly string[] = [];
export const PENDING_FIELDS: Record<string, readonly string[]> = {};

type Schemas = components['schemas'];

export type Usage = Schemas['UsageSchema'];
/** How a checked step was compared (what-if replays). */
export type Comparison = Schemas['ComparisonSchema'];
export type Run = Schemas['RunSchema'];
export type Step = Schemas['StepSchema'];
export type Trace = Schemas['TraceSchema'];
export type ReplayRequest = Schemas['ReplayRunDto'];
export type ReplayReport = Schemas['ReplayReportSchema'];
export type JsonPatchOperation = Schemas['JsonPatchOperationSchema'];

export type ReplayBatch = Schemas['ReplayBatchSchema'];
export type ReplayBatchItem = Schemas['ReplayBatchItemSchema'];
/** The filter of POST /v1/replays (the batch's `filter` echoes it with defaults applied). */
export type ReplayBatchFilter = Schemas['ReplayBatchFilterDto'];
export type BatchStatus = ReplayBatch['status'];
export type BatchVerdict = ReplayBatchItem['verdict'];

/** The API's paths (every part of the contract is in the generated document now). */
export type paths = GeneratedPaths;
