import type { FieldError } from '../spine/spine.exception.js';

/** RFC 9457 problem details, as every error response of the service is shaped. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
  /** Health checks behind a 503 of /health/ready. */
  checks?: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Thrown inside src/api for problems that are decided at the HTTP edge (auth, validation, headers). */
export class ProblemException extends Error {
  constructor(
    readonly problem: Omit<Problem, 'request_id' | 'instance'>,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail);
    this.name = 'ProblemException';
  }
}

export const problems = {
  validation: (errors: FieldError[], detail = 'The request is invalid.') =>
    new ProblemException({ type: 'validation-error', title: 'Invalid request', status: 400, detail, errors }),
  badRequest: (type: string, detail: string, field?: string) =>
    new ProblemException({
      type,
      title: 'Bad request',
      status: 400,
      detail,
      ...(field ? { errors: [{ field, message: detail }] } : {}),
    }),
  unauthorized: (detail: string) =>
    new ProblemException({ type: 'unauthorized', title: 'Unauthorized', status: 401, detail }, { 'WWW-Authenticate': 'Bearer' }),
  unsupportedMediaType: (detail: string) =>
    new ProblemException({ type: 'unsupported-media-type', title: 'Unsupported media type', status: 415, detail }),
  notFound: (detail = 'The resource does not exist.') =>
    new ProblemException({ type: 'not-found', title: 'Not found', status: 404, detail }),
};
