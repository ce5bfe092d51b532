import { Module } from '@nestjs/common';
import { OrchestratorModule } from '../spine/orchestrator/orchestrator.module.js';
import { RunProcessor } from './run.processor.js';

/** Worker side: queue consumers that call the orchestrator, nothing else. */
@Module({
  imports: [OrchestratorModule],
  providers: [RunProcessor],
})
export class WorkersModule {}
