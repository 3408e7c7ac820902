/**
 * Webhooks: the events a group's subscribers hear of, and the rules of their delivery (which
 * event a finished run is, when a failed delivery is tried again, when it is given up, when a
 * queue's wait starts and ends an alert). Pure functions; the outbox and the stores call them.
 */
import type { Run } from './run';

import type { WebhookEventType, WebhookFormat } from '../config/webhooks';

export {
  MAX_WAIT_ABOVE_MINUTES, MAX_WEBHOOK_URL_CHARS, MAX_WEBHOOKS_PER_GROUP, RUN_EVENT_TYPES, WEBHOOK_EVENT_TYPES, WEBHOOK_FORMATS,
} from '../config/webhooks';
export type { RunEventType, WebhookEventType, WebhookFormat } from '../config/webhooks';

/** A URL without its query and fragment, which may hold a credential (a Teams Workflows URL's `sig`): for pages and records. */
export function urlWithoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return url;
  }
}

/** Where a subscription came from: the API (a co-owner or an admin), or the fleet manifest. */
export type SubscriptionSource = 'api' | 'manifest';

export interface Subscription {
  /** `wh_` and 24 hex digits (API), or `whm_` and 24 hex digits derived from the group and URL (manifest). */
  readonly id: string;
  readonly group: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly format: WebhookFormat;
  /** `whsec_` and the base64 of 32 random bytes; never shown after creation. */
  readonly secret: string;
  /**
   * The secret `secret` replaced, and when (a declared webhook's secret rotated in the vault, or
   * an API-made one's rotated through the API): deliveries are signed with both until
   * SECRET_ROTATION_GRACE_MS after `secretReplacedAt`. Both absent for a subscription whose secret
   * never changed; `previousSecret` alone absent after a rotation through the API that revoked it.
   */
  readonly previousSecret?: string;
  readonly secretReplacedAt?: number;
  /** For queue.wait_exceeded: how long the oldest queued run may wait before the alert. */
  readonly waitAboveMinutes?: number;
  readonly source: SubscriptionSource;
  readonly createdBy: string;
  readonly createdAt: number;
  /** True while a queue.wait_exceeded episode is open (alerted, not yet back under the threshold). */
  readonly waitAlerted: boolean;
}

/** How a subscription's deliveries fare. */
export interface SubscriptionHealth {
  readonly lastSuccessAt?: number;
  readonly lastFailureAt?: number;
  /** Deliveries not delivered after at least one failed attempt: still retried, or given up. */
  readonly failing: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One event for one subscription: the message a receiver gets, tried until it is delivered or given up. */
export interface Delivery {
  /** The Standard Webhooks message ID (`msg_…`): the same on every attempt, so receivers can drop duplicates. */
  readonly id: string;
  readonly subscriptionId: string;
  readonly group: string;
  readonly eventType: WebhookEventType;
  /** What the event is about, unique per subscription, so one event is never queued twice for one subscription. */
  readonly eventKey: string;
  /** The request body, fixed when the event happened, so every attempt sends the same bytes. */
  readonly body: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly createdAt: number;
  readonly nextAttemptAt: number;
  readonly lastAttemptAt?: number;
  readonly lastFailureAt?: number;
  readonly lastError?: string;
  readonly finishedAt?: number;
}

/** A new delivery, before its first attempt. */
export type NewDelivery = Pick<Delivery, 'id' | 'subscriptionId' | 'group' | 'eventType' | 'eventKey' | 'body' | 'createdAt'>;

/**
 * The event a finished run is. `run.timed_out` covers both time-outs: a run that ran longer than
 * its flow's time-out (failed, run_timeout) and one that waited longer than the queue time-out
 * (expired, queue_timeout); `data.state` and `data.result.errorCode` tell them apart.
 */
export function runEventType(run: Pick<Run, 'state' | 'errorCode'>): WebhookEventType | undefined {
  switch (run.state) {
    case 'succeeded':
      return 'run.succeeded';
    case 'failed':
      return run.errorCode === 'run_timeout' ? 'run.timed_out' : 'run.failed';
    case 'expired':
      return 'run.timed_out';
    case 'cancelled':
      return 'run.cancelled';
    default:
      return undefined;
  }
}

/** The retry schedule: the first retry after 5 s, doubling up to every 2 hours, each ±20%. */
export const RETRY = { firstMs: 5_000, maxMs: 2 * 3_600_000, jitter: 0.2 } as const;
/**
 * A delivery is retried until its last failure comes this long after the event (so for at least
 * 24 hours, which the Standard Webhooks schedule spans too), then kept as failed.
 */
export const GIVE_UP_AFTER_MS = 25 * 3_600_000;

/**
 * How long after a subscription's secret is replaced each delivery is signed with the previous
 * secret too. The Standard Webhooks specification lets `webhook-signature` carry several
 * space-delimited signatures, and a receiver accepts a message when any of them verifies, so a
 * receiver may switch to the new secret at any time within this period without missing a delivery
 * (README, "Rotating secrets"). A day, as a receiver's owner may be told of the rotation only
 * the next working day.
 */
export const SECRET_ROTATION_GRACE_MS = 24 * 3_600_000;

/**
 * When the previous secret stops signing: SECRET_ROTATION_GRACE_MS after the rotation; undefined
 * when there is no previous secret (never rotated, or revoked at once).
 */
export function previousSecretSignsUntil(s: Pick<Subscription, 'previousSecret' | 'secretReplacedAt'>): number | undefined {
  return s.previousSecret !== undefined && s.secretReplacedAt !== undefined ? s.secretReplacedAt + SECRET_ROTATION_GRACE_MS : undefined;
}

/**
 * The secrets that sign a delivery sent at `now`: the subscription's secret, then, within
 * SECRET_ROTATION_GRACE_MS of its rotation, the one it replaced.
 */
export function signingSecrets(s: Pick<Subscription, 'secret' | 'previousSecret' | 'secretReplacedAt'>, now: number): string[] {
  const until = previousSecretSignsUntil(s);
  return until !== undefined && now < until && s.previousSecret !== s.secret ? [s.secret, s.previousSecret!] : [s.secret];
}

export type RetryDecision = { readonly kind: 'retry'; readonly at: number } | { readonly kind: 'give_up' };

/**
 * After the `attempts`-th attempt failed at `now`: when to try again, or to give up. `random` is
 * in [0, 1), for the jitter that keeps many failed deliveries from retrying in step.
 */
export function afterFailure(attempts: number, createdAt: number, now: number, random: number): RetryDecision {
  if (now - createdAt >= GIVE_UP_AFTER_MS) return { kind: 'give_up' };
  const base = Math.min(RETRY.maxMs, RETRY.firstMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  const jittered = base * (1 - RETRY.jitter + 2 * RETRY.jitter * random);
  return { kind: 'retry', at: now + Math.round(jittered) };
}

export type WaitDecision = 'alert' | 'clear' | 'none';

/**
 * One alert per episode: when the group's oldest queued run has waited longer than the threshold
 * and no alert is open, alert; once it waits less (or nothing is queued), close the episode.
 */
export function waitEpisode(oldestQueuedAt: number | undefined, now: number, thresholdMinutes: number, alerted: boolean): WaitDecision {
  const over = oldestQueuedAt !== undefined && now - oldestQueuedAt > thresholdMinutes * 60_000;
  if (over && !alerted) return 'alert';
  if (!over && alerted) return 'clear';
  return 'none';
}
