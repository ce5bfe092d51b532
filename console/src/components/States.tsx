import type { ReactNode } from 'react';
import { ApiError, NetworkError } from '../api.js';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty">
      <p className="state-title">{title}</p>
      {children}
    </div>
  );
}

/** What went wrong, in words that say what to do next. */
export function describeError(error: unknown, what: string): { title: string; detail: string } {
  if (error instanceof NetworkError) {
    return {
      title: 'Cannot reach the service',
      detail: 'Check that it is running (npm start) and that this page comes from it, then retry.',
    };
  }
  if (error instanceof ApiError) {
    const requestId = error.problem?.request_id ? ` (request id ${error.problem.request_id})` : '';
    switch (error.status) {
      case 401:
        return { title: 'API key not accepted', detail: 'The key is wrong or was revoked. Sign in again with a valid tenant API key.' };
      case 404:
        return { title: `No such ${what}`, detail: `This ${what} does not exist, or it belongs to another tenant than this API key's.` };
      case 429:
        return {
          title: 'Too many requests',
          detail: `The tenant's rate limit is reached. Wait ${error.retryAfterSeconds ?? 1} s; the page tries again by itself.`,
        };
      case 503:
        return {
          title: 'Service unavailable',
          detail: `A dependency of the service (database or Redis) is down. Retry in a few seconds${requestId}.`,
        };
      default: {
        const fields = error.problem?.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
        return {
          title: error.problem?.title ?? `HTTP ${error.status}`,
          detail: `${error.problem?.detail ?? 'The request failed.'}${fields ? ` (${fields})` : ''}${requestId}`,
        };
      }
    }
  }
  return { title: 'Something went wrong', detail: error instanceof Error ? error.message : String(error) };
}

export function ErrorState({ error, what, onRetry }: { error: unknown; what: string; onRetry?: () => void }) {
  const { title, detail } = describeError(error, what);
  return (
    <div className="state error" role="alert">
      <p className="state-title">{title}</p>
      <p>{detail}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export const isNotServed = (error: unknown) => error instanceof ApiError && (error.status === 404 || error.status === 405);
