/**
 * The webhook subscriptions and outbox in the PostgreSQL store. Due deliveries are leased with
 * `FOR UPDATE SKIP LOCKED`, so replicas claiming at once take different ones and never wait for
 * each other; a wait episode opens with a conditional update, so one replica alone queues its alert.
 */
import type { QueryResult } from 'pg';
import type { Delivery, NewDelivery, Subscription } from '../domain/webhook';
import type { DeliveryOutcome, DeliveryQuery, NewSubscription, SecretRotation, WebhookStore } from './types';
import { AUDIT_COLUMNS, auditValues } from './rows';
import { Actor, auditEntry } from '../domain/audit';
import { DELIVERY_COLUMNS, deliveryValues, rowToDelivery, rowToSubscription, secretRotationSet, SUBSCRIPTION_COLUMNS, SUBSCRIPTION_SELECT, subscriptionValues } from './webhook-rows';

type Row = Record<string, any>;
type Query = (text: string, values?: unknown[]) => Promise<QueryResult<Row>>;

/** `$1, $2, …` from `from` on, `count` of them. */
const params = (count: number, from = 1) => Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');

export class PostgresWebhooks implements WebhookStore {
  constructor(
    /** Runs `fn` in one transaction (retried after a deadlock). */
    private readonly tx: <T>(fn: (q: Query) => Promise<T>) => Promise<T>,
    /** One statement on its own. */
    private readonly query: Query,
  ) {}

  private async insertDelivery(q: Query, d: NewDelivery): Promise<number> {
    const result = await q(
      `INSERT INTO webhook_deliveries (${DELIVERY_COLUMNS}) SELECT ${params(10)} WHERE EXISTS (SELECT 1 FROM webhook_subscriptions WHERE id = $11)
       ON CONFLICT (subscription_id, event_key) DO NOTHING`,
      deliveryValues(d),
    );
    return result.rowCount ?? 0;
  }

  /** Writes a change's audit record, in its transaction. */
  private async audit(q: Query, entry: ReturnType<typeof auditEntry>): Promise<void> {
    if (entry) await q(`INSERT INTO audit_records (${AUDIT_COLUMNS}) VALUES (${params(8)})`, auditValues(entry));
  }

  createSubscription(s: NewSubscription, actor?: Actor): Promise<void> {
    return this.tx(async (q) => {
      await q(`INSERT INTO webhook_subscriptions (${SUBSCRIPTION_COLUMNS}) VALUES (${params(10)})`, subscriptionValues(s));
      if (actor) await this.audit(q, auditEntry('webhook-create', undefined, { ...s, waitAlerted: false }, actor, s.createdAt));
    });
  }

  async subscriptions(group?: string) {
    const result = group === undefined
      ? await this.query(`${SUBSCRIPTION_SELECT} ORDER BY s.created_at, s.id`)
      : await this.query(`${SUBSCRIPTION_SELECT} WHERE s.grp = $1 ORDER BY s.created_at, s.id`, [group]);
    return result.rows.map(rowToSubscription);
  }

  deleteSubscription(group: string, id: string, actor?: Actor, now = Date.now()): Promise<boolean> {
    return this.tx(async (q) => {
      const row = (await q('DELETE FROM webhook_subscriptions WHERE grp = $1 AND id = $2 RETURNING *', [group, id])).rows[0];
      if (!row) return false;
      if (actor) await this.audit(q, auditEntry('webhook-delete', rowToSubscription(row), undefined, actor, now));
      return true;
    });
  }

  syncDeclaredSubscriptions(declared: readonly NewSubscription[], now = Date.now()): Promise<void> {
    return this.tx(async (q) => {
      await q(`DELETE FROM webhook_subscriptions WHERE source = 'manifest' AND NOT (id = ANY($1::text[]))`, [declared.map((d) => d.id)]);
      // In ID order, so replicas syncing at once lock the rows in one order.
      for (const d of [...declared].sort((a, b) => (a.id < b.id ? -1 : 1))) {
        await q(
          `INSERT INTO webhook_subscriptions (${SUBSCRIPTION_COLUMNS}) VALUES (${params(10)})
           ON CONFLICT (id) DO UPDATE SET url = excluded.url, events = excluded.events, format = excluded.format, wait_above_minutes = excluded.wait_above_minutes,
             ${secretRotationSet('webhook_subscriptions', '$11')}`,
          [...subscriptionValues(d), now],
        );
      }
    });
  }

  rotateDeclaredSecrets(secrets: ReadonlyArray<{ readonly id: string; readonly secret: string }>, now: number): Promise<string[]> {
    return this.tx(async (q) => {
      const rotated: string[] = [];
      // In ID order, as the sync locks them. A replica that waited on another's update of the row
      // compares with the secret that update wrote (READ COMMITTED re-checks the WHERE), so the
      // same new secret is rotated once.
      for (const s of [...secrets].sort((a, b) => (a.id < b.id ? -1 : 1))) {
        const result = await q(
          `UPDATE webhook_subscriptions SET previous_secret = secret, secret_replaced_at = $1, secret = $2 WHERE id = $3 AND source = 'manifest' AND secret <> $2`,
          [now, s.secret, s.id],
        );
        if ((result.rowCount ?? 0) > 0) rotated.push(s.id);
      }
      return rotated;
    });
  }

  rotateSubscriptionSecret(group: string, id: string, rotation: SecretRotation): Promise<Subscription | undefined> {
    return this.tx(async (q) => {
      // Locked, so two rotations at once take turns, and each keeps the secret the other made as its previous one.
      const row = (await q(`SELECT * FROM webhook_subscriptions WHERE grp = $1 AND id = $2 AND source = 'api' FOR UPDATE`, [group, id])).rows[0];
      if (!row) return undefined;
      const updated = await q(
        `UPDATE webhook_subscriptions SET previous_secret = CASE WHEN $1::boolean THEN NULL ELSE secret END, secret_replaced_at = $2, secret = $3 WHERE id = $4 RETURNING *`,
        [rotation.revokePrevious, rotation.now, rotation.secret, id],
      );
      const after = rowToSubscription(updated.rows[0]);
      if (rotation.actor) await this.audit(q, auditEntry('webhook-rotate-secret', rowToSubscription(row), after, rotation.actor, rotation.now));
      return after;
    });
  }

  enqueueDeliveries(deliveries: readonly NewDelivery[]): Promise<number> {
    return this.tx(async (q) => {
      let n = 0;
      for (const d of deliveries) n += await this.insertDelivery(q, d);
      return n;
    });
  }

  openWaitEpisode(subscriptionId: string, delivery: NewDelivery): Promise<boolean> {
    return this.tx(async (q) => {
      const opened = ((await q('UPDATE webhook_subscriptions SET wait_alerted = 1 WHERE id = $1 AND wait_alerted = 0', [subscriptionId])).rowCount ?? 0) > 0;
      if (opened) await this.insertDelivery(q, delivery);
      return opened;
    });
  }

  async closeWaitEpisode(subscriptionId: string): Promise<boolean> {
    return ((await this.query('UPDATE webhook_subscriptions SET wait_alerted = 0 WHERE id = $1 AND wait_alerted = 1', [subscriptionId])).rowCount ?? 0) > 0;
  }

  async claimDeliveries(holder: string, now: number, leaseMs: number, limit: number): Promise<Delivery[]> {
    const result = await this.query(
      `UPDATE webhook_deliveries SET lease_holder = $1, lease_until = $2, attempts = attempts + 1, last_attempt_at = $3
       WHERE id IN (
         SELECT id FROM webhook_deliveries
         WHERE state = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
         ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [holder, now + leaseMs, now, limit],
    );
    return result.rows.map(rowToDelivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
  }

  async finishDelivery(id: string, holder: string, outcome: DeliveryOutcome): Promise<boolean> {
    const result =
      outcome.kind === 'delivered'
        ? await this.query(`UPDATE webhook_deliveries SET state = 'delivered', finished_at = $1, lease_holder = NULL, lease_until = NULL WHERE id = $2 AND state = 'pending'`, [outcome.now, id])
        : outcome.kind === 'retry'
          ? await this.query(
              `UPDATE webhook_deliveries SET next_attempt_at = $1, last_failure_at = $2, last_error = $3, lease_holder = NULL, lease_until = NULL
               WHERE id = $4 AND state = 'pending' AND lease_holder = $5`,
              [outcome.at, outcome.now, outcome.error, id, holder],
            )
          : await this.query(
              `UPDATE webhook_deliveries SET state = 'failed', finished_at = $1, last_failure_at = $1, last_error = $2, lease_holder = NULL, lease_until = NULL
               WHERE id = $3 AND state = 'pending' AND lease_holder = $4`,
              [outcome.now, outcome.error, id, holder],
            );
    return (result.rowCount ?? 0) > 0;
  }

  async queuedEvents(subscriptionIds: readonly string[], eventKeys: readonly string[]): Promise<Set<string>> {
    if (subscriptionIds.length === 0 || eventKeys.length === 0) return new Set();
    const result = await this.query('SELECT subscription_id, event_key FROM webhook_deliveries WHERE subscription_id = ANY($1::text[]) AND event_key = ANY($2::text[])', [
      subscriptionIds,
      eventKeys,
    ]);
    return new Set(result.rows.map((r) => `${r.subscription_id} ${r.event_key}`));
  }

  async deliveries(query: DeliveryQuery): Promise<Delivery[]> {
    const states = query.states?.length ? ' AND state = ANY($3::text[])' : '';
    const failing = query.failing ? ' AND last_failure_at IS NOT NULL' : '';
    const values: unknown[] = [query.group, query.limit];
    if (states) values.push(query.states);
    const result = await this.query(`SELECT * FROM webhook_deliveries WHERE grp = $1${states}${failing} ORDER BY created_at DESC, id DESC LIMIT $2`, values);
    return result.rows.map(rowToDelivery);
  }

  async forgetDeliveries(before: number, limit: number): Promise<number> {
    const result = await this.query(
      `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE finished_at IS NOT NULL AND finished_at < $1 ORDER BY finished_at LIMIT $2)`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }
}
