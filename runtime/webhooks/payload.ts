/**
 * What a webhook says: the event as plain JSON (`{ type, timestamp, data }`), or as a Microsoft
 * Teams message (teams.ts). The body is fixed when the event is queued, so every attempt sends the
 * same bytes under the same message ID.
 */
import type { WebhookEventType, WebhookFormat } from '../domain/webhook';
import { teamsMessage } from './teams';

export interface WebhookEvent {
  readonly type: WebhookEventType;
  /** ISO 8601, when the event happened. */
  readonly timestamp: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The request body of an event in a subscription's format. */
export function renderBody(event: WebhookEvent, format: WebhookFormat): string {
  return JSON.stringify(format === 'teams' ? teamsMessage(event) : event);
}
