import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ParameterFreeTypeOrmLogger } from './typeorm-logger.js';

describe('TypeORM logger', () => {
  it('logs a failed query through the application logger, without its parameters', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const logger = new ParameterFreeTypeOrmLogger();
      logger.logQuery();
      logger.logQueryError(
        Object.assign(new Error('invalid input syntax for type integer: "sk_live_param"'), { code: '22P02' }),
        'SELECT $1::int',
        ['sk_live_param'],
      );
      logger.logQuerySlow(1234, 'SELECT pg_sleep($1)');
      expect(warn).toHaveBeenCalledTimes(2);
      const logged = JSON.stringify(warn.mock.calls);
      expect(logged).toContain('query failed: invalid input syntax');
      expect(logged).toContain('SELECT $1::int');
      expect(logged).toContain('22P02');
      expect(logged).not.toContain('sk_live_param');
    } finally {
      warn.mockRestore();
    }
  });
});
