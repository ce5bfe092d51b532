import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Controller, Get, Global, Inject, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/infra/config/app.config.js';
import { ConfigModule } from '../src/infra/config/config.module.js';
import { MetricsModule } from '../src/infra/metrics/metrics.js';
import { BroadcastModule } from '../src/infra/broadcast/broadcast.module.js';
import { QueueModule } from '../src/infra/queue/queue.module.js';
import { IDEMPOTENCY_DRIVER } from '../src/spine/drivers/spine-drivers.tokens.js';
import { OrchestratorModule } from '../src/spine/orchestrator/orchestrator.module.js';
import { RUNS_ORCHESTRATOR } from '../src/spine/orchestrator/orchestrator.tokens.js';

const run = promisify(execFile);

async function exitCode(command: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd: process.cwd() });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

describe('layer boundaries (ARCHITECTURE.md)', () => {
  it('dependency-cruiser passes on src and fails on fixtures where src/api imports a spine driver and src/shared imports a layer', async () => {
    const depcruise = 'node_modules/.bin/depcruise';
    const clean = await exitCode(depcruise, ['src', '--config', '.dependency-cruiser.cjs']);
    expect(clean.output).toContain('no dependency violations');
    expect(clean.code).toBe(0);
    const leaky = await exitCode(depcruise, ['test/fixtures/boundaries/src', '--config', '.dependency-cruiser.cjs']);
    expect(leaky.code).not.toBe(0);
    expect(leaky.output).toContain('api-not-to-drivers');
    expect(leaky.output).toContain('shared-is-a-leaf');
  }, 60_000);

  it('the transaction lint passes on src and fails on a driver that opens a transaction', async () => {
    const clean = await exitCode(process.execPath, ['scripts/check-driver-transactions.mjs', 'src']);
    expect(clean.code).toBe(0);
    const eager = await exitCode(process.execPath, ['scripts/check-driver-transactions.mjs', 'test/fixtures/transactions/src']);
    expect(eager.code).toBe(1);
    expect(eager.output).toContain('eager.driver.ts:8: driver opens a transaction');
  });

  describe('a controller that injects a driver token fails to boot', () => {
    @Global()
    @Module({ providers: [{ provide: DataSource, useValue: {} }], exports: [DataSource] })
    class FakeDataSourceModule {}

    @Controller('leak')
    class LeakyController {
      constructor(@Inject(IDEMPOTENCY_DRIVER) readonly driver: unknown) {}
      @Get() get() {
        return 'leaked';
      }
    }

    @Controller('fine')
    class FineController {
      constructor(@Inject(RUNS_ORCHESTRATOR) readonly runs: unknown) {}
      @Get() get() {
        return 'fine';
      }
    }

    const config = loadConfig({});
    const compile = (controller: new (...args: never[]) => unknown) =>
      Test.createTestingModule({
        imports: [
          ConfigModule.forRoot(config),
          FakeDataSourceModule,
          QueueModule.forRoot(config.redis),
          BroadcastModule.forRoot(config.redis),
          MetricsModule,
          OrchestratorModule,
        ],
        controllers: [controller],
      }).compile();

    it('injecting an orchestrator token boots (control)', async () => {
      const moduleRef = await compile(FineController);
      expect(moduleRef.get(FineController).runs).toBeDefined();
      await moduleRef.close();
    });

    it('injecting IDEMPOTENCY_DRIVER does not: the driver module exports its token only to the orchestrator', async () => {
      await expect(compile(LeakyController)).rejects.toThrow(/LeakyController.*Symbol\(IDEMPOTENCY_DRIVER\)/s);
    });
  });
});
