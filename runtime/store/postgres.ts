/**
 * The store for several runtime replicas: PostgreSQL through `pg`. It keeps the SQLite store's
 * semantics method for method; what SQLite gets from its one writer, this store gets from locks:
 *
 * - a bot row is locked (`FOR UPDATE`) by whatever changes it, so a claim and the idle → deleting
 *   move never both succeed, and queued runs are picked with `FOR UPDATE SKIP LOCKED`, so two
 *   claims never take one run nor wait for each other;
 * - every step that adds a live bot (createBots, bindVms, register) takes one transaction-level
 *   advisory lock, so the caps are counted by one replica at a time;
 * - enqueue holds its group row `FOR KEY SHARE`; the steps that must not miss a run being enqueued
 *   (expiring an idle group, cancelling a removed group's runs) lock the row `FOR UPDATE`;
 * - rows are locked bot before run everywhere, and a transaction that still deadlocks is retried;
 * - arrival history rows are written last in their transaction, in one order (group, slot), so
 *   they are held only until the commit and never taken in opposite orders.
 *
 * Each change of a group's queue sends `pg_notify`, delivered on commit; one dedicated connection
 * LISTENs and feeds `onQueueChange`.
 */
import { createHash } from 'crypto';
import { Client, ClientBase, ClientConfig, Pool, QueryResult, escapeIdentifier, escapeLiteral, types as pgTypes } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { MIGRATIONS } from './migrations';
import {
  AUDIT_COLUMNS, auditValues, rowToAuditRecord, arrivalHistorySql, busySlots, countsOf, rowsToArrivals, FINAL_STATES_SQL, QUEUE_ORDER, RUN_LISTING_COLUMNS, rowsToHistory, rowToBot, rowToGroup, rowToGroupGate, rowToProvisioningError, rowToRun, rowToRunListing,
  rowToSlotSample, SAMPLE_COLUMNS, SAMPLE_KEEP_MAX, sampleRows, storableEnd, storableEnqueue, storableProvisioningError, withOldest,
  readHistory,
} from './rows';
import { ArrivalHistory, GroupSample, historyKeepFrom, historyReadFrom, slotOf, SlotSample } from '../domain/history';
import type {
  AuditQuery, CancelResult, ClaimInput, ClaimResult, CompleteInput, CompleteResult, EnqueueInput, EnqueueResult, ForgetInput, ForgetResult, HeartbeatResult,
  ListedVm, NonceResult, QueueCounts, RegisterAs, RegisterResult, RunQuery, Store, SweepGroup, SweepResult,
  HistoryPage,
  HistoryQuery,
  PublishedGroupView,
  WebhookStore,
} from './types';
import { PostgresWebhooks } from './postgres-webhooks';
import { Actor, AuditEntry, auditEntry, AuditRecord } from '../domain/audit';
import type { Bot, BotState, Caps } from '../domain/bot';
import type { DeclaredGroup, GroupState, ProvisioningError } from '../domain/group';
import type { Priority, Run, RunListing } from '../domain/run';
import {
  botLost, botRoom, claimGate, decideCancel, decideComplete, decideHeartbeat, decideMoveToTop, decideRegister, decideReturn, enqueueRefusal,
  mayMarkDeleted, mayMarkDeleting, mayMarkFailed, newBot,
  groupHandsOut, groupInactive, groupOpen, groupRemoved, LOSABLE_BOT_STATES, Placement, placeVm, queueTimeout, RegistrationClaim, RunEnd, timedOut, userQueueFull,
} from '../domain/transitions';
import { newId } from './ids';
import { Log, silentLog } from '../log';

type Row = Record<string, any>;

/** The NOTIFY channel of one schema, so environments sharing a database never wake each other. */
export function queueChannel(schema: string): string {
  return `hosted_bots_queue_${createHash('sha256').update(schema).digest('hex').slice(0, 12)}`;
}

/** deadlock_detected, serialization_failure: the transaction did nothing and can run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_TX_ATTEMPTS = 5;
const LISTENER_BACKOFF_MS = { first: 250, max: 30_000 };

/** BIGINT (millisecond times, counts) as numbers, for this pool only; they stay below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pgTypes.builtins.INT8 && format !== 'binary' ? (value: string) => Number(value) : pgTypes.getTypeParser(oid, format as 'text')) as typeof pgTypes.getTypeParser,
};

export interface PostgresStoreOptions {
  /** e.g. `postgresql://bots@db.internal:5432/bots`. */
  readonly connectionString: string;
  /**
   * The schema that holds the tables; created if missing. Every pooled connection gets it as its
   * search_path, so several environments (or tests) can share one database.
   * @default 'public'
   */
  readonly schema?: string;
  /** Connections in the pool; the LISTEN connection comes on top. @default 10 */
  readonly poolSize?: number;
  /** Where lost listener connections and broken idle connections are reported. @default silent */
  readonly log?: Log;
  /**
   * The password of each new connection, asked for when the server asks for one: an Entra ID access
   * token for Azure Database for PostgreSQL, which lives about an hour, so that every connection
   * gets a fresh one. @default the connection string's password
   */
  readonly password?: () => Promise<string>;
}

/**
 * Where and how to connect. `pg` lets a connection string's fields override the rest of its
 * config (pg/lib/connection-parameters.js), and a URL without a password would turn a password
 * function into an empty password: with one, the URL is parsed here and the function put last.
 */
function connectionConfig(options: PostgresStoreOptions): ClientConfig {
  if (!options.password) return { connectionString: options.connectionString };
  return { ...parseIntoClientConfig(options.connectionString), password: options.password };
}

/** One transaction: its queries, and the groups whose queue it changed. */
interface Tx {
  q(text: string, values?: unknown[]): Promise<QueryResult<Row>>;
  notify(group: string): void;
}

/** A 64-bit advisory lock key, per schema so environments sharing a database never contend. */
function lockKey(schema: string, purpose: string): string {
  return createHash('sha256').update(`hosted-bots:${schema}:${purpose}`).digest().readBigInt64BE(0).toString();
}

function first(result: QueryResult<Row>): Row | undefined {
  return result.rows[0];
}

/** SQLite reads a negative LIMIT as no limit; PostgreSQL rejects it, and reads NULL that way. */
function noLimitIfNegative(limit: number): number | null {
  return limit < 0 ? null : limit;
}

const bySeq = (a: Row, b: Row) => Number(a.seq) - Number(b.seq);

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: Pool;
  private readonly schema: string;
  private readonly channel: string;
  private readonly keys: { migrate: string; caps: string; moveToTop: string };
  private readonly log: Log;
  readonly webhooks: WebhookStore;

  private readonly listeners = new Set<(group: string) => void>();
  private listener?: Client;
  private listenerUp = false;
  private listenerStarted = false;
  private listenerBackoffMs = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private readyWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private closed = false;

  private constructor(private readonly options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'public';
    if (this.schema.length === 0) throw new Error('PostgresStore: schema must not be empty; leave it unset for "public"');
    this.channel = queueChannel(this.schema);
    this.log = options.log ?? silentLog;
    this.keys = { migrate: lockKey(this.schema, 'migrate'), caps: lockKey(this.schema, 'caps'), moveToTop: lockKey(this.schema, 'move-to-top') };
    const searchPath = `SET search_path TO ${escapeIdentifier(this.schema)}`;
    this.pool = new Pool({
      ...connectionConfig(options),
      max: options.poolSize ?? 10,
      types: TYPES,
      // Runs before the pool hands the connection out, so no query ever sees another schema.
      onConnect: async (client: ClientBase) => {
        await client.query(searchPath);
      },
    });
    // An idle connection that breaks (server restart) is dropped by the pool; without a handler
    // the error would end the process.
    this.pool.on('error', (err) => this.log('store.pool_error', { error: err.message }));
    this.webhooks = new PostgresWebhooks(
      (fn) => this.tx((t) => fn(t.q)),
      (text, values) => this.pool.query<Row>(text, values),
    );
  }

  /** Connects, creates the schema if needed and applies the pending migrations. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.migrate();
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    await this.tx(async (t) => {
      // Replicas starting together queue here; the second finds everything applied.
      await t.q('SELECT pg_advisory_xact_lock($1::bigint)', [this.keys.migrate]);
      if (!(await t.q('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema])).rowCount) {
        await t.q(`CREATE SCHEMA ${escapeIdentifier(this.schema)}`);
      }
      await t.q('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const applied = new Set((await t.q('SELECT version FROM schema_migrations')).rows.map((r) => Number(r.version)));
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await t.q(m.sql('postgres'));
        await t.q('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      }
    });
  }

  /**
   * Runs `fn` in one transaction on one pooled connection, sends its notifications just before
   * COMMIT (PostgreSQL delivers them only if it commits), and runs it again after a deadlock.
   */
  private async tx<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(fn);
      if (outcome.ok) return outcome.value;
      const code = (outcome.error as { code?: string } | undefined)?.code;
      if (!code || !RETRYABLE.has(code) || attempt >= MAX_TX_ATTEMPTS) throw outcome.error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }

  private async attempt<T>(fn: (t: Tx) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    const client = await this.pool.connect();
    const groups = new Set<string>();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await fn({ q: (text, values) => client.query<Row>(text, values), notify: (group) => groups.add(group) });
      // Sent with COMMIT in one round trip; if a notify fails, the COMMIT after it does not run.
      const notify = [...groups].map((g) => `SELECT pg_notify('${this.channel}', ${escapeLiteral(g)});`).join(' ');
      await client.query(`${notify} COMMIT`);
      return { ok: true, value };
    } catch (error) {
      // A connection that cannot even roll back is discarded rather than returned to the pool.
      await client.query('ROLLBACK').catch((err: Error) => (broken = err));
      return { ok: false, error };
    } finally {
      client.release(broken);
    }
  }

  /** One statement outside BEGIN … COMMIT: PostgreSQL runs it as its own transaction. */
  private async query(text: string, values?: unknown[]): Promise<Row[]> {
    return (await this.pool.query<Row>(text, values)).rows;
  }

  /** Writes a change's audit record, when it changed anything (see auditEntry), in its transaction. */
  private async audit(t: Tx, entry: AuditEntry | undefined): Promise<void> {
    if (entry) await t.q(`INSERT INTO audit_records (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, auditValues(entry));
  }

  /**
   * A group's row as a change of its flags finds it, locked against other such changes; NO KEY
   * UPDATE lets enqueues (KEY SHARE) go on meanwhile.
   */
  private async lockGroup(t: Tx, name: string): Promise<GroupState | undefined> {
    const r = first(await t.q('SELECT * FROM groups WHERE name = $1 FOR NO KEY UPDATE', [name]));
    return r && rowToGroup(r);
  }

  /** A bot's row, locked until the transaction ends; a claim or a scale-in holding it is waited for. */
  private async lockBot(t: Tx, id: string): Promise<Bot | undefined> {
    const row = first(await t.q('SELECT * FROM bots WHERE id = $1 FOR UPDATE', [id]));
    return row && rowToBot(row);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(new Error('the store was closed'));
    const listener = this.listener;
    this.listener = undefined;
    if (listener) await listener.end().catch(() => undefined);
    await this.pool.end();
  }

  // ------------------------------------------------------------------ notifications

  onQueueChange(listener: (group: string) => void): () => void {
    this.listeners.add(listener);
    if (!this.listenerStarted && !this.closed) {
      this.listenerStarted = true;
      this.connectListener(false);
    }
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Resolves once the LISTEN connection is up (it opens on the first `onQueueChange`), so a
   * caller can tell that notifications from other replicas will reach it from now on.
   */
  listening(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the store was closed'));
    if (this.listenerUp) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private connectListener(reconnect: boolean): void {
    if (this.closed) return;
    const client = new Client({
      ...connectionConfig(this.options),
      application_name: `hosted-bots listener (${this.schema})`.slice(0, 63),
    });
    this.listener = client;
    let dropped = false;
    const drop = (err: Error) => {
      if (dropped) return;
      dropped = true;
      this.listenerUp = false;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.listener === client) this.listener = undefined;
      if (this.closed) return;
      this.listenerBackoffMs = Math.min(this.listenerBackoffMs ? this.listenerBackoffMs * 2 : LISTENER_BACKOFF_MS.first, LISTENER_BACKOFF_MS.max);
      this.log('store.listener_lost', { error: err.message, retryInMs: this.listenerBackoffMs });
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        this.connectListener(true);
      }, this.listenerBackoffMs);
    };
    client.on('error', drop);
    client.on('end', () => drop(new Error('the LISTEN connection ended')));
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload) this.emit(message.payload);
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${this.channel}`))
      .then(async () => {
        if (dropped || this.closed) return;
        this.listenerUp = true;
        this.listenerBackoffMs = 0;
        for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
        // Notifications sent while the connection was down are lost: wake every group once.
        if (reconnect) {
          await this.query('SELECT name FROM groups').then(
            (rows) => rows.forEach((g) => this.emit(g.name)),
            (err: Error) => this.log('store.listener_wake_failed', { error: err.message }),
          );
        }
      }, drop);
  }

  private emit(group: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(group);
      } catch (err) {
        this.log('store.listener_failed', { group, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  // ------------------------------------------------------------------ groups

  syncGroups(declared: readonly DeclaredGroup[], now: number): Promise<void> {
    return this.tx(async (t) => {
      await t.q('UPDATE groups SET declared = 0 WHERE declared = 1 AND NOT (name = ANY($1::text[]))', [declared.map((g) => g.name)]);
      for (const g of declared) {
        await t.q(
          'INSERT INTO groups (name, last_activity_at, declared, vmss) VALUES ($1, $2, 1, $3) ON CONFLICT (name) DO UPDATE SET declared = 1, vmss = excluded.vmss',
          [g.name, now, JSON.stringify(g.vmss)],
        );
      }
      await t.q('DELETE FROM group_views WHERE group_name NOT IN (SELECT name FROM groups WHERE declared = 1)');
    });
  }

  async groups(): Promise<GroupState[]> {
    return (await this.query('SELECT * FROM groups ORDER BY name COLLATE "C"')).map(rowToGroup);
  }

  setPaused(group: string, paused: boolean, now: number, actor: Actor): Promise<GroupState | undefined> {
    return this.tx(async (t) => {
      const before = await this.lockGroup(t, group);
      const r = first(await t.q('UPDATE groups SET paused = $1 WHERE name = $2 RETURNING *', [paused ? 1 : 0, group]));
      if (r) t.notify(group);
      const after = r ? rowToGroup(r) : undefined;
      await this.audit(t, auditEntry(paused ? 'pause' : 'resume', before, after, actor, now));
      return after;
    });
  }

  revive(group: string, now: number, actor: Actor): Promise<GroupState | undefined> {
    return this.tx(async (t) => {
      const before = await this.lockGroup(t, group);
      const r = first(await t.q('UPDATE groups SET expired = 0, paused = 0, last_activity_at = $1 WHERE name = $2 RETURNING *', [now, group]));
      if (r) t.notify(group);
      const after = r ? rowToGroup(r) : undefined;
      await this.audit(t, auditEntry('resume', before, after, actor, now));
      return after;
    });
  }

  async setBackoff(group: string, until: number | undefined, level: number): Promise<void> {
    await this.query('UPDATE groups SET backoff_until = $1, backoff_level = $2 WHERE name = $3', [until ?? null, level, group]);
  }

  setClaimLimits(limits: Readonly<Record<string, number | undefined>>): Promise<void> {
    return this.tx(async (t) => {
      for (const [group, limit] of Object.entries(limits)) {
        // Only a limit that changed wakes waiting claims; the leader rewrites them every cycle.
        const changed = await t.q('UPDATE groups SET claim_limit = $1::integer WHERE name = $2 AND claim_limit IS DISTINCT FROM $1::integer', [limit ?? null, group]);
        if (changed.rowCount) t.notify(group);
      }
    });
  }

  async recordProvisioningError(given: ProvisioningError): Promise<void> {
    const error = storableProvisioningError(given);
    await this.query('INSERT INTO provisioning_errors (grp, at, operation, code, message) VALUES ($1, $2, $3, $4, $5)', [
      error.group,
      error.at,
      error.operation,
      error.code,
      error.message,
    ]);
  }

  async provisioningErrors(group: string, limit: number): Promise<ProvisioningError[]> {
    return (await this.query('SELECT * FROM provisioning_errors WHERE grp = $1 ORDER BY id DESC LIMIT $2', [group, noLimitIfNegative(limit)])).map(rowToProvisioningError);
  }

  // ------------------------------------------------------------------ runs

  enqueue(given: EnqueueInput): Promise<EnqueueResult> {
    const input = storableEnqueue(given);
    return this.tx(async (t): Promise<EnqueueResult> => {
      // KEY SHARE lets enqueues run side by side but holds off a sweep that would expire the group.
      const g = first(await t.q('SELECT declared, expired, paused, claim_limit FROM groups WHERE name = $1 FOR KEY SHARE', [input.group]));
      const refusal = enqueueRefusal(g && rowToGroupGate(g));
      if (refusal === 'group_unknown') return { kind: 'refused', reason: refusal };
      const existing = () =>
        t.q('SELECT * FROM runs WHERE grp = $1 AND created_by = $2 AND idempotency_key = $3', [input.group, input.createdBy, input.idempotencyKey]).then(first);
      if (input.idempotencyKey !== undefined) {
        const found = await existing();
        if (found) return { kind: 'existing', run: rowToRun(found) };
      }
      if (refusal) return { kind: 'refused', reason: refusal };
      if (input.maxQueuedPerUser !== undefined) {
        // One enqueue per group and principal counts at a time, so replicas cannot both pass the limit.
        await t.q('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(this.schema, `queued-by:${input.group}:${input.createdBy}`)]);
        const queued = Number(first(await t.q(`SELECT COUNT(*) AS n FROM runs WHERE grp = $1 AND created_by = $2 AND state = 'queued'`, [input.group, input.createdBy]))!.n);
        if (userQueueFull(queued, input.maxQueuedPerUser)) return { kind: 'refused', reason: 'user_queue_full', queued };
      }
      const inserted = first(
        await t.q(
          `INSERT INTO runs (id, grp, flow, inputs, priority, state, created_by, idempotency_key, timeout_minutes, enqueued_at, queued_at)
           VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $9)
           ON CONFLICT (grp, created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
           RETURNING *`,
          [input.id, input.group, input.flow, JSON.stringify(input.inputs ?? {}), input.priority, input.createdBy, input.idempotencyKey ?? null, input.timeoutMinutes, input.now],
        ),
      );
      if (!inserted) {
        // Another replica committed the same key between our look and our insert.
        const found = await existing();
        if (found) return { kind: 'existing', run: rowToRun(found) };
        throw new Error(`enqueue of run ${input.id}: the idempotency key conflicted but no run holds it`);
      }
      await this.recordActivity(t, input.group, input.now);
      await t.q(
        `INSERT INTO arrival_slots (group_name, slot_start, arrivals, busy_seconds) VALUES ($1, $2, 1, 0)
         ON CONFLICT (group_name, slot_start) DO UPDATE SET arrivals = arrival_slots.arrivals + 1`,
        [input.group, slotOf(input.now)],
      );
      t.notify(input.group);
      return { kind: 'created', run: rowToRun(inserted) };
    });
  }

  /** Adds the busy time of runs that ended to the arrival history, in one statement. */
  private async recordBusy(t: Tx, runs: readonly Run[]): Promise<void> {
    const slots = busySlots(runs);
    if (slots.length === 0) return;
    await t.q(
      `INSERT INTO arrival_slots (group_name, slot_start, arrivals, busy_seconds)
       SELECT g, s, 0, b FROM unnest($1::text[], $2::bigint[], $3::double precision[]) WITH ORDINALITY AS u(g, s, b, n) ORDER BY n
       ON CONFLICT (group_name, slot_start) DO UPDATE SET busy_seconds = arrival_slots.busy_seconds + excluded.busy_seconds`,
      [slots.map((b) => b.group), slots.map((b) => b.slot), slots.map((b) => b.seconds)],
    );
  }

  /** Activity only matters at the scale of minutes, so the group row is written once a minute at most. */
  private async recordActivity(t: Tx, group: string, now: number): Promise<void> {
    await t.q('UPDATE groups SET last_activity_at = $1 WHERE name = $2 AND last_activity_at < $1::bigint - 60000', [now, group]);
  }

  claim(input: ClaimInput): Promise<ClaimResult> {
    return this.tx(async (t): Promise<ClaimResult> => {
      // The bot row lock is what makes this and markDeleting mutually exclusive.
      const gate = claimGate(await this.lockBot(t, input.botId), input.group, input.enabled);
      if (gate.kind === 'gone') return { kind: 'gone', state: gate.state };
      const bot = gate.bot;
      await t.q('UPDATE bots SET last_seen_at = $1 WHERE id = $2', [input.now, bot.id]);
      if (gate.kind === 'none') return { kind: 'none' };
      const groupSql = 'SELECT paused, expired, declared, claim_limit FROM groups WHERE name = $1';
      const read = async (lock: string) => {
        const row = first(await t.q(`${groupSql}${lock}`, [input.group]));
        return row && rowToGroupGate(row);
      };
      let g = await read('');
      if (!groupOpen(g)) return { kind: 'none' };
      let busy: number | undefined;
      if (g.claimLimit !== undefined) {
        // Claims in a capped group take turns on its row, so two cannot both see room for one more.
        g = await read(' FOR NO KEY UPDATE');
        if (g?.claimLimit !== undefined) busy = Number(first(await t.q(`SELECT COUNT(*) AS n FROM bots WHERE grp = $1 AND state = 'busy'`, [input.group]))!.n);
      }
      if (!groupHandsOut(g, busy)) return { kind: 'none' };
      // Claim order in two index-backed steps: the latest move-to-top, else priority then FIFO.
      // SKIP LOCKED: a run another replica is taking is passed over, never waited for.
      const next =
        first(
          await t.q(
            `SELECT id FROM runs WHERE grp = $1 AND state = 'queued' AND moved_to_top_at IS NOT NULL
             ORDER BY moved_to_top_at DESC LIMIT 1 FOR UPDATE SKIP LOCKED`,
            [input.group],
          ),
        ) ??
        first(await t.q(`SELECT id FROM runs WHERE grp = $1 AND state = 'queued' ORDER BY priority ASC, seq ASC LIMIT 1 FOR UPDATE SKIP LOCKED`, [input.group]));
      if (!next) return { kind: 'none' };
      const run = first(
        await t.q(
          `UPDATE runs SET state = 'running', attempts = attempts + 1, started_at = $2, last_heartbeat_at = $2, bot_id = $3, vm_name = $4
           WHERE id = $1 AND state = 'queued' RETURNING *`,
          [next.id, input.now, bot.id, bot.vmName ?? null],
        ),
      )!;
      await t.q(`UPDATE bots SET state = 'busy', current_run_id = $2, state_changed_at = $3, last_seen_at = $3 WHERE id = $1 AND state = 'idle'`, [
        bot.id,
        run.id,
        input.now,
      ]);
      await this.recordActivity(t, input.group, input.now);
      t.notify(input.group);
      return { kind: 'claimed', run: rowToRun(run) };
    });
  }

  heartbeat(botId: string, runId: string, attempt: number, now: number): Promise<HeartbeatResult> {
    return this.tx(async (t): Promise<HeartbeatResult> => {
      const bot = await this.lockBot(t, botId);
      const r = first(await t.q('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [runId]));
      const decision = decideHeartbeat(r && rowToRun(r), bot, attempt);
      if (decision.seen) await t.q('UPDATE bots SET last_seen_at = $1 WHERE id = $2', [now, botId]);
      if (decision.beat) await t.q('UPDATE runs SET last_heartbeat_at = $1 WHERE id = $2', [now, runId]);
      return decision.reply;
    });
  }

  complete(input: CompleteInput): Promise<CompleteResult> {
    return this.tx(async (t): Promise<CompleteResult> => {
      const bot = await this.lockBot(t, input.botId);
      const r = first(await t.q('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [input.runId]));
      if (!r) return { kind: 'stale' };
      const run = rowToRun(r);
      const decision = decideComplete(run, bot, input);
      if (decision.kind === 'completed') {
        const done = await this.finishRun(t, run.id, decision.end, input.now);
        await this.releaseBot(t, input.botId, input.now);
        await this.recordBusy(t, [done]);
        t.notify(run.group);
        return { kind: 'completed', run: done };
      }
      if (decision.kind === 'duplicate') return { kind: 'duplicate', run };
      if (decision.releaseBot) await this.releaseBot(t, input.botId, input.now);
      return { kind: 'stale', run };
    });
  }

  private async releaseBot(t: Tx, botId: string, now: number): Promise<void> {
    await t.q(
      `UPDATE bots SET state = 'idle', current_run_id = NULL, state_changed_at = $2, last_seen_at = $2, runs_completed = runs_completed + 1
       WHERE id = $1 AND state = 'busy'`,
      [botId, now],
    );
  }

  /** Ends a run as decided. */
  private async finishRun(t: Tx, runId: string, decided: RunEnd, now: number): Promise<Run> {
    const end = storableEnd(decided);
    const r = first(
      await t.q(
        `UPDATE runs SET state = $2, finished_at = $3, exit_code = $4, output = $5, error_code = $6, error_message = $7,
         cancel_requested = GREATEST(cancel_requested, $8) WHERE id = $1 RETURNING *`,
        [runId, end.state, now, end.exitCode ?? null, end.output ?? null, end.errorCode ?? null, end.errorMessage ?? null, end.cancelRequested ? 1 : 0],
      ),
    );
    return rowToRun(r!);
  }

  cancel(runId: string, now: number, actor: Actor): Promise<CancelResult> {
    return this.tx(async (t): Promise<CancelResult> => {
      const r = first(await t.q('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [runId]));
      if (!r) return { kind: 'not_found' };
      const run = rowToRun(r);
      const decision = decideCancel(run);
      let result: Extract<CancelResult, { kind: 'cancelled' | 'cancel_requested' }>;
      if (decision.kind === 'cancelled') {
        result = { kind: 'cancelled', run: await this.finishRun(t, runId, decision.end, now) };
        t.notify(run.group);
      } else if (decision.kind === 'cancel_requested') {
        const asked = first(await t.q('UPDATE runs SET cancel_requested = 1 WHERE id = $1 RETURNING *', [runId]))!;
        result = { kind: 'cancel_requested', run: rowToRun(asked) };
      } else {
        return { kind: 'final', run };
      }
      await this.audit(t, auditEntry('cancel', run, result.run, actor, now));
      return result;
    });
  }

  setPriority(runId: string, priority: Priority, now: number, actor: Actor): Promise<Run | undefined> {
    return this.tx(async (t) => {
      const r = first(await t.q('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [runId]));
      if (!r) return undefined;
      const changed = first(await t.q(`UPDATE runs SET priority = $1 WHERE id = $2 AND state = 'queued' RETURNING *`, [priority, runId]));
      const after = rowToRun(changed ?? r);
      await this.audit(t, auditEntry('priority', rowToRun(r), after, actor, now));
      return after;
    });
  }

  moveToTop(runId: string, now: number, actor: Actor): Promise<Run | undefined> {
    return this.tx(async (t) => {
      // Moves take turns, so each is strictly later than any earlier one, even within a millisecond
      // and across replicas.
      await t.q('SELECT pg_advisory_xact_lock($1::bigint)', [this.keys.moveToTop]);
      const r = first(await t.q('SELECT * FROM runs WHERE id = $1', [runId]));
      if (!r) return undefined;
      const last = first(await t.q(`SELECT MAX(moved_to_top_at) AS t FROM runs WHERE state = 'queued' AND moved_to_top_at IS NOT NULL`))!;
      const at = decideMoveToTop(rowToRun(r), last.t == null ? undefined : Number(last.t), now);
      if (at === undefined) return rowToRun(r);
      // Still queued: a claim on another replica may have taken it since it was read.
      const moved = first(await t.q(`UPDATE runs SET moved_to_top_at = $1 WHERE id = $2 AND state = 'queued' RETURNING *`, [at, runId]));
      if (!moved) return rowToRun(first(await t.q('SELECT * FROM runs WHERE id = $1', [runId]))!);
      const after = rowToRun(moved);
      await this.audit(t, auditEntry('move-to-top', rowToRun(r), after, actor, now));
      return after;
    });
  }

  async getRun(runId: string): Promise<Run | undefined> {
    const [r] = await this.query('SELECT * FROM runs WHERE id = $1', [runId]);
    return r ? rowToRun(r) : undefined;
  }

  async queue(group: string, limit = -1, offset = 0): Promise<RunListing[]> {
    const rows = await this.query(`SELECT ${RUN_LISTING_COLUMNS} FROM runs WHERE grp = $1 AND state = 'queued' ORDER BY ${QUEUE_ORDER} LIMIT $2 OFFSET $3`, [group, noLimitIfNegative(limit), offset]);
    return rows.map(rowToRunListing);
  }

  async runs(query: RunQuery): Promise<RunListing[]> {
    const where = ['grp = $1'];
    const values: unknown[] = [query.group];
    if (query.states && query.states.length > 0) {
      values.push([...query.states]);
      where.push(`state = ANY($${values.length}::text[])`);
    }
    if (query.before) {
      values.push(query.before);
      where.push(`seq < (SELECT seq FROM runs WHERE id = $${values.length})`);
    }
    if (query.createdBy !== undefined) {
      values.push(query.createdBy);
      where.push(`created_by = $${values.length}`);
    }
    values.push(noLimitIfNegative(query.limit));
    return (await this.query(`SELECT ${RUN_LISTING_COLUMNS} FROM runs WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${values.length}`, values)).map(rowToRunListing);
  }

  runHistory(query: HistoryQuery): Promise<HistoryPage> {
    return readHistory(query, (n) => `$${n}`, (s) => this.query(s.text, s.values));
  }

  async queueCounts(cap?: number): Promise<QueueCounts[]> {
    if (cap === undefined) {
      // Queued groups first, then groups with only running runs: the SQLite store's order.
      const rows = await this.query(
        `SELECT grp, state, COUNT(*) AS n, MIN(queued_at) AS oldest FROM runs WHERE state IN ('queued', 'running') GROUP BY grp, state ORDER BY state, grp COLLATE "C"`,
      );
      return countsOf(rows);
    }
    // Counting at most `cap` per group keeps this O(groups × cap) however long the queues grow.
    const rows = await this.query(
      `SELECT g.name,
         (SELECT COUNT(*) FROM (SELECT 1 FROM runs WHERE grp = g.name AND state = 'queued' LIMIT $1) AS q) AS queued,
         (SELECT COUNT(*) FROM (SELECT 1 FROM runs WHERE grp = g.name AND state = 'running' LIMIT $1) AS r) AS running,
         (SELECT MIN(queued_at) FROM runs WHERE grp = g.name AND state = 'queued') AS oldest
       FROM groups g ORDER BY g.name COLLATE "C"`,
      [noLimitIfNegative(cap)],
    );
    return rows.map((r) => withOldest({ group: r.name as string, queued: Number(r.queued), running: Number(r.running) }, r.oldest)).filter((c) => c.queued > 0 || c.running > 0);
  }

  /** Re-queues or ends the run a lost or deleted bot (locked) was on, as decideReturn() says. */
  private async returnRun(t: Tx, bot: Bot, maxAttempts: number | undefined, now: number, out: { requeued: Run[]; failed: Run[] }): Promise<void> {
    const r = bot.currentRunId ? first(await t.q('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [bot.currentRunId])) : undefined;
    const run = r && rowToRun(r);
    const decision = decideReturn(run, bot, maxAttempts);
    if (decision.kind === 'none') return;
    if (decision.kind === 'end') {
      out.failed.push(await this.finishRun(t, run!.id, decision.end, now));
    } else {
      const requeued = first(
        await t.q(
          `UPDATE runs SET state = 'queued', queued_at = $2, bot_id = NULL, vm_name = NULL, started_at = NULL, last_heartbeat_at = NULL
           WHERE id = $1 AND state = 'running' RETURNING *`,
          [run!.id, now],
        ),
      )!;
      out.requeued.push(rowToRun(requeued));
    }
    t.notify(run!.group);
  }

  sweep(groups: readonly SweepGroup[], now: number): Promise<SweepResult> {
    return this.tx(async (t): Promise<SweepResult> => {
      const result = { expired: [] as Run[], timedOut: [] as Run[], requeued: [] as Run[], failedLost: [] as Run[], lostBots: [] as string[], expiredGroups: [] as string[] };
      for (const g of groups) {
        // A queue may be long: its expired runs are ended in one statement.
        const queue = queueTimeout(g, now);
        const expired = await t.q(
          `UPDATE runs SET state = $2, finished_at = $3, exit_code = NULL, output = NULL, error_code = $4, error_message = $5
           WHERE grp = $1 AND state = 'queued' AND queued_at < $6 RETURNING *`,
          [g.name, queue.end.state, now, queue.end.errorCode, queue.end.errorMessage, queue.queuedBefore],
        );
        if (expired.rows.length > 0) t.notify(g.name);
        result.expired.push(...expired.rows.sort(bySeq).map(rowToRun));

        const running = (await t.q(`SELECT * FROM runs WHERE grp = $1 AND state = 'running' ORDER BY seq`, [g.name])).rows.map(rowToRun);
        for (const run of running) {
          const end = timedOut(run, now);
          if (!end) continue;
          // Bot before run, the order complete() locks them in; then end it only if it is still the
          // same attempt, which the decision was made on.
          if (run.botId) await t.q('SELECT 1 FROM bots WHERE id = $1 FOR UPDATE', [run.botId]);
          const r = first(
            await t.q(
              `UPDATE runs SET cancel_requested = GREATEST(cancel_requested, $6), state = $7, finished_at = $2, exit_code = NULL, output = NULL,
               error_code = $5, error_message = $3
               WHERE id = $1 AND state = 'running' AND attempts = $4 RETURNING *`,
              [run.id, now, end.errorMessage, run.attempts, end.errorCode, end.cancelRequested ? 1 : 0, end.state],
            ),
          );
          if (!r) continue;
          result.timedOut.push(rowToRun(r));
          t.notify(g.name);
        }

        // The group's bots are few: read them unlocked, then lock the lost ones and decide again on
        // what a claim or heartbeat may have changed meanwhile.
        const bots = (await t.q(`SELECT * FROM bots WHERE grp = $1 AND state = ANY($2::text[]) ORDER BY created_at, id COLLATE "C"`, [g.name, [...LOSABLE_BOT_STATES]])).rows.map(rowToBot);
        const candidates = bots.filter((bot) => botLost(bot, g, now)).map((bot) => bot.id);
        const locked = candidates.length
          ? (await t.q(`SELECT * FROM bots WHERE id = ANY($1::text[]) ORDER BY created_at, id COLLATE "C" FOR UPDATE`, [candidates])).rows.map(rowToBot)
          : [];
        for (const bot of locked) {
          const lost = bot.group === g.name ? botLost(bot, g, now) : undefined;
          if (!lost) continue;
          await t.q(`UPDATE bots SET state = 'failed', failure_reason = $3, state_changed_at = $1 WHERE id = $2`, [now, bot.id, lost.failureReason]);
          result.lostBots.push(bot.id);
          await this.returnRun(t, bot, g.maxAttempts, now, { requeued: result.requeued, failed: result.failedLost });
        }

        if (await this.inactive(t, g, now, false)) {
          // Locked only now, to wait out an enqueue in flight; then look again.
          if (await this.inactive(t, g, now, true)) {
            await t.q('UPDATE groups SET expired = 1 WHERE name = $1', [g.name]);
            result.expiredGroups.push(g.name);
          }
        }
      }
      await this.recordBusy(t, [...result.timedOut, ...result.failedLost]);
      await t.q('DELETE FROM arrival_slots WHERE slot_start < $1', [historyKeepFrom(now)]);
      await t.q('DELETE FROM group_samples WHERE slot_start < $1', [historyKeepFrom(now)]);
      return result;
    });
  }

  /** Whether the sweep expires a group now (see groupInactive). */
  private async inactive(t: Tx, g: SweepGroup, now: number, lock: boolean): Promise<boolean> {
    const row = first(await t.q(`SELECT expired, last_activity_at FROM groups WHERE name = $1${lock ? ' FOR UPDATE' : ''}`, [g.name]));
    // A statement of its own, after the lock: its snapshot then sees a run enqueued meanwhile.
    const live = first(
      await t.q(`SELECT EXISTS (SELECT 1 FROM runs WHERE grp = $1 AND state = 'queued') OR EXISTS (SELECT 1 FROM runs WHERE grp = $1 AND state = 'running') AS live`, [g.name]),
    )!;
    const group = row && { expired: Boolean(Number(row.expired)), lastActivityAt: Number(row.last_activity_at) };
    return groupInactive(group, g, Boolean(live.live), now);
  }

  forget(input: ForgetInput): Promise<ForgetResult> {
    return this.tx(async (t): Promise<ForgetResult> => {
      const runs = await t.q(
        `DELETE FROM runs WHERE seq IN (SELECT seq FROM runs WHERE finished_at IS NOT NULL AND finished_at < $1 AND state IN (${FINAL_STATES_SQL}) ORDER BY finished_at LIMIT $2)`,
        [input.runsFinishedBefore, input.limit],
      );
      const keys = await t.q(`UPDATE runs SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND enqueued_at < $1`, [input.idempotencyKeysBefore]);
      const audit = await t.q(`DELETE FROM audit_records WHERE id IN (SELECT id FROM audit_records WHERE at < $1 ORDER BY at LIMIT $2)`, [input.auditRecordsBefore, input.limit]);
      return { runs: runs.rowCount ?? 0, keys: keys.rowCount ?? 0, audit: audit.rowCount ?? 0 };
    });
  }

  async auditRecords(query: AuditQuery): Promise<AuditRecord[]> {
    const rows =
      query.before === undefined
        ? await this.query('SELECT * FROM audit_records WHERE grp = $1 ORDER BY id DESC LIMIT $2', [query.group, noLimitIfNegative(query.limit)])
        : await this.query('SELECT * FROM audit_records WHERE grp = $1 AND id < $2 ORDER BY id DESC LIMIT $3', [query.group, query.before, noLimitIfNegative(query.limit)]);
    return rows.map(rowToAuditRecord);
  }

  cancelRemovedGroupRuns(groups: readonly string[], now: number): Promise<Run[]> {
    return this.tx(async (t) => {
      const cancelled: Run[] = [];
      for (const group of groups) {
        const end = groupRemoved(group);
        // Waits out an enqueue that saw the group still declared, so its run is cancelled too.
        await t.q('SELECT 1 FROM groups WHERE name = $1 FOR UPDATE', [group]);
        const rows = await t.q(
          `UPDATE runs SET state = $4, finished_at = $2, exit_code = NULL, output = NULL, error_code = $5, error_message = $3
           WHERE grp = $1 AND state = 'queued' RETURNING *`,
          [group, now, end.errorMessage, end.state, end.errorCode],
        );
        if (rows.rows.length > 0) t.notify(group);
        cancelled.push(...rows.rows.sort(bySeq).map(rowToRun));
      }
      return cancelled;
    });
  }

  async arrivalHistory(now: number): Promise<Record<string, ArrivalHistory>> {
    return rowsToHistory(await this.query(arrivalHistorySql('$1'), [historyReadFrom(now)]));
  }

  async arrivals(group: string, from: number, to: number): Promise<Map<number, number>> {
    return rowsToArrivals(await this.query('SELECT slot_start, arrivals FROM arrival_slots WHERE group_name = $1 AND slot_start >= $2 AND slot_start < $3', [group, from, to]));
  }

  /** All groups in one statement, in group order, so two writers never lock rows crosswise. */
  async recordGroupSamples(samples: readonly GroupSample[], now: number): Promise<void> {
    const rows = sampleRows(samples);
    if (rows.length === 0) return;
    const arrays = SAMPLE_COLUMNS.map((_, i) => rows.map((r) => r.values[i]));
    await this.query(
      `INSERT INTO group_samples (group_name, slot_start, ${SAMPLE_COLUMNS.join(', ')})
       SELECT g, $2::bigint, ${SAMPLE_COLUMNS.map((c) => `u.${c}`).join(', ')}
       FROM unnest($1::text[], ${SAMPLE_COLUMNS.map((_, i) => `$${i + 3}::int[]`).join(', ')}) WITH ORDINALITY AS u(g, ${SAMPLE_COLUMNS.join(', ')}, n) ORDER BY n
       ${SAMPLE_KEEP_MAX}`,
      [rows.map((r) => r.group), slotOf(now), ...arrays],
    );
  }

  async groupSamples(group: string, from: number, to: number): Promise<SlotSample[]> {
    return (await this.query('SELECT * FROM group_samples WHERE group_name = $1 AND slot_start >= $2 AND slot_start < $3 ORDER BY slot_start', [group, from, to])).map(rowToSlotSample);
  }

  async warmUpAccounts(): Promise<Record<string, string>> {
    return Object.fromEntries((await this.query('SELECT group_name, account FROM warm_up_accounts')).map((r) => [r.group_name as string, r.account as string]));
  }

  /** All groups in one statement, in group order, so two writers never lock rows crosswise. */
  async saveWarmUpAccounts(accounts: Readonly<Record<string, string>>, now: number): Promise<void> {
    const entries = Object.entries(accounts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return;
    await this.query(
      `INSERT INTO warm_up_accounts (group_name, account, updated_at)
       SELECT u.g, u.a, $3::bigint FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(g, a, n) ORDER BY n
       ON CONFLICT (group_name) DO UPDATE SET account = EXCLUDED.account, updated_at = EXCLUDED.updated_at`,
      [entries.map(([g]) => g), entries.map(([, a]) => a), now],
    );
  }

  /** All groups in one statement, in group order, like saveWarmUpAccounts; undeclared groups are left out. */
  async publishGroupViews(views: Readonly<Record<string, string>>, now: number): Promise<void> {
    const entries = Object.entries(views).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return;
    await this.query(
      `INSERT INTO group_views (group_name, view, published_at)
       SELECT u.g, u.v, $3::bigint FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(g, v, n)
       WHERE EXISTS (SELECT 1 FROM groups WHERE name = u.g AND declared = 1) ORDER BY n
       ON CONFLICT (group_name) DO UPDATE SET view = EXCLUDED.view, published_at = EXCLUDED.published_at`,
      [entries.map(([g]) => g), entries.map(([, v]) => v), now],
    );
  }

  async publishedGroupView(group: string): Promise<PublishedGroupView | undefined> {
    const row = (await this.query('SELECT view, published_at FROM group_views WHERE group_name = $1', [group]))[0];
    return row ? { view: row.view as string, publishedAt: Number(row.published_at) } : undefined;
  }

  // ------------------------------------------------------------------ bots

  async bots(group?: string): Promise<Bot[]> {
    const rows = group
      ? await this.query(`SELECT * FROM bots WHERE grp = $1 AND state <> 'deleted' ORDER BY created_at, id COLLATE "C"`, [group])
      : await this.query(`SELECT * FROM bots WHERE state <> 'deleted' ORDER BY created_at, id COLLATE "C"`);
    return rows.map(rowToBot);
  }

  async getBot(botId: string): Promise<Bot | undefined> {
    const [r] = await this.query('SELECT * FROM bots WHERE id = $1', [botId]);
    return r ? rowToBot(r) : undefined;
  }

  /**
   * Every step that adds a live bot takes this lock first, so the live bots it counts cannot grow
   * behind its back on another replica until it commits.
   */
  private async lockCaps(t: Tx): Promise<void> {
    await t.q('SELECT pg_advisory_xact_lock($1::bigint)', [this.keys.caps]);
  }

  private async room(t: Tx, group: string, caps: Caps): Promise<number> {
    const r = first(await t.q(`SELECT COUNT(*) FILTER (WHERE grp = $1) AS in_group, COUNT(*) AS total FROM bots WHERE state <> 'deleted'`, [group]))!;
    return botRoom(caps, { inGroup: Number(r.in_group), total: Number(r.total) });
  }

  private async insertBot(t: Tx, group: string, vm: ListedVm | null, imageKey: string, now: number): Promise<Bot> {
    const bot = newBot({ id: newId('bot'), group, vmName: vm?.name, vmId: vm?.vmId, imageKey, now });
    const r = first(
      await t.q(
        `INSERT INTO bots (id, grp, vm_name, vm_id, state, created_at, state_changed_at, image_key)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING *`,
        [bot.id, bot.group, bot.vmName ?? null, bot.vmId ?? null, bot.state, bot.createdAt, bot.imageKey],
      ),
    );
    return rowToBot(r!);
  }

  /** Where a VM no live bot holds goes (see placeVm); a provisioning bot it binds to is locked. */
  private async placement(t: Tx, group: string, caps: Caps): Promise<Placement> {
    const free = first(
      await t.q(`SELECT * FROM bots WHERE grp = $1 AND state = 'provisioning' AND vm_name IS NULL ORDER BY created_at, id COLLATE "C" LIMIT 1 FOR UPDATE`, [group]),
    );
    return placeVm(free && rowToBot(free), await this.room(t, group, caps));
  }

  createBots(group: string, count: number, imageKey: string, caps: Caps, now: number): Promise<Bot[]> {
    return this.tx(async (t) => {
      await this.lockCaps(t);
      const n = Math.min(count, await this.room(t, group, caps));
      const created: Bot[] = [];
      for (let i = 0; i < n; i++) created.push(await this.insertBot(t, group, null, imageKey, now));
      return created;
    });
  }

  bindVms(group: string, vms: readonly ListedVm[], imageKey: string, caps: Caps, now: number): Promise<{ bound: Bot[]; unplaced: string[] }> {
    return this.tx(async (t) => {
      await this.lockCaps(t);
      const bound: Bot[] = [];
      const unplaced: string[] = [];
      for (const vm of vms) {
        // A vmId another live bot holds is never copied to a second one.
        const vmId = vm.vmId !== undefined && !(await t.q(`SELECT 1 FROM bots WHERE vm_id = $1 AND state <> 'deleted'`, [vm.vmId])).rowCount ? vm.vmId : undefined;
        const held = first(await t.q(`SELECT id, grp, vm_id FROM bots WHERE vm_name = $1 AND state <> 'deleted'`, [vm.name]));
        if (held) {
          if (held.grp === group && held.vm_id == null && vmId !== undefined) await t.q('UPDATE bots SET vm_id = $1 WHERE id = $2', [vmId, held.id]);
          continue;
        }
        const placement = await this.placement(t, group, caps);
        if (placement.kind === 'bind') {
          bound.push(rowToBot(first(await t.q('UPDATE bots SET vm_name = $1, vm_id = $2 WHERE id = $3 RETURNING *', [vm.name, vmId ?? null, placement.bot.id]))!));
        } else if (placement.kind === 'adopt') {
          bound.push(await this.insertBot(t, group, { name: vm.name, vmId }, imageKey, now));
        } else {
          unplaced.push(vm.name);
        }
      }
      return { bound, unplaced };
    });
  }

  register(group: string, as: RegisterAs, now: number, credentialHash: string): Promise<RegisterResult> {
    return this.tx(async (t): Promise<RegisterResult> => {
      let claim: RegistrationClaim;
      let found: Row | undefined;
      // The bot's row is locked, so a boot time-out (markFailed) cannot slip in between this look and the move to idle.
      if ('vmId' in as) {
        // Used up whatever the answer: a nonce proves one attempt.
        const used = ((await t.q('DELETE FROM registration_nonces WHERE nonce = $1 AND grp = $2 AND expires_at >= $3', [as.nonce, group, now])).rowCount ?? 0) > 0;
        claim = { kind: 'attested', vmId: as.vmId, nonceValid: used };
        found = first(await t.q(`SELECT * FROM bots WHERE vm_id = $1 AND state <> 'deleted' FOR UPDATE`, [as.vmId]));
      } else {
        claim = { kind: 'name', vmName: as.vmName };
        found = first(await t.q(`SELECT * FROM bots WHERE vm_name = $1 AND state <> 'deleted' FOR UPDATE`, [as.vmName]));
      }
      const decision = decideRegister(group, claim, found && rowToBot(found));
      if (decision.kind === 'refused') return { kind: 'refused', refusal: decision.refusal, reason: decision.reason };
      const updated = await t.q(
        `UPDATE bots SET state = 'idle', registered_at = $1, state_changed_at = $1, last_seen_at = $1, credential_hash = $3 WHERE id = $2 AND state = 'provisioning' RETURNING *`,
        [now, decision.bot.id, credentialHash],
      );
      return { kind: 'registered', bot: rowToBot(first(updated)!) };
    });
  }

  issueNonce(group: string, nonce: string, now: number, expiresAt: number, max: number): Promise<NonceResult> {
    return this.tx(async (t): Promise<NonceResult> => {
      // Serializes the count and the insert per group across replicas.
      await t.q('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(this.schema, `nonces:${group}`)]);
      await t.q('DELETE FROM registration_nonces WHERE grp = $1 AND expires_at < $2', [group, now]);
      const live = Number(first(await t.q('SELECT COUNT(*) AS n FROM registration_nonces WHERE grp = $1', [group]))!.n);
      if (live >= max) return { kind: 'full', live };
      const inserted = (await t.q('INSERT INTO registration_nonces (nonce, grp, expires_at) VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING', [nonce, group, expiresAt])).rowCount ?? 0;
      return inserted > 0 ? { kind: 'issued' } : { kind: 'taken' };
    });
  }

  async botByCredential(credentialHash: string): Promise<Bot | undefined> {
    const [row] = await this.query(`SELECT * FROM bots WHERE credential_hash = $1 AND state <> 'deleted'`, [credentialHash]);
    return row ? rowToBot(row) : undefined;
  }

  async touchBot(botId: string, now: number): Promise<void> {
    await this.query('UPDATE bots SET last_seen_at = $1 WHERE id = $2', [now, botId]);
  }

  markDeleting(botIds: readonly string[], from: readonly BotState[], now: number, idleBefore?: number): Promise<Bot[]> {
    return this.tx(async (t) => {
      const moved: Bot[] = [];
      for (const id of botIds) {
        // FOR UPDATE waits for a claim holding the row, then reads the state it left.
        const bot = await this.lockBot(t, id);
        if (!mayMarkDeleting(bot, from, idleBefore)) continue;
        moved.push(rowToBot(first(await t.q(`UPDATE bots SET state = 'deleting', state_changed_at = $2 WHERE id = $1 RETURNING *`, [id, now]))!));
      }
      return moved;
    });
  }

  markFailed(botIds: readonly string[], reason: string, now: number): Promise<Bot[]> {
    return this.tx(async (t) => {
      const failed: Bot[] = [];
      for (const id of botIds) {
        if (!mayMarkFailed(await this.lockBot(t, id))) continue;
        failed.push(rowToBot(first(await t.q(`UPDATE bots SET state = 'failed', failure_reason = $1, state_changed_at = $2 WHERE id = $3 RETURNING *`, [reason, now, id]))!));
      }
      return failed;
    });
  }

  markDeleted(botIds: readonly string[], now: number, maxAttemptsByGroup: Readonly<Record<string, number>>): Promise<void> {
    return this.tx(async (t) => {
      const ended: Run[] = [];
      for (const id of botIds) {
        const bot = await this.lockBot(t, id);
        if (!mayMarkDeleted(bot)) continue;
        await this.returnRun(t, bot, maxAttemptsByGroup[bot.group], now, { requeued: [], failed: ended });
        await t.q(`UPDATE bots SET state = 'deleted', current_run_id = NULL, state_changed_at = $1 WHERE id = $2`, [now, id]);
      }
      await this.recordBusy(t, ended);
    });
  }

  // ------------------------------------------------------------------ leadership

  async acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    // One statement: the conflicting row is locked and the condition checked on its latest version,
    // so of two replicas racing for a free lease exactly one gets a row back.
    const rows = await this.query(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at < $4
       RETURNING holder`,
      [name, holder, now + ttlMs, now],
    );
    return rows.length === 1 && rows[0].holder === holder;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
  }

  async leaseHolder(name: string, now: number): Promise<string | undefined> {
    const [row] = await this.query('SELECT holder, expires_at FROM leases WHERE name = $1', [name]);
    return row && Number(row.expires_at) >= now ? row.holder : undefined;
  }
}
