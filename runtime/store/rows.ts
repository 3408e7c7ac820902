/**
 * Table rows to domain objects, and the arrival-history queries and sums, shared by both stores.
 * Numbers may arrive as strings (BIGINT).
 */
import { ArrivalHistory, busyBySlot, GroupSample, SAMPLED_BOT_STATES, SlotCounts, SlotSample } from '../domain/history';
import type { Bot } from '../domain/bot';
import type { GroupState, ProvisioningError } from '../domain/group';
import type { GroupGate } from '../domain/transitions';
import { FINAL_RUN_STATES, Run, RunListing } from '../domain/run';
import type { EnqueueInput, HistoryPage, HistoryQuery, QueueCounts } from './types';
import type { RunEnd } from '../domain/transitions';
import type { AuditEntry, AuditRecord } from '../domain/audit';
import { storableOptional, storableText } from '../domain/text';

type Row = Record<string, any>;

function opt<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

/** Known states as an SQL list, e.g. `'busy', 'idle'`; never user input. */
export function sqlList(states: readonly string[]): string {
  return states.map((s) => `'${s}'`).join(', ');
}

/** The final run states as an SQL list, for both stores' retention. */
export const FINAL_STATES_SQL = sqlList(FINAL_RUN_STATES);

/**
 * Claim order: the latest move to the top first, then high priority before normal, then first in,
 * first out. Each store's claim takes the same order in two index-backed steps.
 */
export const QUEUE_ORDER = 'moved_to_top_at IS NULL, moved_to_top_at DESC, priority ASC, seq ASC';

/** The columns of a run but its data, for lists (see RunListing). */
export const RUN_LISTING_COLUMNS =
  'seq, id, grp, flow, priority, state, attempts, created_by, idempotency_key, timeout_minutes, enqueued_at, queued_at, started_at, finished_at, ' +
  'moved_to_top_at, last_heartbeat_at, cancel_requested, bot_id, vm_name, exit_code, error_code';

/** A statement and its values, the placeholders written by the store's dialect. */
export interface Statement {
  readonly text: string;
  readonly values: unknown[];
}

/**
 * The statements of a history page (see Store.runHistory), for either store: `placeholder(n)` is
 * the dialect's n-th parameter (`?` or `$n`).
 *
 * - `window`: the runs a page may read, in index order: the group's (or its creator's, or a
 *   single state's) runs before the cursor, newest first, at most `scan`;
 * - `page`: the window's runs that match the other filters, at most `limit + 1` (one more tells
 *   the page is full);
 * - `extent(fromSeq)`: how many of the window's runs a page read down to `fromSeq`, and the oldest
 *   one's ID, from the index alone.
 */
export function historyStatements(q: { group: string; states?: readonly string[]; limit: number; before?: string; createdBy?: string; scan: number }, placeholder: (n: number) => string) {
  const build = (parts: (p: (v: unknown) => string) => string): Statement => {
    const values: unknown[] = [];
    const p = (v: unknown) => {
      values.push(v);
      return placeholder(values.length);
    };
    return { text: parts(p), values };
  };
  const states = q.states ?? [];
  // The index decides the window: a creator's runs, a single state's, or the group's.
  const stateIndexed = states.length === 1 && q.createdBy === undefined;
  const windowWhere = (p: (v: unknown) => string, fromSeq?: number) =>
    [
      `grp = ${p(q.group)}`,
      ...(q.createdBy !== undefined ? [`created_by = ${p(q.createdBy)}`] : []),
      ...(stateIndexed ? [`state = ${p(states[0])}`] : []),
      ...(q.before !== undefined ? [`seq < (SELECT seq FROM runs WHERE id = ${p(q.before)})`] : []),
      ...(fromSeq !== undefined ? [`seq >= ${p(fromSeq)}`] : []),
    ].join(' AND ');
  const residual = (p: (v: unknown) => string) => (!stateIndexed && states.length > 0 ? `WHERE state IN (${states.map((s) => p(s)).join(', ')})` : '');
  return {
    page: build((p) => {
      const where = windowWhere(p);
      return `SELECT ${RUN_LISTING_COLUMNS} FROM (SELECT ${RUN_LISTING_COLUMNS} FROM runs WHERE ${where} ORDER BY seq DESC LIMIT ${p(q.scan)}) AS w ${residual(p)} ORDER BY seq DESC LIMIT ${p(q.limit + 1)}`;
    }),
    extent: (fromSeq?: number) =>
      build((p) => {
        const where = windowWhere(p, fromSeq);
        return `SELECT COUNT(*) AS n, MIN(seq) AS oldest FROM (SELECT seq FROM runs WHERE ${where} ORDER BY seq DESC LIMIT ${p(q.scan)}) AS w`;
      }),
  };
}

/**
 * A history page (Store.runHistory) through a store's `all`, which runs a statement and answers
 * its rows: the page, then from the index alone how much of the window it read and where the next
 * page starts.
 */
export async function readHistory(q: HistoryQuery, placeholder: (n: number) => string, all: (s: Statement) => Row[] | Promise<Row[]>): Promise<HistoryPage> {
  const statements = historyStatements(q, placeholder);
  const rows = await all(statements.page);
  if (rows.length > q.limit) {
    const page = rows.slice(0, q.limit);
    // Read down to the page's last run: the next page starts before it.
    const [extent] = await all(statements.extent(Number(page[page.length - 1].seq)));
    return { runs: page.map(rowToRunListing), next: page[page.length - 1].id, scanned: Number(extent.n) };
  }
  const [extent] = await all(statements.extent());
  const scanned = Number(extent.n);
  if (scanned < q.scan || extent.oldest == null) return { runs: rows.map(rowToRunListing), scanned };
  // The window ran out before the page filled: the next page starts before the window's oldest run.
  const [oldest] = await all({ text: `SELECT id FROM runs WHERE seq = ${placeholder(1)}`, values: [Number(extent.oldest)] });
  return { runs: rows.map(rowToRunListing), next: oldest.id, scanned };
}

/** An enqueue with its free text as the stores keep it (see storableText). */
export function storableEnqueue(input: EnqueueInput): EnqueueInput {
  return { ...input, flow: storableText(input.flow), createdBy: storableText(input.createdBy), idempotencyKey: storableOptional(input.idempotencyKey) };
}

/** A run's end with its free text (output, error code and message) as the stores keep it. */
export function storableEnd(end: RunEnd): RunEnd {
  return { ...end, output: storableOptional(end.output), errorCode: storableOptional(end.errorCode), errorMessage: storableOptional(end.errorMessage) };
}

/** A provisioning error with its text as the stores keep it. */
export function storableProvisioningError(error: ProvisioningError): ProvisioningError {
  return { ...error, operation: storableText(error.operation), code: storableText(error.code), message: storableText(error.message) };
}

export function rowToRunListing(r: Row): RunListing {
  return {
    id: r.id,
    group: r.grp,
    flow: r.flow,
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
    errorCode: opt(r.error_code),
  };
}

export function rowToRun(r: Row): Run {
  return { ...rowToRunListing(r), inputs: JSON.parse(r.inputs), output: opt(r.output), errorMessage: opt(r.error_message) };
}

export function rowToBot(r: Row): Bot {
  return {
    id: r.id,
    group: r.grp,
    vmName: opt(r.vm_name),
    vmId: opt(r.vm_id),
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

export function rowToProvisioningError(r: Row): ProvisioningError {
  return { group: r.grp, at: Number(r.at), operation: r.operation, code: r.code, message: r.message };
}

/** The columns of audit_records a store inserts, in order, and their values for an entry. */
export const AUDIT_COLUMNS = 'grp, at, actor, via, action, run_id, before_fields, after_fields';

export function auditValues(entry: AuditEntry): unknown[] {
  return [entry.group, entry.at, storableText(entry.actor), entry.via, entry.action, entry.runId ?? null, JSON.stringify(entry.before), JSON.stringify(entry.after)];
}

export function rowToAuditRecord(r: Row): AuditRecord {
  return {
    id: Number(r.id),
    group: r.grp,
    at: Number(r.at),
    actor: r.actor,
    via: r.via,
    action: r.action,
    ...(r.run_id == null ? {} : { runId: r.run_id as string }),
    before: JSON.parse(r.before_fields),
    after: JSON.parse(r.after_fields),
  };
}

/** The flags a claim or an enqueue reads, from a row with at least those columns. */
export function rowToGroupGate(r: Row): GroupGate {
  return {
    paused: Boolean(Number(r.paused)),
    expired: Boolean(Number(r.expired)),
    declared: Boolean(Number(r.declared)),
    claimLimit: r.claim_limit == null ? undefined : Number(r.claim_limit),
  };
}

export function rowToGroup(r: Row): GroupState {
  const gate = rowToGroupGate(r);
  return {
    name: r.name,
    paused: gate.paused,
    expired: gate.expired,
    declared: gate.declared,
    lastActivityAt: Number(r.last_activity_at),
    backoffUntil: r.backoff_until == null ? undefined : Number(r.backoff_until),
    backoffLevel: Number(r.backoff_level),
    claimLimit: gate.claimLimit,
    vmss: r.vmss ? JSON.parse(r.vmss) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Arrival history (table arrival_slots).

/**
 * Each group's earliest kept slot, joined with its slots from the window start (the parameter
 * `windowStart` names): one statement, so both come from one snapshot even while a sweep prunes.
 */
export function arrivalHistorySql(windowStart: '?' | '$1'): string {
  return `SELECT e.group_name, e.since, s.slot_start, s.arrivals, s.busy_seconds
FROM (SELECT group_name, MIN(slot_start) AS since FROM arrival_slots GROUP BY group_name) e
LEFT JOIN arrival_slots s ON s.group_name = e.group_name AND s.slot_start >= ${windowStart}`;
}

/** One group's arrivals by slot start, from rows of (slot_start, arrivals). */
export function rowsToArrivals(rows: readonly Row[]): Map<number, number> {
  return new Map(rows.map((r) => [Number(r.slot_start), Number(r.arrivals)]));
}

/** Each group's history from the rows of arrivalHistorySql(). */
export function rowsToHistory(rows: readonly Row[]): Record<string, ArrivalHistory> {
  const out: Record<string, { since: number; slots: Map<number, SlotCounts> }> = {};
  for (const r of rows) {
    const history = (out[r.group_name] ??= { since: Number(r.since), slots: new Map() });
    if (r.slot_start != null) history.slots.set(Number(r.slot_start), { arrivals: Number(r.arrivals), busySeconds: Number(r.busy_seconds) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Group samples (table group_samples).

/** The counted columns of group_samples, in one order: queued, running, then the bot states. */
export const SAMPLE_COLUMNS = ['queued', 'running', ...SAMPLED_BOT_STATES] as const;

/**
 * The upsert's conflict clause: each column keeps the larger of the stored and the new count.
 * CASE rather than MAX()/GREATEST(), which SQLite and PostgreSQL spell differently.
 */
export const SAMPLE_KEEP_MAX = `ON CONFLICT (group_name, slot_start) DO UPDATE SET ${SAMPLE_COLUMNS.map(
  (c) => `${c} = CASE WHEN excluded.${c} > group_samples.${c} THEN excluded.${c} ELSE group_samples.${c} END`,
).join(', ')}`;

/** A sample's counts in SAMPLE_COLUMNS order; a negative or fractional count is refused. */
export function sampleValues(sample: GroupSample): number[] {
  const values = [sample.queued, sample.running, ...SAMPLED_BOT_STATES.map((s) => sample.bots[s] ?? 0)];
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0) throw new Error(`group sample of ${sample.group}: ${SAMPLE_COLUMNS[i]} is ${v}; it must be a whole number of at least 0`);
  });
  return values;
}

/**
 * The samples as rows to write, one per group in group order (two writers then lock rows in one
 * order), a group given twice keeping the larger of each count, as the slot would.
 */
export function sampleRows(samples: readonly GroupSample[]): Array<{ group: string; values: number[] }> {
  const byGroup = new Map<string, number[]>();
  for (const sample of samples) {
    const values = sampleValues(sample);
    const seen = byGroup.get(sample.group);
    byGroup.set(sample.group, seen ? seen.map((v, i) => Math.max(v, values[i])) : values);
  }
  return [...byGroup.keys()].sort().map((group) => ({ group, values: byGroup.get(group)! }));
}

export function rowToSlotSample(r: Row): SlotSample {
  return {
    slot: Number(r.slot_start),
    queued: Number(r.queued),
    running: Number(r.running),
    bots: Object.fromEntries(SAMPLED_BOT_STATES.map((s) => [s, Number(r[s])])) as SlotSample['bots'],
  };
}

export interface BusySlot {
  readonly group: string;
  readonly slot: number;
  readonly seconds: number;
}

/**
 * The busy seconds of runs that ended after they started, summed per group and slot, in one
 * order (group, then slot), so transactions that add to the same rows lock them in that order.
 * Runs that never started add nothing.
 */
export function busySlots(runs: readonly Run[]): BusySlot[] {
  const sums = new Map<string, { group: string; slot: number; seconds: number }>();
  for (const run of runs) {
    if (run.startedAt === undefined || run.finishedAt === undefined) continue;
    for (const { slot, seconds } of busyBySlot(run.startedAt, run.finishedAt)) {
      const key = `${run.group}\u0000${slot}`;
      const sum = sums.get(key);
      if (sum) sum.seconds += seconds;
      else sums.set(key, { group: run.group, slot, seconds });
    }
  }
  return [...sums.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.slot - b.slot));
}

/** A group's counts with the oldest queued run's time, when the row has one (BIGINT may be a string). */
export function withOldest(counts: Omit<QueueCounts, 'oldestQueuedAt'>, oldest: unknown): QueueCounts {
  return oldest === null || oldest === undefined ? counts : { ...counts, oldestQueuedAt: Number(oldest) };
}

/** Queue counts from rows of (grp, state, n, oldest), one per group and state, in the rows' group order. */
export function countsOf(rows: readonly Row[]): QueueCounts[] {
  const counts = new Map<string, QueueCounts>();
  for (const r of rows) {
    const c = counts.get(r.grp) ?? { group: r.grp as string, queued: 0, running: 0 };
    counts.set(r.grp, r.state === 'queued' ? withOldest({ ...c, queued: Number(r.n) }, r.oldest) : { ...c, running: Number(r.n) });
  }
  return [...counts.values()];
}
