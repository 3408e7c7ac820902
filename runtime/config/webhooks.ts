/**
 * The webhook contract's words and bounds: the event types, the formats, how many subscriptions a
 * group holds, what a URL must look like. The fleet manifest's schema (fleet-schema.ts), the API's
 * (api/webhook-schemas.ts) and the delivery (runtime/webhooks/) all read them here.
 */

export type WebhookEventType = 'run.succeeded' | 'run.failed' | 'run.timed_out' | 'run.cancelled' | 'group.provisioning_error' | 'queue.wait_exceeded';
export const WEBHOOK_EVENT_TYPES = ['run.succeeded', 'run.failed', 'run.timed_out', 'run.cancelled', 'group.provisioning_error', 'queue.wait_exceeded'] as const satisfies readonly WebhookEventType[];
/** The events of a run's end, whose `data` is the run. */
export const RUN_EVENT_TYPES = ['run.succeeded', 'run.failed', 'run.timed_out', 'run.cancelled'] as const satisfies readonly WebhookEventType[];
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

export type WebhookFormat = 'json' | 'teams';
export const WEBHOOK_FORMATS = ['json', 'teams'] as const satisfies readonly WebhookFormat[];

/** The most subscriptions one group may hold, API and manifest together. */
export const MAX_WEBHOOKS_PER_GROUP = 20;
/** The longest queue-wait threshold: a week. */
export const MAX_WAIT_ABOVE_MINUTES = 7 * 24 * 60;
/** The longest URL a subscription keeps (Power Automate's callback URLs are about 400 characters). */
export const MAX_WEBHOOK_URL_CHARS = 2048;

export const WEBHOOK_URL_RULE = 'must be an absolute https URL without a user name or password (plain http only to hosts an environment admin allows)';

/** A webhook URL's form; the runtime checks its destination again when it sends (runtime/webhooks/address-guard.ts). */
export function isWebhookUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password;
  } catch {
    return false;
  }
}
