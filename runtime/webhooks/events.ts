/**
 * What the outbox hears of the runtime: finished runs, from the queue's events, and provisioning
 * errors, from the scaler's. One small adapter, so that the server subscribes the outbox in one place.
 */
import type { QueueEvents } from '../queue/events';
import type { ScalerEvents } from '../scaler/events';
import type { Run } from '../domain/run';
import { runEventType, WebhookEventType } from '../domain/webhook';
import { Log, silentLog } from '../log';
import type { ProvisioningErrorEvent } from '../api/webhook-schemas';
import type { WebhookOutbox } from './outbox';

export interface WebhookEventsOptions {
  /** A run as a webhook shows it (runWebhookView). */
  readonly runData: (run: Run) => Readonly<Record<string, unknown>>;
  readonly log?: Log;
}

/**
 * The outbox as a listener of the queue (runFinished) and the scaler (provisioningError). The
 * events arrive after their change committed; the outbox write follows at once, and a failure to
 * write is logged (the change itself stands; the outbox's catch-up queues a missed run's event).
 */
export function webhookEvents(outbox: Pick<WebhookOutbox, 'publish'>, options: WebhookEventsOptions): Pick<QueueEvents, 'runFinished'> & Pick<ScalerEvents, 'provisioningError'> {
  const log = options.log ?? silentLog;
  const publish = (group: string, type: WebhookEventType, key: string, data: Readonly<Record<string, unknown>>) => {
    outbox.publish(group, type, key, data).catch((err: Error) => log('webhook.enqueue_failed', { group, event: type, error: err.message }));
  };
  return {
    runFinished(run) {
      const type = runEventType(run);
      if (type) publish(run.group, type, run.id, options.runData(run));
    },
    provisioningError(group, code) {
      const data: ProvisioningErrorEvent['data'] = { group, code };
      publish(group, 'group.provisioning_error', `${code}:${Date.now()}:${Math.random().toString(36).slice(2, 10)}`, data);
    },
  };
}
