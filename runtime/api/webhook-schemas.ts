/**
 * The contract of webhook subscriptions: what `POST /v1/groups/{group}/webhooks` takes and
 * answers, and the event a subscriber receives when a run finishes. The routes that serve it and
 * the delivery import these schemas; the OpenAPI document and the connector's "When a run
 * finishes" trigger describe them (operations.ts), so all three say the same.
 *
 * - `POST /v1/groups/{group}/webhooks` with {@link webhookSubscriptionBody} answers 201, a
 *   `Location` header `/v1/groups/{group}/webhooks/{id}`, and {@link webhookSubscriptionSchema}.
 * - `DELETE /v1/groups/{group}/webhooks/{id}` answers 204.
 * - Each event is POSTed to the subscription's URL as {@link webhookEventSchema}.
 */
import { z } from 'zod';
import { runSchema } from './view-schemas';

/** The events a subscription may ask for: a run of the group ended this way. */
export const WEBHOOK_EVENT_TYPES = ['run.succeeded', 'run.failed', 'run.timed_out', 'run.cancelled'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The longest callback URL a subscription keeps (Power Automate's are about 400 characters). */
export const WEBHOOK_URL_MAX = 2048;

export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES, { message: `must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }).meta({ title: 'Event', description: 'How the run ended' });

/** A subscription's ID, as its `Location` names it. */
export const webhookId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be a webhook ID (1-100 letters, digits, underscores or hyphens)')
  .meta({ title: 'Webhook ID', description: 'The subscription, as the Location of its creation names it' });

/**
 * The subscription a client asks for. Which destinations are allowed (public addresses only,
 * unless an admin allows one by name: DESIGN.md, Security) is the route's check, not the schema's.
 */
export const webhookSubscriptionBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
      .max(WEBHOOK_URL_MAX)
      .meta({ title: 'Callback URL', description: 'Where each event is POSTed' }),
    events: z
      .array(webhookEventTypeSchema)
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length)
      .refine((events) => new Set(events).size === events.length, 'must not name an event twice')
      .meta({ title: 'Events', description: `Which ends of a run to be told of: ${WEBHOOK_EVENT_TYPES.join(', ')}` }),
    format: z.literal('json', { message: 'must be json' }).meta({ title: 'Format', description: 'How events are sent: json' }),
  })
  .strict();

/** What the creation answers; `secret` signs the deliveries and is shown this once. */
export const webhookSubscriptionSchema = z
  .object({
    id: webhookId,
    url: z.string().meta({ title: 'Callback URL' }),
    events: z.array(webhookEventTypeSchema).meta({ title: 'Events' }),
    format: z.literal('json').meta({ title: 'Format' }),
    secret: z.string().meta({ title: 'Signing secret', description: 'Signs each delivery; shown only in this answer' }),
  })
  .meta({ title: 'Webhook subscription' });

/** What a subscriber receives when a run of the group ends. */
export const webhookEventSchema = z
  .object({
    type: webhookEventTypeSchema,
    timestamp: z.iso.datetime().meta({ title: 'Timestamp', description: 'When the event happened' }),
    data: runSchema.meta({ title: 'Run', description: 'The run, as GET /v1/runs/{id} returns it' }),
  })
  .meta({ title: 'Run finished' });

export type WebhookSubscriptionBody = z.infer<typeof webhookSubscriptionBody>;
export type WebhookEvent = z.infer<typeof webhookEventSchema>;
