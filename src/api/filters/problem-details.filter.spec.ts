import type { Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { loggableError } from '../../infra/logging/loggable-error.js';
import { SpineErrorCode, SpineException } from '../../spine/spine.exception.js';
import { problems } from '../problem.js';
import { sendProblem, toProblem } from './problem-details.filter.js';

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

  it('drops the input values PostgreSQL quotes in a message, keeps quoted identifiers', () => {
    const error = new QueryFailedError('SELECT $1::int', ['sk_live_x'], new Error('invalid input syntax for type integer: "sk_live_x"'));
    const logged = loggableError(error);
    expect(logged.message).toBe('invalid input syntax for type integer: "[value]"');
    expect(logged.stack).not.toContain('sk_live_x');
    expect(loggableError(new Error('duplicate key value violates unique constraint "runs_pkey"')).message).toContain('"runs_pkey"');
  });

  it('describes a thrown non-error', () => {
    expect(loggableError('plain')).toEqual({ type: 'string', message: 'plain' });
  });
});

describe('sendProblem', () => {
  it('answers 500 with the request id only, and logs the error without its parameters', () => {
    const logged: unknown[][] = [];
    const logger = {
      error: (...args: unknown[]) => logged.push(args),
      warn: (...args: unknown[]) => logged.push(args),
    } as unknown as Logger;
    let sent = '';
    const res = {
      headersSent: false,
      getHeader: () => 'req-1',
      setHeader: () => res,
      status: () => res,
      type: () => res,
      send: (body: string) => ((sent = body), res),
    } as unknown as Response;
    const error = new QueryFailedError('INSERT INTO t VALUES ($1)', ['sk_live_in_parameters'], new Error('boom'));
    sendProblem({ method: 'POST', path: '/v1/x', originalUrl: '/v1/x' } as Request, res, error, logger);
    expect(JSON.parse(sent)).toMatchObject({ status: 500, request_id: 'req-1' });
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged)).toContain('QueryFailedError');
    expect(JSON.stringify(logged)).not.toContain('sk_live_in_parameters');
    expect(sent).not.toContain('sk_live_in_parameters');
  });
});

describe('toProblem: field errors', () => {
  const errors = (n: number) => Array.from({ length: n }, (_, i) => ({ field: `f${i}`, message: `bad ${i}` }));

  it.each([
    ['a spine 400', (e: ReturnType<typeof errors>) => new SpineException(SpineErrorCode.InvalidRunRequest, 'invalid', { errors: e })],
    ['an API 400 (class-validator, shape checks)', (e: ReturnType<typeof errors>) => problems.validation(e)],
  ])('lists at most 100 field errors of %s, then one entry that counts the rest', (_, make) => {
    const { problem } = toProblem(make(errors(250)));
    expect(problem.errors).toHaveLength(101);
    expect(problem.errors!.slice(0, 100)).toEqual(errors(100));
    expect(problem.errors![100]).toEqual({ field: '(more)', message: '...and 150 more errors' });
    expect(toProblem(make(errors(100))).problem.errors).toEqual(errors(100));
    expect(toProblem(make(errors(101))).problem.errors![100]).toEqual({ field: '(more)', message: '...and 1 more error' });
  });
});
