import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { RunError, RunStatus } from '../../shared/run.types.js';
import type { StepSpec } from '../../shared/step.types.js';

/** A run: one execution of an agent's plan. Payload columns are `json` (not jsonb) so \u0000 survives. */
@Entity({ name: 'runs' })
export class RunEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** Insertion order; the keyset of the newest-first listing cursor. */
  @Column({ type: 'bigint', insert: false, update: false })
  seq!: string;

  @Column('uuid', { name: 'tenant_id' })
  tenantId!: string;

  @Column('text', { name: 'agent_id' })
  agentId!: string;

  @Column('text')
  status!: RunStatus;

  @Column('text', { name: 'idempotency_key', nullable: true })
  idempotencyKey!: string | null;

  @Column('json')
  input!: unknown;

  @Column('json')
  steps!: StepSpec[];

  @Column('json')
  metadata!: unknown;

  @Column('json', { nullable: true })
  output!: unknown;

  @Column('json', { nullable: true })
  error!: RunError | null;

  @Column('int')
  attempts!: number;

  @Column('uuid', { name: 'replay_of', nullable: true })
  replayOf!: string | null;

  @Column('json', { name: 'replay_options', nullable: true })
  replayOptions!: unknown;

  @Column('json', { nullable: true })
  replay!: unknown;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;

  @Column('timestamptz', { name: 'started_at', nullable: true })
  startedAt!: Date | null;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;
}
