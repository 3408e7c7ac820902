/**
 * Table rows to domain objects, shared by both stores. Numbers may arrive as strings (BIGINT).
 */
import type { Bot, GroupState, Run } from './types';

type Row = Record<string, any>;

function opt<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

export function rowToRun(r: Row): Run {
  return {
    id: r.id,
    group: r.grp,
    flow: r.flow,
    inputs: JSON.parse(r.inputs),
    priority: r.priority,
    state: r.state,
    attempts: Number(r.attempts),
    createdBy: r.created_by,
    idempotencyKey: opt(r.idempotency_key),
    timeoutMinutes: Number(r.timeout_minutes),
    enqueuedAt: Number(r.enqueued_at),
    queuedAt: Number(r.queued_at),
    startedAt: r.started_at == null ? undefined : Number(r.started_at),
    finishedAt: r.finished_at == null ? undefined : Number(r.finished_at),
    movedToTopAt: r.moved_to_top_at == null ? undefined : Number(r.moved_to_top_at),
    lastHeartbeatAt: r.last_heartbeat_at == null ? undefined : Number(r.last_heartbeat_at),
    cancelRequested: Boolean(Number(r.cancel_requested)),
    botId: opt(r.bot_id),
    vmName: opt(r.vm_name),
    exitCode: r.exit_code == null ? undefined : Number(r.exit_code),
    output: opt(r.output),
    errorCode: opt(r.error_code),
    errorMessage: opt(r.error_message),
  };
}

export function rowToBot(r: Row): Bot {
  return {
    id: r.id,
    group: r.grp,
    vmName: opt(r.vm_name),
    state: r.state,
    createdAt: Number(r.created_at),
    registeredAt: r.registered_at == null ? undefined : Number(r.registered_at),
    stateChangedAt: Number(r.state_changed_at),
    lastSeenAt: r.last_seen_at == null ? undefined : Number(r.last_seen_at),
    currentRunId: opt(r.current_run_id),
    runsCompleted: Number(r.runs_completed),
    imageKey: r.image_key,
    failureReason: opt(r.failure_reason),
  };
}

export function rowToGroup(r: Row): GroupState {
  return {
    name: r.name,
    paused: Boolean(Number(r.paused)),
    expired: Boolean(Number(r.expired)),
    declared: Boolean(Number(r.declared)),
    lastActivityAt: Number(r.last_activity_at),
    backoffUntil: r.backoff_until == null ? undefined : Number(r.backoff_until),
    backoffLevel: Number(r.backoff_level),
    claimLimit: r.claim_limit == null ? undefined : Number(r.claim_limit),
    vmss: r.vmss ? JSON.parse(r.vmss) : undefined,
  };
}
