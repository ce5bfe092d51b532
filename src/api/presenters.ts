import { redactRunFields, redactStep, redactValue } from '../shared/redaction.js';
import type { StepSpec } from '../shared/step.types.js';
import type { RunTrace, TraceStep } from '../spine/orchestrator/runs.orchestrator.js';
import { type BatchItemView, type ReplayBatchView, verdictOf } from '../spine/replay-batch.types.js';
import type { RunView, SignalRecord } from '../spine/run.types.js';
import type { StepDto } from './dto/runs.dto.js';

/**
 * The Run object of the HTTP contract. Every read path (create, get, list, cancel, replay) comes here,
 * and step-derived fields go through the one redaction function (credentials read "[redacted]").
 */
export function presentRun(record: RunView) {
  const run = redactRunFields(record);
  return {
    id: run.id,
    agent_id: run.agent_id,
    status: run.status,
    idempotency_key: run.idempotency_key,
    input: run.input,
    metadata: run.metadata,
    output: run.output ?? null,
    error: run.error ?? null,
    attempts: run.attempts,
    replay_of: run.replay_of,
    replay: run.replay ?? null,
    usage: run.usage,
    created_at: run.created_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    // Only on a waiting run, so every other Run object keeps exactly the contract's fields.
    ...(run.status === 'waiting' ? { waiting_for: { signal: run.wait_signal, step_index: run.wait_step, until: run.wait_until } } : {}),
  };
}

export function presentSignal(signal: SignalRecord) {
  return { run_id: signal.run_id, signal: signal.name, received_at: signal.received_at };
}

/** A trace step, through the one redaction function (secrets are masked when recorded; credentials read "[redacted]"). */
export function presentStep(record: TraceStep) {
  const step = { ...redactStep(record), usage: record.usage };
  return {
    index: step.index,
    name: step.name ?? step.skill,
    skill: step.skill,
    params: step.params,
    replay_behavior: step.replay_behavior,
    idempotency_key: step.idempotency_key,
    status: step.status,
    output: step.output ?? null,
    output_hash: step.output_hash,
    executed: step.executed,
    skipped: step.skipped,
    checked: step.checked,
    from_cache: step.from_cache,
    expected_hash: step.expected_hash,
    mismatch: step.mismatch,
    error: step.error ? { type: step.error.type, message: step.error.message } : null,
    attempts: step.attempts,
    usage: step.usage,
    comparison: step.comparison ?? null,
    started_at: step.started_at,
    finished_at: step.finished_at,
    duration_ms: step.duration_ms,
  };
}

export function presentTrace(trace: RunTrace) {
  return { run_id: trace.run.id, replay_of: trace.run.replay_of, steps: trace.steps.map(presentStep) };
}

/** The plan as the orchestrator takes it: params exactly as sent (no DTO transformation), defaults applied (name: the skill's). */
export function toStepSpecs(rawSteps: unknown, validated: StepDto[]): StepSpec[] {
  const raw = Array.isArray(rawSteps) ? (rawSteps as Array<{ params?: Record<string, unknown> }>) : [];
  return validated.map((step, i) => ({
    name: step.name ?? step.skill,
    skill: step.skill,
    params: raw[i]?.params ?? {},
    replay_behavior: step.replay_behavior ?? 'execute',
    idempotency_key: step.idempotency_key ?? null,
  }));
}

/** The ReplayBatch object of the contract; the replay options as sent, through the one redaction function. */
export function presentBatch(batch: ReplayBatchView) {
  return {
    id: batch.id,
    status: batch.status,
    total: batch.total,
    counts: batch.counts,
    filter: batch.filter,
    replay: redactValue(batch.replay),
    created_at: batch.created_at,
    finished_at: batch.finished_at,
  };
}

/** An item of a batch: `status` is its replay run's, or (none, or purged since) its verdict. */
export function presentBatchItem(item: BatchItemView) {
  const verdict = verdictOf(item.state);
  return {
    run_id: item.run_id,
    replay_run_id: item.replay_run_id,
    status: item.replay_status ?? verdict,
    verdict,
    first_mismatch_step: item.first_mismatch_step,
    reason: item.reason,
  };
}
