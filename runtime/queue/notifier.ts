/**
 * Wakes long-polling claims when a group's queue changes. In one process this is an event
 * emitter; the PostgreSQL store feeds it from LISTEN/NOTIFY so replicas wake each other.
 *
 * Each group has a version that every notify bumps. A waiter reads the version before it tries
 * to claim, and waits only if nothing happened since, so a notify between the attempt and the
 * wait is never lost.
 */
import { EventEmitter } from 'events';

export class QueueNotifier {
  private readonly events = new EventEmitter();
  private readonly versions = new Map<string, number>();

  constructor() {
    // One listener per waiting bot; an environment has at most 10 groups of 50 bots.
    this.events.setMaxListeners(0);
  }

  version(group: string): number {
    return this.versions.get(group) ?? 0;
  }

  notify(group: string): void {
    this.versions.set(group, this.version(group) + 1);
    this.events.emit(group);
  }

  /** Resolves true once the group's version moves past `since`, false after `ms` or on abort. */
  waitForChange(group: string, since: number, ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.version(group) !== since) return resolve(true);
      if (signal?.aborted || ms <= 0) return resolve(false);
      const done = (woken: boolean) => {
        clearTimeout(timer);
        this.events.off(group, onNotify);
        signal?.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      const onNotify = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      this.events.on(group, onNotify);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
