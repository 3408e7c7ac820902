/**
 * Webhook rows to domain objects, and the SQL both stores share for them. Numbers may arrive as
 * strings (BIGINT), events as JSON text.
 */
import type { Delivery, NewDelivery, Subscription, SubscriptionHealth, WebhookEventType, WebhookFormat } from '../domain/webhook';
import type { NewSubscription } from './types';

type Row = Record<string, any>;

const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

export function rowToSubscription(r: Row): Subscription & { health: SubscriptionHealth } {
  return {
    id: r.id,
    group: r.grp,
    url: r.url,
    events: JSON.parse(r.events) as WebhookEventType[],
    format: r.format as WebhookFormat,
    secret: r.secret,
    previousSecret: r.previous_secret ?? undefined,
    secretReplacedAt: num(r.secret_replaced_at),
    waitAboveMinutes: num(r.wait_above_minutes),
    source: r.source,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    waitAlerted: Number(r.wait_alerted) === 1,
    health: { lastSuccessAt: num(r.last_success_at), lastFailureAt: num(r.last_failure_at), failing: Number(r.failing ?? 0) },
  };
}

export function rowToDelivery(r: Row): Delivery {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    group: r.grp,
    eventType: r.event_type,
    eventKey: r.event_key,
    body: r.body,
    state: r.state,
    attempts: Number(r.attempts),
    createdAt: Number(r.created_at),
    nextAttemptAt: Number(r.next_attempt_at),
    lastAttemptAt: num(r.last_attempt_at),
    lastFailureAt: num(r.last_failure_at),
    lastError: r.last_error ?? undefined,
    finishedAt: num(r.finished_at),
  };
}

/** A subscription with its health, read in one statement (`?` placeholders, the filter appended). */
export const SUBSCRIPTION_SELECT = `SELECT s.*,
  (SELECT MAX(d.finished_at) FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.state = 'delivered') AS last_success_at,
  (SELECT MAX(d.last_failure_at) FROM webhook_deliveries d WHERE d.subscription_id = s.id) AS last_failure_at,
  (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.subscription_id = s.id AND d.state <> 'delivered' AND d.last_failure_at IS NOT NULL) AS failing
FROM webhook_subscriptions s`;

export const SUBSCRIPTION_COLUMNS = 'id, grp, url, events, format, secret, wait_above_minutes, source, created_by, created_at';

export function subscriptionValues(s: NewSubscription): unknown[] {
  return [s.id, s.group, s.url, JSON.stringify(s.events), s.format, s.secret, s.waitAboveMinutes ?? null, s.source, s.createdBy, s.createdAt];
}

/**
 * The upsert's SET clause for a declared subscription's secret: `excluded`'s secret, keeping the
 * one it replaces and when (`now` is the placeholder of the time). A secret equal to the current
 * one changes nothing, so replicas writing the same new secret one after the other leave the first
 * one's record of the rotation as it is.
 */
export function secretRotationSet(table: string, now: string): string {
  const changed = `${table}.secret <> excluded.secret`;
  return `previous_secret = CASE WHEN ${changed} THEN ${table}.secret ELSE ${table}.previous_secret END,
    secret_replaced_at = CASE WHEN ${changed} THEN ${now} ELSE ${table}.secret_replaced_at END,
    secret = excluded.secret`;
}

export const DELIVERY_COLUMNS = 'id, subscription_id, grp, event_type, event_key, body, state, attempts, created_at, next_attempt_at';

/** A new delivery's values, due at once, for `DELIVERY_COLUMNS` (its subscription ID again last, for the EXISTS check). */
export function deliveryValues(d: NewDelivery): unknown[] {
  return [d.id, d.subscriptionId, d.group, d.eventType, d.eventKey, d.body, 'pending', 0, d.createdAt, d.createdAt, d.subscriptionId];
}
