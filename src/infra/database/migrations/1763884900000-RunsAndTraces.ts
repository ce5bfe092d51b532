import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RunsAndTraces1763884900000 implements MigrationInterface {
  name = 'RunsAndTraces1763884900000';

  async up(q: QueryRunner): Promise<void> {
    // Payloads are `json`, not `jsonb`: jsonb refuses "\u0000", which clients and remote servers may send.
    await q.query(`
      CREATE TABLE runs (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        agent_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('queued','running','retry','succeeded','failed','cancelled')),
        idempotency_key text,
        input json NOT NULL,
        steps json NOT NULL,
        metadata json NOT NULL,
        output json,
        error json,
        attempts int NOT NULL DEFAULT 0,
        replay_of uuid REFERENCES runs(id),
        replay_options json,
        replay json,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX runs_seq_uq ON runs (seq)`);
    await q.query(`CREATE INDEX runs_tenant_seq_idx ON runs (tenant_id, seq DESC)`);
    await q.query(`CREATE INDEX runs_tenant_agent_seq_idx ON runs (tenant_id, agent_id, seq DESC)`);
    await q.query(`CREATE INDEX runs_active_idx ON runs (updated_at) WHERE status IN ('queued','running','retry')`);
    // Idempotency keys of run creation. The primary key decides concurrent requests; an expired row is
    // taken over by the next request with that key (ON CONFLICT ... WHERE expires_at <= now).
    await q.query(`
      CREATE TABLE run_idempotency_keys (
        tenant_id uuid NOT NULL,
        agent_id text NOT NULL,
        key text NOT NULL,
        fingerprint char(64) NOT NULL,
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, agent_id, key)
      )`);
    await q.query(`CREATE INDEX run_idempotency_keys_expires_idx ON run_idempotency_keys (expires_at)`);
    await q.query(`
      CREATE TABLE run_steps (
        run_id uuid NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        index int NOT NULL,
        name text NOT NULL,
        skill text NOT NULL,
        params json NOT NULL,
        replay_behavior text NOT NULL,
        idempotency_key text,
        status text NOT NULL CHECK (status IN ('pending','running','succeeded','failed','cancelled')),
        output json,
        output_hash char(64),
        executed boolean NOT NULL DEFAULT false,
        skipped boolean NOT NULL DEFAULT false,
        checked boolean NOT NULL DEFAULT false,
        from_cache boolean NOT NULL DEFAULT false,
        expected_hash char(64),
        mismatch json,
        error json,
        attempts int NOT NULL DEFAULT 0,
        started_at timestamptz,
        finished_at timestamptz,
        duration_ms int,
        PRIMARY KEY (run_id, index)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE run_steps`);
    await q.query(`DROP TABLE run_idempotency_keys`);
    await q.query(`DROP TABLE runs`);
  }
}
