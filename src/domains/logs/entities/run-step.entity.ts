import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ReplayBehavior, StepError, StepMismatch, StepStatus } from '../../../shared/step.types.js';

/** One executed (or executing) step of a run: the trace, owned by the logs domain. */
@Entity({ name: 'run_steps' })
export class RunStepEntity {
  @PrimaryColumn('uuid', { name: 'run_id' })
  runId!: string;

  @PrimaryColumn('int')
  index!: number;

  @Column('text')
  name!: string;

  @Column('text')
  skill!: string;

  @Column('json')
  params!: Record<string, unknown>;

  @Column('text', { name: 'replay_behavior' })
  replayBehavior!: ReplayBehavior;

  @Column('text', { name: 'idempotency_key', nullable: true })
  idempotencyKey!: string | null;

  @Column('text')
  status!: StepStatus;

  @Column('json', { nullable: true })
  output!: unknown;

  @Column('char', { name: 'output_hash', length: 64, nullable: true })
  outputHash!: string | null;

  @Column('boolean')
  executed!: boolean;

  @Column('boolean')
  skipped!: boolean;

  @Column('boolean')
  checked!: boolean;

  @Column('boolean', { name: 'from_cache' })
  fromCache!: boolean;

  /** SHA-256 of canonical { skill, params } with `$secret` unresolved: what the step's key is bound to. */
  @Column('char', { length: 64, nullable: true })
  fingerprint!: string | null;

  @Column('char', { name: 'expected_hash', length: 64, nullable: true })
  expectedHash!: string | null;

  @Column('json', { nullable: true })
  mismatch!: StepMismatch | null;

  @Column('json', { nullable: true })
  error!: StepError | null;

  @Column('int')
  attempts!: number;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;

  @Column('int', { name: 'duration_ms', nullable: true })
  durationMs!: number | null;
}
