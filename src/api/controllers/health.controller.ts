import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
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
  @ApiOperation({ summary: 'Liveness: the process serves HTTP (no dependency is checked).' })
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: PostgreSQL and (when configured) Redis answer; 503 otherwise.' })
  @HealthCheck()
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
