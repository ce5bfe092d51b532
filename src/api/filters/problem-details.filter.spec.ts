import { QueryFailedError } from 'typeorm';
import { loggableError, toProblem } from './problem-details.filter.js';

describe('problem-details filter: what an unexpected error leaves in the log', () => {
  it('keeps class, code, message and stack of a QueryFailedError, never its parameters, query or driver detail', () => {
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint "x"'), {
      code: '23505',
      detail: 'Key (token)=(sk_live_in_detail) already exists.',
    });
    const error = new QueryFailedError('INSERT INTO t VALUES ($1)', ['sk_live_in_parameters'], driverError);
    const logged = JSON.stringify(loggableError(error));
    expect(logged).toContain('QueryFailedError');
    expect(logged).toContain('duplicate key value');
    expect(logged).not.toContain('sk_live_in_parameters');
    expect(logged).not.toContain('sk_live_in_detail');
    expect(toProblem(error).problem.status).toBe(500);
  });

  it('describes a thrown non-error', () => {
    expect(loggableError('plain')).toEqual({ type: 'string', message: 'plain' });
  });
});
