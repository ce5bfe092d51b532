import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ApiPublicOperation, HealthSchema } from '../openapi.js';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  type HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { SYSTEM_ORCHESTRATOR } from '../../spine/orchestrator/orchestrator.tokens.js';
import type { SystemOrchestrator } from '../../spine/orchestrator/system.orchestrator.js';

const TIMEOUT_MS = 2_000;
/**
 * Responses are documented here, not by terminus: it loads @nestjs/swagger with `require`, which
 * works under Node but not under Jest, so its documentation would differ between the two.
 */
const HEALTH_CHECK = { noCache: true, swaggerDocumentation: false };

function withTimeout<T>(work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), TIMEOUT_MS).unref())]);
}

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(SYSTEM_ORCHESTRATOR) private readonly system: SystemOrchestrator,
  ) {}

  @Get('live')
  @ApiPublicOperation({ operationId: 'getLiveness', summary: 'Liveness: the process serves HTTP (no dependency is checked).' })
  @ApiOkResponse({ type: HealthSchema, description: 'The process is up.' })
  @HealthCheck(HEALTH_CHECK)
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiPublicOperation({ operationId: 'getReadiness', summary: 'Readiness: PostgreSQL and (when configured) Redis answer; 503 otherwise.' })
  @ApiOkResponse({ type: HealthSchema, description: 'Every dependency answers.' })
  @ApiServiceUnavailableResponse({ type: HealthSchema, description: 'A dependency does not answer (see `error`).' })
  @HealthCheck(HEALTH_CHECK)
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.indicator('database', () => this.system.pingDatabase()),
      () =>
        this.indicator('redis', async () => {
          const ok = await this.system.pingRedis();
          if (ok === false) throw new Error('no PONG');
          return ok === null ? { mode: 'embedded (no Redis)' } : undefined;
        }),
    ]);
  }

  private async indicator(key: string, check: () => Promise<Record<string, unknown> | void | undefined>): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(key);
    try {
      const extra = await withTimeout(check());
      return session.up(extra ?? {});
    } catch {
      return session.down({ message: `${key} is unavailable` });
    }
  }
}
