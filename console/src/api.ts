import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  BatchVerdict,
  ReplayBatch,
  ReplayBatchFilter,
  ReplayBatchItem,
  ReplayRequest,
  Run,
  Trace,
  components,
} from '../../client/index.js';
import { parseRetryAfter } from '../../client/index.js';
import { useSession } from './session.js';

type Problem = components['schemas']['ProblemSchema'];

/** An answer of the API that is not a success: its status and problem+json body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> | null,
    readonly retryAfterSeconds: number | null,
  ) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
  }
}

/** The service could not be reached at all. */
export class NetworkError extends Error {}

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Unwraps an openapi-fetch result: the data, or an ApiError / NetworkError. */
export async function call<T>(request: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await request;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new NetworkError('The service could not be reached.');
  }
  if (!result.response.ok) {
    const retryAfter = parseRetryAfter(result.response.headers.get('Retry-After'));
    const problem = result.error && typeof result.error === 'object' ? (result.error as Partial<Problem>) : null;
    throw new ApiError(result.response.status, problem, retryAfter === null ? null : Math.ceil(retryAfter / 1000));
  }
  return result.data as T;
}

export const ACTIVE_RUN_STATUSES = new Set(['queued', 'running', 'retry', 'waiting']);
export const isActive = (status: string) => ACTIVE_RUN_STATUSES.has(status);

export interface RunFilters {
  agent_id?: string;
  status?: string;
  cursor?: string;
}

export function useRuns(filters: RunFilters) {
  const { client } = useSession();
  return useQuery({
    queryKey: ['runs', filters],
    queryFn: ({ signal }) =>
      call(
        client.GET('/v1/runs', {
          params: { query: { limit: 20, ...(filters as { status?: Run['status'] }) } },
          signal,
        }),
      ) as Promise<{ data: Run[]; next_cursor: string | null }>,
    // Live while runs of the page are active; a slower look for new runs otherwise.
    refetchInterval: (query) => (query.state.data?.data.some((run) => isActive(run.status)) ? 1500 : 3000),
  });
}

export function useRun(id: string) {
  const { client } = useSession();
  return useQuery({
    queryKey: ['run', id],
    queryFn: ({ signal }) => call(client.GET('/v1/runs/{runId}', { params: { path: { runId: id } }, signal })) as Promise<Run>,
    refetchInterval: (query) => (query.state.data && !isActive(query.state.data.status) ? false : 1000),
  });
}

/** A run's trace; `runStatus` is part of the key, so the trace is read again when the run changes status (e.g. finishes). */
export function useTrace(id: string | null | undefined, runStatus: string | undefined) {
  const { client } = useSession();
  const live = runStatus === undefined || isActive(runStatus);
  return useQuery({
    queryKey: ['trace', id, runStatus ?? null],
    placeholderData: keepPreviousData,
    enabled: Boolean(id),
    queryFn: ({ signal }) => call(client.GET('/v1/runs/{runId}/trace', { params: { path: { runId: id! } }, signal })) as Promise<Trace>,
    refetchInterval: live ? 1000 : false,
  });
}

export function useCancelRun(id: string) {
  const { client } = useSession();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call(client.POST('/v1/runs/{runId}/cancel', { params: { path: { runId: id } } })) as Promise<Run>,
    onSuccess: (run) => {
      queries.setQueryData(['run', id], run);
      void queries.invalidateQueries({ queryKey: ['trace', id] });
      void queries.invalidateQueries({ queryKey: ['runs'] });
    },
  });
}

export function useReplayRun(id: string) {
  const { client } = useSession();
  const queries = useQueryClient();
  return useMutation({
    // The client adds an Idempotency-Key and reuses it on its own retries: a retried click never makes two replays.
    mutationFn: (body: ReplayRequest) =>
      call(client.POST('/v1/runs/{runId}/replay', { params: { path: { runId: id } }, body })) as Promise<Run>,
    onSuccess: (run) => {
      queries.setQueryData(['run', run.id], run);
      void queries.invalidateQueries({ queryKey: ['runs'] });
    },
  });
}

// Replay batches (contract: ../shared/docs/API.md, "Replay batches").

export function useBatches(cursor: string | undefined) {
  const { client } = useSession();
  return useQuery({
    queryKey: ['batches', cursor ?? null],
    queryFn: ({ signal }) => call(client.GET('/v1/replays', { params: { query: { limit: 20, cursor } }, signal })),
    refetchInterval: (query) => (query.state.data?.data.some((batch) => batch.status === 'running') ? 2000 : false),
    retry: false,
  });
}

export function useBatch(id: string) {
  const { client } = useSession();
  return useQuery({
    queryKey: ['batch', id],
    queryFn: ({ signal }) => call(client.GET('/v1/replays/{id}', { params: { path: { id } }, signal })),
    refetchInterval: (query) => (query.state.data && query.state.data.status !== 'running' ? false : 1500),
  });
}

export function useBatchItems(id: string, verdict: BatchVerdict | undefined, cursor: string | undefined, live: boolean) {
  const { client } = useSession();
  return useQuery({
    // `live` in the key: when the batch stops running, its items are read once more (their final verdicts).
    queryKey: ['batch-items', id, verdict ?? null, cursor ?? null, live],
    queryFn: ({ signal }) =>
      call(client.GET('/v1/replays/{id}/items', { params: { path: { id }, query: { verdict, cursor, limit: 50 } }, signal })) as Promise<{
        data: ReplayBatchItem[];
        next_cursor: string | null;
      }>,
    refetchInterval: live ? 2000 : false,
  });
}

export function useCreateBatch() {
  const { client } = useSession();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: (body: { filter: ReplayBatchFilter; replay: ReplayRequest }) =>
      call(client.POST('/v1/replays', { body })) as Promise<ReplayBatch>,
    onSuccess: (batch) => {
      queries.setQueryData(['batch', batch.id], batch);
      void queries.invalidateQueries({ queryKey: ['batches'] });
    },
  });
}

export function useCancelBatch(id: string) {
  const { client } = useSession();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: () => call(client.POST('/v1/replays/{id}/cancel', { params: { path: { id } } })) as Promise<ReplayBatch>,
    onSuccess: (batch) => {
      queries.setQueryData(['batch', id], batch);
      void queries.invalidateQueries({ queryKey: ['batch-items', id] });
    },
  });
}

/** Sends a signal to a waiting run (contract: "Signals"); the client adds an Idempotency-Key, so a retried click sends it once. */
export function useSendSignal(runId: string) {
  const { client } = useSession();
  const queries = useQueryClient();
  return useMutation({
    mutationFn: ({ name, payload }: { name: string; payload: unknown }) =>
      call(client.POST('/v1/runs/{runId}/signals/{name}', { params: { path: { runId, name } }, body: payload as never })),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['run', runId] });
      void queries.invalidateQueries({ queryKey: ['trace', runId] });
    },
  });
}
