/**
 * What the queue announces: a run queued, claimed or finished; a bot registered or lost; a group
 * whose demand changed. The queue owns this interface and imports none of its listeners, so the
 * layers above (the scaler, the metrics, a webhook outbox, tracing) learn what happened without
 * the queue reaching up to them.
 *
 * Subscribing: take the runtime's `QueueEventHub` (`Runtime.events`) and give `subscribe` an
 * object with the events you want, every one optional; it returns the function that unsubscribes.
 *
 *     const unsubscribe = runtime.events.subscribe({
 *       runFinished: (run) => outbox.add('run.finished', run),
 *       botLost: (botId) => log('bot.lost', { botId }),
 *     });
 *
 * Listeners are called synchronously, in the order they subscribed, after the store committed the
 * change: keep them quick, and hand slow work (an HTTP delivery, an export) to a queue of their
 * own. A listener that throws is reported to the hub's `onListenerError` and does not stop the
 * others, nor the request that caused the event.
 */
import type { Bot } from '../domain/bot';
import type { Run } from '../domain/run';

export interface QueueEvents {
  /** A run was accepted into its group's queue (a repeated idempotency key adds none). */
  runQueued(run: Run): void;
  /** A bot claimed a run, which is running from now on. */
  runClaimed(run: Run): void;
  /** A run reached a final state: succeeded, failed, cancelled or expired. */
  runFinished(run: Run): void;
  /** A bot registered as the VM created for it, and is idle. */
  botRegistered(bot: Bot): void;
  /** A bot stopped reporting for longer than its group allows and was taken for lost. */
  botLost(botId: string): void;
  /**
   * Something that can move the scaler's answer for the group changed: a run queued, claimed or
   * ended by a person, a bot freed by its run's end or registered, the group paused or resumed.
   * The scaler re-plans on it; it comes after the event that says what happened, if there is one.
   */
  groupChanged(group: string): void;
}

/** A subscriber: the events it wants to hear, any of them. */
export type QueueListener = Partial<QueueEvents>;

const EVENT_NAMES: readonly (keyof QueueEvents)[] = ['runQueued', 'runClaimed', 'runFinished', 'botRegistered', 'botLost', 'groupChanged'];

/** Tells every subscribed listener what the queue announces. */
export class QueueEventHub implements QueueEvents {
  private readonly listeners: QueueListener[] = [];

  /** @param onListenerError told of a listener that threw; the other listeners are still called. */
  constructor(private readonly onListenerError: (event: keyof QueueEvents, error: unknown) => void = () => undefined) {}

  /** Adds a listener; returns the function that removes it again. */
  subscribe(listener: QueueListener): () => void {
    if (!EVENT_NAMES.some((name) => typeof listener[name] === 'function')) {
      throw new Error(`a queue listener must handle at least one of ${EVENT_NAMES.join(', ')}`);
    }
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  runQueued(run: Run): void {
    this.emit('runQueued', run);
  }

  runClaimed(run: Run): void {
    this.emit('runClaimed', run);
  }

  runFinished(run: Run): void {
    this.emit('runFinished', run);
  }

  botRegistered(bot: Bot): void {
    this.emit('botRegistered', bot);
  }

  botLost(botId: string): void {
    this.emit('botLost', botId);
  }

  groupChanged(group: string): void {
    this.emit('groupChanged', group);
  }

  private emit<E extends keyof QueueEvents>(event: E, ...args: Parameters<QueueEvents[E]>): void {
    // A copy, so that a listener that unsubscribes while it is called skips nobody.
    for (const listener of [...this.listeners]) {
      const handler = listener[event] as ((...a: Parameters<QueueEvents[E]>) => void) | undefined;
      if (!handler) continue;
      try {
        handler.apply(listener, args);
      } catch (error) {
        this.onListenerError(event, error);
      }
    }
  }
}
