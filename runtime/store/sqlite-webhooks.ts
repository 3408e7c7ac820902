/** The webhook subscriptions and outbox in the SQLite store; each change is one BEGIN IMMEDIATE transaction. */
import type Database from 'better-sqlite3';
import type { Delivery, NewDelivery, Subscription } from '../domain/webhook';
import type { DeliveryOutcome, DeliveryQuery, NewSubscription, SecretRotation, WebhookStore } from './types';
import { DELIVERY_COLUMNS, deliveryValues, rowToDelivery, rowToSubscription, secretRotationSet, SUBSCRIPTION_COLUMNS, SUBSCRIPTION_SELECT, subscriptionValues } from './webhook-rows';
import { AUDIT_COLUMNS, auditValues, sqlList } from './rows';
import { Actor, auditEntry } from '../domain/audit';

type Row = Record<string, any>;

export class SqliteWebhooks implements WebhookStore {
  constructor(
    private readonly db: Database.Database,
    private readonly tx: <T>(fn: () => T) => Promise<T>,
  ) {}

  private read<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private insertDelivery(d: NewDelivery): number {
    return this.db
      .prepare(`INSERT INTO webhook_deliveries (${DELIVERY_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = ?)
                ON CONFLICT (subscription_id, event_key) DO NOTHING`)
      .run(...deliveryValues(d)).changes;
  }

  /** Writes a change's audit record, in its transaction. */
  private audit(entry: ReturnType<typeof auditEntry>): void {
    if (entry) this.db.prepare(`INSERT INTO audit_records (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(...auditValues(entry));
  }

  createSubscription(s: NewSubscription, actor?: Actor): Promise<void> {
    return this.tx(() => {
      this.db.prepare(`INSERT INTO webhook_subscriptions (${SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...subscriptionValues(s));
      if (actor) this.audit(auditEntry('webhook-create', undefined, { ...s, waitAlerted: false }, actor, s.createdAt));
    });
  }

  subscriptions(group?: string) {
    return this.read(() => {
      const rows = group === undefined
        ? this.db.prepare(`${SUBSCRIPTION_SELECT} ORDER BY s.created_at, s.id`).all()
        : this.db.prepare(`${SUBSCRIPTION_SELECT} WHERE s.grp = ? ORDER BY s.created_at, s.id`).all(group);
      return (rows as Row[]).map(rowToSubscription);
    });
  }

  deleteSubscription(group: string, id: string, actor?: Actor, now = Date.now()): Promise<boolean> {
    return this.tx(() => {
      const row = this.db.prepare('SELECT * FROM webhook_subscriptions WHERE grp = ? AND id = ?').get(group, id) as Row | undefined;
      if (!row) return false;
      this.db.prepare('DELETE FROM webhook_subscriptions WHERE id = ?').run(id);
      if (actor) this.audit(auditEntry('webhook-delete', rowToSubscription(row), undefined, actor, now));
      return true;
    });
  }

  syncDeclaredSubscriptions(declared: readonly NewSubscription[], now = Date.now()): Promise<void> {
    return this.tx(() => {
      const keep = new Set(declared.map((d) => d.id));
      for (const r of this.db.prepare(`SELECT id FROM webhook_subscriptions WHERE source = 'manifest'`).all() as Row[]) {
        if (!keep.has(r.id)) this.db.prepare('DELETE FROM webhook_subscriptions WHERE id = ?').run(r.id);
      }
      const upsert = this.db.prepare(
        `INSERT INTO webhook_subscriptions (${SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, events = excluded.events, format = excluded.format, wait_above_minutes = excluded.wait_above_minutes,
           ${secretRotationSet('webhook_subscriptions', '?')}`,
      );
      for (const d of declared) upsert.run(...subscriptionValues(d), now);
    });
  }

  rotateDeclaredSecrets(secrets: ReadonlyArray<{ readonly id: string; readonly secret: string }>, now: number): Promise<string[]> {
    return this.tx(() => {
      const rotate = this.db.prepare(
        `UPDATE webhook_subscriptions SET previous_secret = secret, secret_replaced_at = ?, secret = ? WHERE id = ? AND source = 'manifest' AND secret <> ?`,
      );
      return secrets.filter((s) => rotate.run(now, s.secret, s.id, s.secret).changes > 0).map((s) => s.id);
    });
  }

  rotateSubscriptionSecret(group: string, id: string, rotation: SecretRotation): Promise<Subscription | undefined> {
    return this.tx(() => {
      const row = this.db.prepare(`SELECT * FROM webhook_subscriptions WHERE grp = ? AND id = ? AND source = 'api'`).get(group, id) as Row | undefined;
      if (!row) return undefined;
      this.db
        .prepare(`UPDATE webhook_subscriptions SET previous_secret = CASE WHEN ? = 1 THEN NULL ELSE secret END, secret_replaced_at = ?, secret = ? WHERE id = ?`)
        .run(rotation.revokePrevious ? 1 : 0, rotation.now, rotation.secret, id);
      const after = rowToSubscription(this.db.prepare('SELECT * FROM webhook_subscriptions WHERE id = ?').get(id) as Row);
      if (rotation.actor) this.audit(auditEntry('webhook-rotate-secret', rowToSubscription(row), after, rotation.actor, rotation.now));
      return after;
    });
  }

  enqueueDeliveries(deliveries: readonly NewDelivery[]): Promise<number> {
    return this.tx(() => deliveries.reduce((n, d) => n + this.insertDelivery(d), 0));
  }

  openWaitEpisode(subscriptionId: string, delivery: NewDelivery): Promise<boolean> {
    return this.tx(() => {
      const opened = this.db.prepare('UPDATE webhook_subscriptions SET wait_alerted = 1 WHERE id = ? AND wait_alerted = 0').run(subscriptionId).changes > 0;
      if (opened) this.insertDelivery(delivery);
      return opened;
    });
  }

  closeWaitEpisode(subscriptionId: string): Promise<boolean> {
    return this.tx(() => this.db.prepare('UPDATE webhook_subscriptions SET wait_alerted = 0 WHERE id = ? AND wait_alerted = 1').run(subscriptionId).changes > 0);
  }

  claimDeliveries(holder: string, now: number, leaseMs: number, limit: number): Promise<Delivery[]> {
    return this.tx(() => {
      const due = this.db
        .prepare(`SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id LIMIT ?`)
        .all(now, now, limit) as Row[];
      const lease = this.db.prepare('UPDATE webhook_deliveries SET lease_holder = ?, lease_until = ?, attempts = attempts + 1, last_attempt_at = ? WHERE id = ?');
      const read = this.db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?');
      return due.map((r) => {
        lease.run(holder, now + leaseMs, now, r.id);
        return rowToDelivery(read.get(r.id) as Row);
      });
    });
  }

  finishDelivery(id: string, holder: string, outcome: DeliveryOutcome): Promise<boolean> {
    return this.tx(() => {
      const changes =
        outcome.kind === 'delivered'
          ? this.db
              .prepare(`UPDATE webhook_deliveries SET state = 'delivered', finished_at = ?, lease_holder = NULL, lease_until = NULL WHERE id = ? AND state = 'pending'`)
              .run(outcome.now, id).changes
          : outcome.kind === 'retry'
            ? this.db
                .prepare(`UPDATE webhook_deliveries SET next_attempt_at = ?, last_failure_at = ?, last_error = ?, lease_holder = NULL, lease_until = NULL
                          WHERE id = ? AND state = 'pending' AND lease_holder = ?`)
                .run(outcome.at, outcome.now, outcome.error, id, holder).changes
            : this.db
                .prepare(`UPDATE webhook_deliveries SET state = 'failed', finished_at = ?, last_failure_at = ?, last_error = ?, lease_holder = NULL, lease_until = NULL
                          WHERE id = ? AND state = 'pending' AND lease_holder = ?`)
                .run(outcome.now, outcome.now, outcome.error, id, holder).changes;
      return changes > 0;
    });
  }

  queuedEvents(subscriptionIds: readonly string[], eventKeys: readonly string[]): Promise<Set<string>> {
    return this.read(() => {
      if (subscriptionIds.length === 0 || eventKeys.length === 0) return new Set<string>();
      const marks = (n: number) => Array(n).fill('?').join(', ');
      const rows = this.db
        .prepare(`SELECT subscription_id, event_key FROM webhook_deliveries WHERE subscription_id IN (${marks(subscriptionIds.length)}) AND event_key IN (${marks(eventKeys.length)})`)
        .all(...subscriptionIds, ...eventKeys) as Row[];
      return new Set(rows.map((r) => `${r.subscription_id} ${r.event_key}`));
    });
  }

  deliveries(query: DeliveryQuery): Promise<Delivery[]> {
    return this.read(() => {
      const states = query.states?.length ? ` AND state IN (${sqlList(query.states)})` : '';
      const failing = query.failing ? ' AND last_failure_at IS NOT NULL' : '';
      const rows = this.db.prepare(`SELECT * FROM webhook_deliveries WHERE grp = ?${states}${failing} ORDER BY created_at DESC, id DESC LIMIT ?`).all(query.group, query.limit);
      return (rows as Row[]).map(rowToDelivery);
    });
  }

  forgetDeliveries(before: number, limit: number): Promise<number> {
    return this.tx(
      () =>
        this.db
          .prepare(`DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE finished_at IS NOT NULL AND finished_at < ? ORDER BY finished_at LIMIT ?)`)
          .run(before, limit).changes,
    );
  }
}
