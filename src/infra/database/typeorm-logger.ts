import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { withoutQuotedValues } from '../logging/loggable-error.js';

const MAX_QUERY_CHARS = 500;

/**
 * TypeORM's log, routed through the application logger (pino in the API and worker processes). Query
 * parameters are never written: they hold run inputs, step params and outputs; nor the input values
 * PostgreSQL quotes in some messages. Only failed and slow
 * queries, schema and migration messages are logged; the query text is parameterised ($1, $2...).
 */
export class ParameterFreeTypeOrmLogger implements TypeOrmLogger {
  private readonly logger = new Logger('TypeORM');

  logQuery(): void {
    // Every query would be a log line, with its parameters: never.
  }

  logQueryError(error: string | Error, query: string, _parameters?: unknown): void {
    const message = typeof error === 'string' ? error : error.message;
    const code = typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
    this.logger.warn({ query: query.slice(0, MAX_QUERY_CHARS), code }, `query failed: ${withoutQuotedValues(message.slice(0, 1000))}`);
  }

  logQuerySlow(time: number, query: string, _parameters?: unknown): void {
    this.logger.warn({ query: query.slice(0, MAX_QUERY_CHARS), duration_ms: time }, 'slow query');
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    const text = typeof message === 'string' ? message : String(message);
    if (level === 'warn') this.logger.warn(text);
    else this.logger.log(text);
  }
}
