/**
 * The embedded store: SQLite through better-sqlite3 12.x, in WAL mode. Each state change runs in
 * one `BEGIN IMMEDIATE` transaction, so concurrent writers (a second process on the same file)
 * wait for the lock instead of failing half-way. With WAL and synchronous=NORMAL a killed
 * process loses no committed transaction.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations';
import type {
  AuditQuery, CancelResult, ClaimInput, ClaimResult, CompleteInput, CompleteResult, EnqueueInput, EnqueueResult, ForgetInput, ForgetResult, HeartbeatResult,
  ListedVm, NonceResult, QueueCounts, RegisterAs, RegisterResult, RunQuery, Store, SweepGroup, SweepResult,
  HistoryPage,
  HistoryQuery,
  PublishedGroupView,
  WebhookStore,
} from './types';
import { SqliteWebhooks } from './sqlite-webhooks';
import { Actor, AuditEntry, auditEntry, AuditRecord } from '../domain/audit';
import { Bot, BotState, Caps } from '../domain/bot';
import type { DeclaredGroup, GroupState, ProvisioningError } from '../domain/group';
import type { Priority, Run, RunListing } from '../domain/run';
import { ArrivalHistory, GroupSample, historyKeepFrom, historyReadFrom, slotOf, SlotSample } from '../domain/history';
import {
  botLost, botRoom, claimGate, decideCancel, decideComplete, decideHeartbeat, decideMoveToTop, decideRegister, decideReturn, enqueueRefusal,
  mayMarkDeleted, mayMarkDeleting, mayMarkFailed, newBot,
  groupHandsOut, groupInactive, groupRemoved, LOSABLE_BOT_STATES, placeVm, queueTimeout, RegistrationClaim, RunEnd, timedOut, userQueueFull,
} from '../domain/transitions';
import { newId } from './ids';
import {
  AUDIT_COLUMNS, auditValues, rowToAuditRecord, arrivalHistorySql, busySlots, countsOf, rowsToArrivals, FINAL_STATES_SQL, QUEUE_ORDER, rowsToHistory, rowToBot, rowToGroup, rowToGroupGate, rowToProvisioningError, rowToRun, rowToRunListing,
  RUN_LISTING_COLUMNS, rowToSlotSample, SAMPLE_COLUMNS, SAMPLE_KEEP_MAX, sampleRows, sqlList, storableEnd, storableEnqueue, storableProvisioningError, withOldest,
  readHistory,
} from './rows';

type Row = Record<string, any>;

export interface SqliteStoreOptions {
  /** A file path, or ':memory:'. */
  readonly file: string;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmt: Record<string, Database.Statement>;
  readonly webhooks: WebhookStore;

  constructor(options: SqliteStoreOptions) {
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Checkpoint less often than the default 1,000 pages: each checkpoint syncs the disk, and
    // every run takes a few transactions. The WAL stays around 40 MB at most.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    this.transaction = this.db.transaction((fn: () => unknown) => fn());
    this.webhooks = new SqliteWebhooks(this.db, (fn) => this.tx(fn));
    const p = (sql: string) => this.db.prepare(sql);
    this.stmt = {
      runById: p('SELECT * FROM runs WHERE id = ?'),
      botById: p('SELECT * FROM bots WHERE id = ?'),
      groupByName: p('SELECT * FROM groups WHERE name = ?'),
      // Claim order in two index-backed steps: the latest move-to-top, else priority then FIFO.
      nextOnTop: p(`SELECT * FROM runs WHERE grp = ? AND state = 'queued' AND moved_to_top_at IS NOT NULL ORDER BY moved_to_top_at DESC LIMIT 1`),
      nextQueued: p(`SELECT * FROM runs WHERE grp = ? AND state = 'queued' ORDER BY priority ASC, seq ASC LIMIT 1`),
      busyCount: p(`SELECT COUNT(*) AS n FROM bots WHERE grp = ? AND state = 'busy'`),
      queuedBy: p(`SELECT COUNT(*) AS n FROM runs WHERE grp = ? AND created_by = ? AND state = 'queued'`),
      startRun: p(`UPDATE runs SET state = 'running', attempts = attempts + 1, started_at = @now, last_heartbeat_at = @now,
                   bot_id = @botId, vm_name = @vmName WHERE id = @id AND state = 'queued'`),
      occupyBot: p(`UPDATE bots SET state = 'busy', current_run_id = @runId, state_changed_at = @now, last_seen_at = @now
                    WHERE id = @id AND state = 'idle'`),
      touchBot: p('UPDATE bots SET last_seen_at = ? WHERE id = ?'),
      // Activity only matters at the scale of minutes (warm/cold, inactive groups): writing it at
      // most once a minute keeps the groups page out of most transactions.
      activity: p('UPDATE groups SET last_activity_at = @now WHERE name = @grp AND last_activity_at < @now - 60000'),
      releaseBot: p(`UPDATE bots SET state = 'idle', current_run_id = NULL, state_changed_at = @now, last_seen_at = @now,
                     runs_completed = runs_completed + @counted WHERE id = @id AND state = 'busy'`),
      requeue: p(`UPDATE runs SET state = 'queued', queued_at = @now, bot_id = NULL, vm_name = NULL, started_at = NULL,
                  last_heartbeat_at = NULL WHERE id = @id AND state = 'running'`),
      finishRun: p(`UPDATE runs SET state = @state, finished_at = @now, exit_code = @exitCode, output = @output,
                    error_code = @errorCode, error_message = @errorMessage, cancel_requested = MAX(cancel_requested, @cancel) WHERE id = @id`),
      liveInGroup: p(`SELECT COUNT(*) AS n FROM bots WHERE grp = ? AND state <> 'deleted'`),
      liveAll: p(`SELECT COUNT(*) AS n FROM bots WHERE state <> 'deleted'`),
      insertBot: p(`INSERT INTO bots (id, grp, vm_name, vm_id, state, created_at, state_changed_at, image_key, registered_at, last_seen_at)
                    VALUES (@id, @grp, @vmName, @vmId, @state, @now, @now, @imageKey, @registeredAt, @lastSeenAt)`),
      botByVm: p(`SELECT * FROM bots WHERE vm_name = ? AND state <> 'deleted'`),
      botByCredential: p(`SELECT * FROM bots WHERE credential_hash = ? AND state <> 'deleted'`),
      unboundProvisioning: p(`SELECT * FROM bots WHERE grp = ? AND state = 'provisioning' AND vm_name IS NULL ORDER BY created_at, id LIMIT 1`),
      arrival: p(`INSERT INTO arrival_slots (group_name, slot_start, arrivals, busy_seconds) VALUES (?, ?, 1, 0)
                  ON CONFLICT (group_name, slot_start) DO UPDATE SET arrivals = arrival_slots.arrivals + 1`),
      busy: p(`INSERT INTO arrival_slots (group_name, slot_start, arrivals, busy_seconds) VALUES (?, ?, 0, ?)
               ON CONFLICT (group_name, slot_start) DO UPDATE SET busy_seconds = arrival_slots.busy_seconds + excluded.busy_seconds`),
    };
  }

  private readonly statements = new Map<string, Database.Statement>();
  /** One transaction wrapper for every change; better-sqlite3 builds it once. */
  private readonly transaction: Database.Transaction<(fn: () => unknown) => unknown>;

  /** A prepared statement, compiled once per SQL text. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const applied = new Set(this.db.prepare('SELECT version FROM schema_migrations').all().map((r) => (r as Row).version as number));
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql('sqlite'));
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }).immediate();
    }
  }

  /** Runs `fn` in one BEGIN IMMEDIATE transaction. */
  private tx<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(this.transaction.immediate(fn) as T);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private read<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private run(id: string): Run | undefined {
    const r = this.stmt.runById.get(id) as Row | undefined;
    return r ? rowToRun(r) : undefined;
  }

  private bot(id: string): Bot | undefined {
    const r = this.stmt.botById.get(id) as Row | undefined;
    return r ? rowToBot(r) : undefined;
  }

  /** Ends a run as decided, and reads it back. */
  private finish(id: string, decided: RunEnd, now: number): Run {
    const end = storableEnd(decided);
    this.stmt.finishRun.run({
      id,
      now,
      state: end.state,
      exitCode: end.exitCode ?? null,
      output: end.output ?? null,
      errorCode: end.errorCode ?? null,
      errorMessage: end.errorMessage ?? null,
      cancel: end.cancelRequested ? 1 : 0,
    });
    return this.run(id)!;
  }

  private groupState(name: string): GroupState | undefined {
    const r = this.stmt.groupByName.get(name) as Row | undefined;
    return r ? rowToGroup(r) : undefined;
  }

  /** Writes a change's audit record, when it changed anything (see auditEntry), in its transaction. */
  private audit(entry: AuditEntry | undefined): void {
    if (entry) this.sql(`INSERT INTO audit_records (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(...auditValues(entry));
  }

  /** Adds the busy time of runs that ended to the arrival history. */
  private recordBusy(runs: readonly Run[]): void {
    for (const b of busySlots(runs)) this.stmt.busy.run(b.group, b.slot, b.seconds);
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** One process owns a SQLite file, and its own notifier already hears every change. */
  onQueueChange(): () => void {
    return () => undefined;
  }

  // ------------------------------------------------------------------ groups

  syncGroups(declared: readonly DeclaredGroup[], now: number): Promise<void> {
    return this.tx(() => {
      this.sql('UPDATE groups SET declared = 0').run();
      const upsert = this.sql(
        'INSERT INTO groups (name, last_activity_at, declared, vmss) VALUES (?, ?, 1, ?) ON CONFLICT (name) DO UPDATE SET declared = 1, vmss = excluded.vmss',
      );
      for (const g of declared) upsert.run(g.name, now, JSON.stringify(g.vmss));
      this.sql('DELETE FROM group_views WHERE group_name NOT IN (SELECT name FROM groups WHERE declared = 1)').run();
    });
  }

  groups(): Promise<GroupState[]> {
    return this.read(() => (this.sql('SELECT * FROM groups ORDER BY name').all() as Row[]).map(rowToGroup));
  }

  setPaused(group: string, paused: boolean, now: number, actor: Actor): Promise<GroupState | undefined> {
    return this.tx(() => {
      const before = this.groupState(group);
      this.sql('UPDATE groups SET paused = ? WHERE name = ?').run(paused ? 1 : 0, group);
      const after = this.groupState(group);
      this.audit(auditEntry(paused ? 'pause' : 'resume', before, after, actor, now));
      return after;
    });
  }

  revive(group: string, now: number, actor: Actor): Promise<GroupState | undefined> {
    return this.tx(() => {
      const before = this.groupState(group);
      this.sql('UPDATE groups SET expired = 0, paused = 0, last_activity_at = ? WHERE name = ?').run(now, group);
      const after = this.groupState(group);
      this.audit(auditEntry('resume', before, after, actor, now));
      return after;
    });
  }

  setBackoff(group: string, until: number | undefined, level: number): Promise<void> {
    return this.tx(() => {
      this.sql('UPDATE groups SET backoff_until = ?, backoff_level = ? WHERE name = ?').run(until ?? null, level, group);
    });
  }

  setClaimLimits(limits: Readonly<Record<string, number | undefined>>): Promise<void> {
    return this.tx(() => {
      const update = this.sql('UPDATE groups SET claim_limit = ? WHERE name = ?');
      for (const [group, limit] of Object.entries(limits)) update.run(limit ?? null, group);
    });
  }

  recordProvisioningError(given: ProvisioningError): Promise<void> {
    const error = storableProvisioningError(given);
    return this.tx(() => {
      this.sql('INSERT INTO provisioning_errors (grp, at, operation, code, message) VALUES (?, ?, ?, ?, ?)')
        .run(error.group, error.at, error.operation, error.code, error.message);
    });
  }

  provisioningErrors(group: string, limit: number): Promise<ProvisioningError[]> {
    return this.read(() => (this.sql('SELECT * FROM provisioning_errors WHERE grp = ? ORDER BY id DESC LIMIT ?').all(group, limit) as Row[]).map(rowToProvisioningError));
  }

  // ------------------------------------------------------------------ runs

  enqueue(given: EnqueueInput): Promise<EnqueueResult> {
    const input = storableEnqueue(given);
    return this.tx((): EnqueueResult => {
      const g = this.stmt.groupByName.get(input.group) as Row | undefined;
      const refusal = enqueueRefusal(g && rowToGroupGate(g));
      if (refusal === 'group_unknown') return { kind: 'refused', reason: refusal };
      if (input.idempotencyKey !== undefined) {
        const existing = this.sql('SELECT * FROM runs WHERE grp = ? AND created_by = ? AND idempotency_key = ?')
          .get(input.group, input.createdBy, input.idempotencyKey) as Row | undefined;
        if (existing) return { kind: 'existing', run: rowToRun(existing) };
      }
      if (refusal) return { kind: 'refused', reason: refusal };
      if (input.maxQueuedPerUser !== undefined) {
        const queued = Number((this.stmt.queuedBy.get(input.group, input.createdBy) as Row).n);
        if (userQueueFull(queued, input.maxQueuedPerUser)) return { kind: 'refused', reason: 'user_queue_full', queued };
      }
      this.sql(
          `INSERT INTO runs (id, grp, flow, inputs, priority, state, created_by, idempotency_key, timeout_minutes, enqueued_at, queued_at)
           VALUES (@id, @grp, @flow, @inputs, @priority, 'queued', @createdBy, @key, @timeout, @now, @now)`,
        )
        .run({
          id: input.id,
          grp: input.group,
          flow: input.flow,
          inputs: JSON.stringify(input.inputs ?? {}),
          priority: input.priority,
          createdBy: input.createdBy,
          key: input.idempotencyKey ?? null,
          timeout: input.timeoutMinutes,
          now: input.now,
        });
      this.stmt.activity.run({ now: input.now, grp: input.group });
      this.stmt.arrival.run(input.group, slotOf(input.now));
      return { kind: 'created', run: this.run(input.id)! };
    });
  }

  claim(input: ClaimInput): Promise<ClaimResult> {
    return this.tx((): ClaimResult => {
      const gate = claimGate(this.bot(input.botId), input.group, input.enabled);
      if (gate.kind === 'gone') return { kind: 'gone', state: gate.state };
      const bot = gate.bot;
      this.stmt.touchBot.run(input.now, bot.id);
      if (gate.kind === 'none') return { kind: 'none' };
      const row = this.stmt.groupByName.get(input.group) as Row | undefined;
      const g = row && rowToGroupGate(row);
      const busy = g?.claimLimit === undefined ? undefined : Number((this.stmt.busyCount.get(input.group) as Row).n);
      if (!groupHandsOut(g, busy)) return { kind: 'none' };
      const next = (this.stmt.nextOnTop.get(input.group) ?? this.stmt.nextQueued.get(input.group)) as Row | undefined;
      if (!next) return { kind: 'none' };
      this.stmt.startRun.run({ id: next.id, now: input.now, botId: bot.id, vmName: bot.vmName ?? null });
      this.stmt.occupyBot.run({ id: bot.id, runId: next.id, now: input.now });
      this.stmt.activity.run({ now: input.now, grp: input.group });
      return { kind: 'claimed', run: this.run(next.id)! };
    });
  }

  heartbeat(botId: string, runId: string, attempt: number, now: number): Promise<HeartbeatResult> {
    return this.tx((): HeartbeatResult => {
      const decision = decideHeartbeat(this.run(runId), this.bot(botId), attempt);
      if (decision.seen) this.stmt.touchBot.run(now, botId);
      if (decision.beat) this.sql('UPDATE runs SET last_heartbeat_at = ? WHERE id = ?').run(now, runId);
      return decision.reply;
    });
  }

  complete(input: CompleteInput): Promise<CompleteResult> {
    return this.tx((): CompleteResult => {
      const run = this.run(input.runId);
      const decision = decideComplete(run, this.bot(input.botId), input);
      if (!run) return { kind: 'stale' };
      if (decision.kind === 'completed') {
        const done = this.finish(run.id, decision.end, input.now);
        this.stmt.releaseBot.run({ id: input.botId, now: input.now, counted: 1 });
        this.recordBusy([done]);
        return { kind: 'completed', run: done };
      }
      if (decision.kind === 'duplicate') return { kind: 'duplicate', run };
      if (decision.releaseBot) this.stmt.releaseBot.run({ id: input.botId, now: input.now, counted: 1 });
      return { kind: 'stale', run };
    });
  }

  cancel(runId: string, now: number, actor: Actor): Promise<CancelResult> {
    return this.tx((): CancelResult => {
      const run = this.run(runId);
      if (!run) return { kind: 'not_found' };
      const decision = decideCancel(run);
      let result: Extract<CancelResult, { kind: 'cancelled' | 'cancel_requested' }>;
      if (decision.kind === 'cancelled') {
        result = { kind: 'cancelled', run: this.finish(runId, decision.end, now) };
      } else if (decision.kind === 'cancel_requested') {
        this.sql('UPDATE runs SET cancel_requested = 1 WHERE id = ?').run(runId);
        result = { kind: 'cancel_requested', run: this.run(runId)! };
      } else {
        return { kind: 'final', run };
      }
      this.audit(auditEntry('cancel', run, result.run, actor, now));
      return result;
    });
  }

  setPriority(runId: string, priority: Priority, now: number, actor: Actor): Promise<Run | undefined> {
    return this.tx(() => {
      const before = this.run(runId);
      this.sql(`UPDATE runs SET priority = ? WHERE id = ? AND state = 'queued'`).run(priority, runId);
      const after = this.run(runId);
      this.audit(auditEntry('priority', before, after, actor, now));
      return after;
    });
  }

  moveToTop(runId: string, now: number, actor: Actor): Promise<Run | undefined> {
    return this.tx(() => {
      const run = this.run(runId);
      if (!run) return undefined;
      const last = this.sql(`SELECT MAX(moved_to_top_at) AS t FROM runs WHERE state = 'queued'`).get() as Row;
      const at = decideMoveToTop(run, last.t == null ? undefined : Number(last.t), now);
      if (at === undefined) return run;
      this.sql(`UPDATE runs SET moved_to_top_at = ? WHERE id = ?`).run(at, runId);
      const moved = this.run(runId);
      this.audit(auditEntry('move-to-top', run, moved, actor, now));
      return moved;
    });
  }

  getRun(runId: string): Promise<Run | undefined> {
    return this.read(() => this.run(runId));
  }

  queue(group: string, limit = -1, offset = 0): Promise<RunListing[]> {
    return this.read(() =>
      (this.sql(`SELECT ${RUN_LISTING_COLUMNS} FROM runs WHERE grp = ? AND state = 'queued' ORDER BY ${QUEUE_ORDER} LIMIT ? OFFSET ?`).all(group, limit, offset) as Row[]).map(rowToRunListing),
    );
  }

  runs(query: RunQuery): Promise<RunListing[]> {
    return this.read(() => {
      const where = ['grp = @grp'];
      const params: Row = { grp: query.group, limit: query.limit };
      if (query.states && query.states.length > 0) {
        where.push(`state IN (${query.states.map((_, i) => `@s${i}`).join(', ')})`);
        query.states.forEach((s, i) => (params[`s${i}`] = s));
      }
      if (query.before) {
        where.push('seq < (SELECT seq FROM runs WHERE id = @before)');
        params.before = query.before;
      }
      if (query.createdBy !== undefined) {
        where.push('created_by = @createdBy');
        params.createdBy = query.createdBy;
      }
      return (this.sql(`SELECT ${RUN_LISTING_COLUMNS} FROM runs WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`).all(params) as Row[]).map(rowToRunListing);
    });
  }

  runHistory(query: HistoryQuery): Promise<HistoryPage> {
    return readHistory(query, () => '?', (s) => this.sql(s.text).all(...s.values) as Row[]);
  }

  queueCounts(cap?: number): Promise<QueueCounts[]> {
    return this.read(() => {
      if (cap === undefined) {
        // Two queries, so that each uses its partial index (SQLite does not match `IN` to them).
        const rows = [
          ...(this.sql(`SELECT grp, 'queued' AS state, COUNT(*) AS n, MIN(queued_at) AS oldest FROM runs WHERE state = 'queued' GROUP BY grp`).all() as Row[]),
          ...(this.sql(`SELECT grp, 'running' AS state, COUNT(*) AS n, NULL AS oldest FROM runs WHERE state = 'running' GROUP BY grp`).all() as Row[]),
        ];
        return countsOf(rows);
      }
      // Counting at most `cap` per group keeps this O(groups × cap) however long the queues grow.
      const groups = this.sql('SELECT name FROM groups').all() as Row[];
      const capped = this.sql(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM runs WHERE grp = ? AND state = ? LIMIT ?)`);
      const oldest = this.sql(`SELECT MIN(queued_at) AS t FROM runs WHERE grp = ? AND state = 'queued'`);
      return groups
        .map((g) => withOldest({ group: g.name as string, queued: Number((capped.get(g.name, 'queued', cap) as Row).n), running: Number((capped.get(g.name, 'running', cap) as Row).n) }, (oldest.get(g.name) as Row).t))
        .filter((c) => c.queued > 0 || c.running > 0);
    });
  }

  /** Re-queues or ends the run a lost or deleted bot was on, as decideReturn() says. */
  private returnRun(bot: Bot, maxAttempts: number | undefined, now: number, out: { requeued: Run[]; failed: Run[] }): void {
    const run = bot.currentRunId ? this.run(bot.currentRunId) : undefined;
    const decision = decideReturn(run, bot, maxAttempts);
    if (decision.kind === 'end') out.failed.push(this.finish(run!.id, decision.end, now));
    else if (decision.kind === 'requeue') {
      this.stmt.requeue.run({ id: run!.id, now });
      out.requeued.push(this.run(run!.id)!);
    }
  }

  sweep(groups: readonly SweepGroup[], now: number): Promise<SweepResult> {
    return this.tx((): SweepResult => {
      const result = { expired: [] as Run[], timedOut: [] as Run[], requeued: [] as Run[], failedLost: [] as Run[], lostBots: [] as string[], expiredGroups: [] as string[] };
      for (const g of groups) {
        const queue = queueTimeout(g, now);
        const stale = this.sql(`SELECT id FROM runs WHERE grp = ? AND state = 'queued' AND queued_at < ? ORDER BY seq`).all(g.name, queue.queuedBefore) as Row[];
        for (const r of stale) result.expired.push(this.finish(r.id, queue.end, now));

        const running = (this.sql(`SELECT * FROM runs WHERE grp = ? AND state = 'running' ORDER BY seq`).all(g.name) as Row[]).map(rowToRun);
        for (const run of running) {
          const end = timedOut(run, now);
          if (end) result.timedOut.push(this.finish(run.id, end, now));
        }

        const bots = (this.sql(`SELECT * FROM bots WHERE grp = ? AND state IN (${sqlList(LOSABLE_BOT_STATES)}) ORDER BY created_at, id`).all(g.name) as Row[]).map(rowToBot);
        for (const bot of bots) {
          const lost = botLost(bot, g, now);
          if (!lost) continue;
          this.sql(`UPDATE bots SET state = 'failed', failure_reason = ?, state_changed_at = ? WHERE id = ?`).run(lost.failureReason, now, bot.id);
          result.lostBots.push(bot.id);
          this.returnRun(bot, g.maxAttempts, now, { requeued: result.requeued, failed: result.failedLost });
        }

        const row = this.sql(
          `SELECT expired, last_activity_at,
             EXISTS (SELECT 1 FROM runs WHERE grp = @g AND state = 'queued') OR EXISTS (SELECT 1 FROM runs WHERE grp = @g AND state = 'running') AS live
           FROM groups WHERE name = @g`,
        ).get({ g: g.name }) as Row | undefined;
        const group = row && { expired: Boolean(Number(row.expired)), lastActivityAt: Number(row.last_activity_at) };
        if (groupInactive(group, g, Boolean(Number(row?.live)), now)) {
          this.sql('UPDATE groups SET expired = 1 WHERE name = ?').run(g.name);
          result.expiredGroups.push(g.name);
        }
      }
      this.recordBusy([...result.timedOut, ...result.failedLost]);
      this.sql('DELETE FROM arrival_slots WHERE slot_start < ?').run(historyKeepFrom(now));
      this.sql('DELETE FROM group_samples WHERE slot_start < ?').run(historyKeepFrom(now));
      return result;
    });
  }

  forget(input: ForgetInput): Promise<ForgetResult> {
    return this.tx((): ForgetResult => {
      const runs = this.sql(
        `DELETE FROM runs WHERE seq IN (SELECT seq FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? AND state IN (${FINAL_STATES_SQL}) ORDER BY finished_at LIMIT ?)`,
      ).run(input.runsFinishedBefore, input.limit).changes;
      const keys = this.sql(`UPDATE runs SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND enqueued_at < ?`).run(input.idempotencyKeysBefore).changes;
      const audit = this.sql(`DELETE FROM audit_records WHERE id IN (SELECT id FROM audit_records WHERE at < ? ORDER BY at LIMIT ?)`)
        .run(input.auditRecordsBefore, input.limit).changes;
      return { runs, keys, audit };
    });
  }

  auditRecords(query: AuditQuery): Promise<AuditRecord[]> {
    return this.read(() => {
      const rows = query.before === undefined
        ? this.sql('SELECT * FROM audit_records WHERE grp = ? ORDER BY id DESC LIMIT ?').all(query.group, query.limit)
        : this.sql('SELECT * FROM audit_records WHERE grp = ? AND id < ? ORDER BY id DESC LIMIT ?').all(query.group, query.before, query.limit);
      return (rows as Row[]).map(rowToAuditRecord);
    });
  }

  cancelRemovedGroupRuns(groups: readonly string[], now: number): Promise<Run[]> {
    return this.tx(() => {
      const cancelled: Run[] = [];
      for (const group of groups) {
        const end = groupRemoved(group);
        const queued = this.sql(`SELECT id FROM runs WHERE grp = ? AND state = 'queued'`).all(group) as Row[];
        for (const r of queued) cancelled.push(this.finish(r.id, end, now));
      }
      return cancelled;
    });
  }

  arrivalHistory(now: number): Promise<Record<string, ArrivalHistory>> {
    return this.read(() => rowsToHistory(this.sql(arrivalHistorySql('?')).all(historyReadFrom(now)) as Row[]));
  }

  arrivals(group: string, from: number, to: number): Promise<Map<number, number>> {
    return this.read(() => rowsToArrivals(this.sql('SELECT slot_start, arrivals FROM arrival_slots WHERE group_name = ? AND slot_start >= ? AND slot_start < ?').all(group, from, to) as Row[]));
  }

  recordGroupSamples(samples: readonly GroupSample[], now: number): Promise<void> {
    const insert = this.sql(
      `INSERT INTO group_samples (group_name, slot_start, ${SAMPLE_COLUMNS.join(', ')}) VALUES (?, ?, ${SAMPLE_COLUMNS.map(() => '?').join(', ')}) ${SAMPLE_KEEP_MAX}`,
    );
    return this.tx(() => {
      for (const r of sampleRows(samples)) insert.run(r.group, slotOf(now), ...r.values);
    });
  }

  groupSamples(group: string, from: number, to: number): Promise<SlotSample[]> {
    return this.read(() =>
      (this.sql('SELECT * FROM group_samples WHERE group_name = ? AND slot_start >= ? AND slot_start < ? ORDER BY slot_start').all(group, from, to) as Row[]).map(rowToSlotSample),
    );
  }

  warmUpAccounts(): Promise<Record<string, string>> {
    return this.read(() => Object.fromEntries((this.sql('SELECT group_name, account FROM warm_up_accounts').all() as Row[]).map((r) => [r.group_name as string, r.account as string])));
  }

  saveWarmUpAccounts(accounts: Readonly<Record<string, string>>, now: number): Promise<void> {
    const upsert = this.sql(
      'INSERT INTO warm_up_accounts (group_name, account, updated_at) VALUES (?, ?, ?) ON CONFLICT (group_name) DO UPDATE SET account = excluded.account, updated_at = excluded.updated_at',
    );
    return this.tx(() => {
      for (const [group, account] of Object.entries(accounts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) upsert.run(group, account, now);
    });
  }

  publishGroupViews(views: Readonly<Record<string, string>>, now: number): Promise<void> {
    const upsert = this.sql(
      `INSERT INTO group_views (group_name, view, published_at) SELECT name, ?, ? FROM groups WHERE name = ? AND declared = 1
       ON CONFLICT (group_name) DO UPDATE SET view = excluded.view, published_at = excluded.published_at`,
    );
    return this.tx(() => {
      for (const [group, view] of Object.entries(views).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) upsert.run(view, now, group);
    });
  }

  publishedGroupView(group: string): Promise<PublishedGroupView | undefined> {
    return this.read(() => {
      const row = this.sql('SELECT view, published_at FROM group_views WHERE group_name = ?').get(group) as Row | undefined;
      return row ? { view: row.view as string, publishedAt: Number(row.published_at) } : undefined;
    });
  }

  // ------------------------------------------------------------------ bots

  bots(group?: string): Promise<Bot[]> {
    return this.read(() => {
      const rows = group
        ? this.sql(`SELECT * FROM bots WHERE grp = ? AND state <> 'deleted' ORDER BY created_at, id`).all(group)
        : this.sql(`SELECT * FROM bots WHERE state <> 'deleted' ORDER BY created_at, id`).all();
      return (rows as Row[]).map(rowToBot);
    });
  }

  getBot(botId: string): Promise<Bot | undefined> {
    return this.read(() => this.bot(botId));
  }

  private room(group: string, caps: Caps): number {
    return botRoom(caps, { inGroup: Number((this.stmt.liveInGroup.get(group) as Row).n), total: Number((this.stmt.liveAll.get() as Row).n) });
  }

  /** Where a VM no live bot holds goes (see placeVm). */
  private placement(group: string, caps: Caps) {
    const free = this.stmt.unboundProvisioning.get(group) as Row | undefined;
    return placeVm(free && rowToBot(free), this.room(group, caps));
  }

  private insertBot(group: string, vm: ListedVm | null, imageKey: string, now: number): Bot {
    const bot = newBot({ id: newId('bot'), group, vmName: vm?.name, vmId: vm?.vmId, imageKey, now });
    this.stmt.insertBot.run({
      id: bot.id, grp: bot.group, vmName: bot.vmName ?? null, vmId: bot.vmId ?? null, state: bot.state, now: bot.createdAt, imageKey: bot.imageKey, registeredAt: null, lastSeenAt: null,
    });
    return this.bot(bot.id)!;
  }

  createBots(group: string, count: number, imageKey: string, caps: Caps, now: number): Promise<Bot[]> {
    return this.tx(() => {
      const n = Math.min(count, this.room(group, caps));
      return Array.from({ length: n }, () => this.insertBot(group, null, imageKey, now));
    });
  }

  bindVms(group: string, vms: readonly ListedVm[], imageKey: string, caps: Caps, now: number): Promise<{ bound: Bot[]; unplaced: string[] }> {
    return this.tx(() => {
      const bound: Bot[] = [];
      const unplaced: string[] = [];
      for (const vm of vms) {
        // A vmId another live bot holds is never copied to a second one.
        const vmId = vm.vmId !== undefined && !this.sql(`SELECT 1 FROM bots WHERE vm_id = ? AND state <> 'deleted'`).get(vm.vmId) ? vm.vmId : undefined;
        const held = this.stmt.botByVm.get(vm.name) as Row | undefined;
        if (held) {
          if (held.grp === group && held.vm_id == null && vmId !== undefined) this.sql('UPDATE bots SET vm_id = ? WHERE id = ?').run(vmId, held.id);
          continue;
        }
        const placement = this.placement(group, caps);
        if (placement.kind === 'bind') {
          this.sql('UPDATE bots SET vm_name = ?, vm_id = ? WHERE id = ?').run(vm.name, vmId ?? null, placement.bot.id);
          bound.push(this.bot(placement.bot.id)!);
        } else if (placement.kind === 'adopt') {
          bound.push(this.insertBot(group, { name: vm.name, vmId }, imageKey, now));
        } else {
          unplaced.push(vm.name);
        }
      }
      return { bound, unplaced };
    });
  }

  register(group: string, as: RegisterAs, now: number, credentialHash: string): Promise<RegisterResult> {
    return this.tx((): RegisterResult => {
      let claim: RegistrationClaim;
      let found: Row | undefined;
      if ('vmId' in as) {
        // Used up whatever the answer: a nonce proves one attempt.
        const used = this.sql('DELETE FROM registration_nonces WHERE nonce = ? AND grp = ? AND expires_at >= ?').run(as.nonce, group, now).changes > 0;
        claim = { kind: 'attested', vmId: as.vmId, nonceValid: used };
        found = this.sql(`SELECT * FROM bots WHERE vm_id = ? AND state <> 'deleted'`).get(as.vmId) as Row | undefined;
      } else {
        claim = { kind: 'name', vmName: as.vmName };
        found = this.stmt.botByVm.get(as.vmName) as Row | undefined;
      }
      const decision = decideRegister(group, claim, found && rowToBot(found));
      if (decision.kind === 'refused') return { kind: 'refused', refusal: decision.refusal, reason: decision.reason };
      this.sql(`UPDATE bots SET state = 'idle', registered_at = ?, state_changed_at = ?, last_seen_at = ?, credential_hash = ? WHERE id = ? AND state = 'provisioning'`)
        .run(now, now, now, credentialHash, decision.bot.id);
      return { kind: 'registered', bot: this.bot(decision.bot.id)! };
    });
  }

  issueNonce(group: string, nonce: string, now: number, expiresAt: number, max: number): Promise<NonceResult> {
    return this.tx((): NonceResult => {
      this.sql('DELETE FROM registration_nonces WHERE grp = ? AND expires_at < ?').run(group, now);
      const live = Number((this.sql('SELECT COUNT(*) AS n FROM registration_nonces WHERE grp = ?').get(group) as Row).n);
      if (live >= max) return { kind: 'full', live };
      const inserted = this.sql('INSERT INTO registration_nonces (nonce, grp, expires_at) VALUES (?, ?, ?) ON CONFLICT (nonce) DO NOTHING').run(nonce, group, expiresAt).changes;
      return inserted > 0 ? { kind: 'issued' } : { kind: 'taken' };
    });
  }

  botByCredential(credentialHash: string): Promise<Bot | undefined> {
    return this.read(() => {
      const row = this.stmt.botByCredential.get(credentialHash) as Row | undefined;
      return row ? rowToBot(row) : undefined;
    });
  }

  touchBot(botId: string, now: number): Promise<void> {
    return this.tx(() => {
      this.stmt.touchBot.run(now, botId);
    });
  }

  markDeleting(botIds: readonly string[], from: readonly BotState[], now: number, idleBefore?: number): Promise<Bot[]> {
    return this.tx(() => {
      const moved: Bot[] = [];
      for (const id of botIds) {
        if (!mayMarkDeleting(this.bot(id), from, idleBefore)) continue;
        this.sql(`UPDATE bots SET state = 'deleting', state_changed_at = ? WHERE id = ?`).run(now, id);
        moved.push(this.bot(id)!);
      }
      return moved;
    });
  }

  markFailed(botIds: readonly string[], reason: string, now: number): Promise<Bot[]> {
    return this.tx(() => {
      const failed: Bot[] = [];
      for (const id of botIds) {
        if (!mayMarkFailed(this.bot(id))) continue;
        this.sql(`UPDATE bots SET state = 'failed', failure_reason = ?, state_changed_at = ? WHERE id = ?`).run(reason, now, id);
        failed.push(this.bot(id)!);
      }
      return failed;
    });
  }

  markDeleted(botIds: readonly string[], now: number, maxAttemptsByGroup: Readonly<Record<string, number>>): Promise<void> {
    return this.tx(() => {
      const ended: Run[] = [];
      for (const id of botIds) {
        const bot = this.bot(id);
        if (!mayMarkDeleted(bot)) continue;
        this.returnRun(bot, maxAttemptsByGroup[bot.group], now, { requeued: [], failed: ended });
        this.sql(`UPDATE bots SET state = 'deleted', current_run_id = NULL, state_changed_at = ? WHERE id = ?`).run(now, id);
      }
      this.recordBusy(ended);
    });
  }

  // ------------------------------------------------------------------ leadership

  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    return this.tx(() => {
      this.sql(
          `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expires)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.holder = excluded.holder OR leases.expires_at < @now`,
        )
        .run({ name, holder, expires: now + ttlMs, now });
      const row = this.sql('SELECT holder FROM leases WHERE name = ?').get(name) as Row;
      return row.holder === holder;
    });
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return this.tx(() => {
      this.sql('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder);
    });
  }

  leaseHolder(name: string, now: number): Promise<string | undefined> {
    return this.read(() => {
      const row = this.sql('SELECT holder, expires_at FROM leases WHERE name = ?').get(name) as Row | undefined;
      return row && Number(row.expires_at) >= now ? row.holder : undefined;
    });
  }
}
