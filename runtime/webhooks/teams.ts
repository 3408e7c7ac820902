/**
 * The Microsoft Teams format: an Adaptive Card in a message, as a Teams Workflows flow started by
 * "When a Teams webhook request is received" posts it to a channel. Workflows take Adaptive Cards
 * only, not the connectors' message cards (Microsoft Learn, Teams platform, "Create and send
 * messages", webhooks-and-connectors/how-to/connectors-using); the body is `{ type: "message",
 * attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content }] }` (the same
 * page, "Send Adaptive Cards using an Incoming Webhook"). Version 1.4 renders on every Teams client.
 */
import type { WebhookEvent } from './payload';

export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
export const ADAPTIVE_CARD_VERSION = '1.4';

const TITLES: Readonly<Record<WebhookEvent['type'], string>> = {
  'run.succeeded': 'Run succeeded',
  'run.failed': 'Run failed',
  'run.timed_out': 'Run timed out',
  'run.cancelled': 'Run cancelled',
  'group.provisioning_error': 'Provisioning error',
  'queue.wait_exceeded': 'Queue wait above the threshold',
};

/** Adaptive Card colours: good (green), attention (red), warning (amber). */
const COLOURS: Readonly<Record<WebhookEvent['type'], 'good' | 'attention' | 'warning'>> = {
  'run.succeeded': 'good',
  'run.failed': 'attention',
  'run.timed_out': 'attention',
  'run.cancelled': 'warning',
  'group.provisioning_error': 'attention',
  'queue.wait_exceeded': 'warning',
};

/** The facts a card lists, by event, from the event's data; missing ones are left out. */
function facts(event: WebhookEvent): { title: string; value: string }[] {
  const d = event.data as Record<string, any>;
  const rows: Array<[string, unknown]> = event.type.startsWith('run.')
    ? [
        ['Group', d.group],
        ['Flow', d.flow],
        ['Run', d.id],
        ['State', d.state],
        ['Started by', d.createdBy],
        ['Attempts', d.attempts],
        ['Error', d.result?.errorCode],
        ['Message', d.result?.errorMessage],
      ]
    : event.type === 'group.provisioning_error'
      ? [
          ['Group', d.group],
          ['Code', d.code],
        ]
      : [
          ['Group', d.group],
          ['Queued runs', d.queued],
          ['Oldest waits', d.waitMinutes === undefined ? undefined : `${d.waitMinutes} min`],
          ['Threshold', d.thresholdMinutes === undefined ? undefined : `${d.thresholdMinutes} min`],
        ];
  return rows.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([title, v]) => ({ title, value: String(v).slice(0, 500) }));
}

/** The Teams message of an event. */
export function teamsMessage(event: WebhookEvent) {
  const group = (event.data as { group?: unknown }).group;
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: ADAPTIVE_CARD_SCHEMA,
          type: 'AdaptiveCard',
          version: ADAPTIVE_CARD_VERSION,
          body: [
            { type: 'TextBlock', text: `${TITLES[event.type]}${typeof group === 'string' ? ` in ${group}` : ''}`, weight: 'Bolder', size: 'Medium', color: COLOURS[event.type], wrap: true },
            { type: 'TextBlock', text: event.timestamp, isSubtle: true, spacing: 'None', wrap: true },
            { type: 'FactSet', facts: facts(event) },
          ],
        },
      },
    ],
  };
}
