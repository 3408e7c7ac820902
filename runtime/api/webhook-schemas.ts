/**
 * The contract of webhook subscriptions: what `POST /v1/groups/{group}/webhooks` takes and
 * answers, what `GET` lists, and the event a subscriber receives when a run finishes. The routes
 * that serve it (webhook-routes.ts) parse with these schemas; the OpenAPI document and the
 * connector's "When a run finishes" trigger describe them (operations.ts), so all three say the
 * same. The words and bounds (event types, formats, limits) are config/webhooks.ts, which the
 * fleet manifest's schema shares.
 *
 * - `POST /v1/groups/{group}/webhooks` with {@link webhookSubscriptionBody} answers 201, a
 *   `Location` header `/v1/groups/{group}/webhooks/{id}`, and {@link webhookSubscriptionSchema}.
 * - `GET /v1/groups/{group}/webhooks` answers {@link webhookListSchema}, never a secret.
 * - `DELETE /v1/groups/{group}/webhooks/{id}` answers 204.
 * - `POST /v1/groups/{group}/webhooks/{id}/rotate-secret` with {@link webhookRotationBody} answers
 *   200 and {@link webhookRotationSchema}: the new secret, shown this once.
 * - Each event is POSTed to the subscription's URL; a run's end as {@link webhookEventSchema}, a
 *   provisioning error as {@link provisioningErrorEventSchema}, a long wait as {@link queueWaitEventSchema}.
 */
import { z } from 'zod';
import { MAX_WAIT_ABOVE_MINUTES, MAX_WEBHOOK_URL_CHARS, RUN_EVENT_TYPES, WEBHOOK_EVENT_TYPES, WEBHOOK_FORMATS } from '../config/webhooks';
import { runSchema } from './view-schemas';

export { RUN_EVENT_TYPES, WEBHOOK_EVENT_TYPES } from '../config/webhooks';
export type { RunEventType, WebhookEventType } from '../config/webhooks';

/** The longest callback URL a subscription keeps (Power Automate's are about 400 characters). */
export const WEBHOOK_URL_MAX = MAX_WEBHOOK_URL_CHARS;

export const webhookEventTypeSchema = z
  .enum(WEBHOOK_EVENT_TYPES, { message: `must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  .meta({ title: 'Event', description: 'What happened: a run ended (run.*), Azure refused the group\'s bots (group.provisioning_error), the queue waits too long (queue.wait_exceeded)' });

const runEventTypeSchema = z.enum(RUN_EVENT_TYPES, { message: `must be one of ${RUN_EVENT_TYPES.join(', ')}` }).meta({ title: 'Event', description: 'How the run ended' });

const formatSchema = z.enum(WEBHOOK_FORMATS, { message: `must be one of ${WEBHOOK_FORMATS.join(', ')}` }).meta({ title: 'Format', description: 'json: the event as JSON; teams: an Adaptive Card for a Teams Workflows webhook' });

/** A subscription's ID, as its `Location` names it. */
export const webhookId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be a webhook ID (1-100 letters, digits, underscores or hyphens)')
  .meta({ title: 'Webhook ID', description: 'The subscription, as the Location of its creation names it', examples: ['wh_0123456789abcdef01234567'] });

/**
 * The subscription a client asks for. Which destinations are allowed (public addresses only,
 * unless an admin allows one by name: README, Notifications) is the route's check, not the schema's.
 */
export const webhookSubscriptionBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
      .max(WEBHOOK_URL_MAX)
      .meta({ title: 'Callback URL', description: 'Where each event is POSTed' }),
    events: z
      .array(webhookEventTypeSchema)
      .min(1, 'must name at least one event type')
      .max(WEBHOOK_EVENT_TYPES.length)
      .refine((events) => new Set(events).size === events.length, 'must not name an event twice')
      .meta({ title: 'Events', description: `What to be told of: ${WEBHOOK_EVENT_TYPES.join(', ')}` }),
    format: formatSchema,
    waitAboveMinutes: z
      .number({ message: 'must be a number of minutes' })
      .positive('must be more than 0')
      .max(MAX_WAIT_ABOVE_MINUTES, `must be at most ${MAX_WAIT_ABOVE_MINUTES} (a week)`)
      .optional()
      .meta({ title: 'Wait above (minutes)', description: 'With queue.wait_exceeded (and only with it): how long the oldest queued run may wait before the alert' }),
  })
  .strict()
  .superRefine((body, ctx) => {
    const waits = body.events.includes('queue.wait_exceeded');
    if (waits && body.waitAboveMinutes === undefined) {
      ctx.addIssue({ code: 'custom', path: ['waitAboveMinutes'], message: 'is required with the event queue.wait_exceeded: the minutes the oldest queued run may wait' });
    }
    if (!waits && body.waitAboveMinutes !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['waitAboveMinutes'], message: 'applies to queue.wait_exceeded only; add that event or leave it out' });
    }
  })
  .meta({ examples: [{ url: 'https://hooks.example.com/bots', events: ['run.failed', 'queue.wait_exceeded'], format: 'json', waitAboveMinutes: 30 }] });

/** What the creation answers; `secret` signs the deliveries and is shown this once. */
export const webhookSubscriptionSchema = z
  .object({
    id: webhookId,
    url: z.string().meta({ title: 'Callback URL' }),
    events: z.array(webhookEventTypeSchema).meta({ title: 'Events' }),
    format: formatSchema,
    secret: z.string().meta({ title: 'Signing secret', description: 'Signs each delivery (Standard Webhooks, whsec_…); shown only in this answer' }),
  })
  .meta({ title: 'Webhook subscription' });

/** What a rotation of a subscription's secret takes: nothing, or the end of the old secret's grace period now. */
export const webhookRotationBody = z
  .object({
    revokePreviousNow: z
      .boolean({ message: 'must be true or false' })
      .optional()
      .meta({ title: 'Revoke the previous secret now', description: 'true: the old secret stops signing at once (it leaked); by default it signs beside the new one for 24 hours' }),
  })
  .strict()
  .meta({ examples: [{ revokePreviousNow: true }] });

/** What a rotation answers; `secret` is shown this once, as at creation. */
export const webhookRotationSchema = z
  .object({
    id: webhookId,
    secret: z.string().meta({ title: 'Signing secret', description: 'The new secret (Standard Webhooks, whsec_…); shown only in this answer' }),
    previousSecretSignsUntil: z.iso
      .datetime()
      .nullable()
      .meta({ title: 'Previous secret signs until', description: 'Until when deliveries carry a signature with the old secret too; null when it was revoked at once' }),
  })
  .meta({ title: 'Rotated webhook secret' });

const isoOrNull = z.iso.datetime().nullable();

/** A group's subscriptions, as the list answers them: never a secret. */
export const webhookListSchema = z
  .object({
    webhooks: z.array(
      z
        .object({
          id: webhookId,
          url: z.string().meta({ title: 'Callback URL' }),
          events: z.array(webhookEventTypeSchema).meta({ title: 'Events' }),
          format: formatSchema,
          waitAboveMinutes: z.number().nullable().meta({ title: 'Wait above (minutes)' }),
          source: z.enum(['api', 'manifest']).meta({ title: 'Source', description: 'Made through the API, or declared in the stack (changed only there)' }),
          createdBy: z.string().meta({ title: 'Created by' }),
          createdAt: z.iso.datetime().meta({ title: 'Created at' }),
          health: z
            .object({
              lastSuccessAt: isoOrNull.meta({ title: 'Last delivered' }),
              lastFailureAt: isoOrNull.meta({ title: 'Last failure' }),
              failing: z.int().min(0).meta({ title: 'Failing', description: 'Deliveries not delivered after a failed attempt: retrying, or given up' }),
            })
            .meta({ title: 'Delivery health' }),
        })
        .meta({ title: 'Webhook' }),
    ),
  })
  .meta({ title: 'Webhooks' });

/**
 * What a subscriber receives when a run of the group ends. `data` has the fields of the run as
 * GET /v1/runs/{id} returns it; its `inputs` and `result.output` are null (api/views.ts,
 * runWebhookView): a receiver that needs them reads the run with its own token.
 */
export const webhookEventSchema = z
  .object({
    type: runEventTypeSchema,
    timestamp: z.iso.datetime().meta({ title: 'Timestamp', description: 'When the event happened' }),
    data: runSchema.meta({ title: 'Run', description: 'The run, as GET /v1/runs/{id} returns it, with inputs and output null' }),
  })
  .meta({ title: 'Run finished' });

const eventTimestamp = z.iso.datetime().meta({ title: 'Timestamp', description: 'When the event happened' });
const eventGroup = z.string().min(1).meta({ title: 'Group', description: 'The bot group' });

/** What a subscriber to `group.provisioning_error` receives when Azure refuses to create a group's bots. */
export const provisioningErrorEventSchema = z
  .object({
    type: z.literal('group.provisioning_error'),
    timestamp: eventTimestamp,
    data: z
      .object({
        group: eventGroup,
        code: z.string().min(1).meta({ title: 'Code', description: "Azure's error code (e.g. AllocationFailed, QuotaExceeded), or BootTimeout for a bot that did not boot in time" }),
      })
      .meta({ title: 'Provisioning error' }),
  })
  .meta({ title: 'Provisioning error' });

/** What a subscriber to `queue.wait_exceeded` receives, once per episode, when the group's oldest queued run waits past the subscription's threshold. */
export const queueWaitEventSchema = z
  .object({
    type: z.literal('queue.wait_exceeded'),
    timestamp: eventTimestamp,
    data: z
      .object({
        group: eventGroup,
        queued: z.int().min(1).meta({ title: 'Queued', description: 'Runs waiting in the queue' }),
        oldestQueuedAt: z.iso.datetime().meta({ title: 'Oldest queued at', description: 'When the longest-waiting run entered the queue' }),
        waitMinutes: z.number().min(0).meta({ title: 'Wait (minutes)', description: 'How long it has waited, to a tenth of a minute' }),
        thresholdMinutes: z.number().positive().meta({ title: 'Threshold (minutes)', description: "The subscription's waitAboveMinutes" }),
      })
      .meta({ title: 'Queue wait' }),
  })
  .meta({ title: 'Queue wait exceeded' });

export type ProvisioningErrorEvent = z.infer<typeof provisioningErrorEventSchema>;
export type QueueWaitEvent = z.infer<typeof queueWaitEventSchema>;
export type WebhookSubscriptionBody = z.infer<typeof webhookSubscriptionBody>;
export type WebhookEvent = z.infer<typeof webhookEventSchema>;
