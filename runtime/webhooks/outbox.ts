/**
 * The webhook outbox: events become one delivery per subscription in the store, and a loop sends
 * the due ones. A delivery is leased before it is sent, so replicas never send one at once; it is
 * retried with exponential backoff and jitter (afterFailure) until a 2xx answer, or given up after
 * GIVE_UP_AFTER_MS and kept as failed, for the dashboard and the metrics. Nothing lives only in
 * memory: a runtime that stops (or dies) leaves its pending deliveries in the store, and the lease
 * of one it was sending runs out, so the next runtime sends it again. Receivers therefore see each
 * event at least once, and drop repeats by the `webhook-id` header.
 */
import { randomBytes } from 'crypto';
import type { QueueWaitEvent } from '../api/webhook-schemas';
import { afterFailure, Delivery, NewDelivery, runEventType, signingSecrets, Subscription, waitEpisode, WebhookEventType } from '../domain/webhook';
import { FINAL_RUN_STATES, Run } from '../domain/run';
import type { Store } from '../store/types';
import { Log, silentLog } from '../log';
import { AddressGuard } from './address-guard';
import { AttemptResult, deliver, WebhookRequest } from './deliver';
import { renderBody, WebhookEvent } from './payload';
import { newMessageId, signedHeaders } from './signing';

/** What became of one attempt, for the metrics. */
export type DeliveryResult = 'delivered' | 'retry' | 'failed';

export interface OutboxOptions {
  readonly store: Pick<Store, 'webhooks' | 'queueCounts' | 'runs' | 'getRun'>;
  readonly guard: AddressGuard;
  /** This replica's name on its leases. @default a random one */
  readonly holder?: string;
  readonly now?: () => number;
  /** In [0, 1), for the retry jitter. @default Math.random */
  readonly random?: () => number;
  /** How long a claimed delivery is this replica's: well above a batch's attempts in a row (batch / concurrency × time-out). @default DEFAULT_LEASE_MS (2 minutes) */
  readonly leaseMs?: number;
  /** Deliveries claimed at once. @default 20 */
  readonly batch?: number;
  /** Attempts in flight at once. @default 4 */
  readonly concurrency?: number;
  /** One attempt's time-out. @default DEFAULT_TIMEOUT_MS of deliver.ts (10 s) */
  readonly timeoutMs?: number;
  /** How often the loop looks for due deliveries. @default 2000 */
  readonly pollMs?: number;
  /** How often queue waits are compared with the subscriptions' thresholds. @default 30000 */
  readonly waitCheckMs?: number;
  /** Delivered and given-up deliveries are forgotten this long after they finished (the run retention). @default 30 days */
  readonly retentionMs?: number;
  /**
   * A run as a webhook shows it (runWebhookView). With it, the loop also catches up on runs that
   * finished in the last CATCH_UP_WINDOW_MS without their event queued (see catchUp). @default no catch-up
   */
  readonly runData?: (run: Run) => Readonly<Record<string, unknown>>;
  /** How often the loop catches up on finished runs. @default DEFAULT_CATCH_UP_MS (1 minute) */
  readonly catchUpMs?: number;
  /** Sends one attempt. @default deliver() through `guard` */
  readonly send?: (request: WebhookRequest) => Promise<AttemptResult>;
  /** Told of every attempt's result, per group. @default nothing */
  readonly observe?: (result: DeliveryResult, group: string) => void;
  readonly log?: Log;
}

/**
 * How long a claimed delivery stays this replica's: well above a batch's attempts in a row at the
 * defaults (20 / 4 × 10 s = 50 s), so a live sender keeps what it is sending, and short enough that
 * a dead one's deliveries go again within minutes (README, "Notifications").
 */
export const DEFAULT_LEASE_MS = 120_000;
/** How often the loop catches up on finished runs whose events were not queued (see catchUp). */
export const DEFAULT_CATCH_UP_MS = 60_000;

/** Subscriptions are read again after this long, so one replica sees another's new ones soon. */
const SUBSCRIPTIONS_TTL_MS = 10_000;
const RETENTION_EVERY_MS = 3_600_000;
/** How far back the catch-up looks for finished runs: well beyond a runtime's restart. */
export const CATCH_UP_WINDOW_MS = 15 * 60_000;
/** The most recent runs of a group one catch-up reads. */
const CATCH_UP_RUNS = 200;
const FORGET_BATCH = 1000;

export class WebhookOutbox {
  readonly holder: string;
  private readonly store: OutboxOptions['store'];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly send: (request: WebhookRequest) => Promise<AttemptResult>;
  private readonly log: Log;
  private cached?: { at: number; subscriptions: Promise<Subscription[]> };
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  private again = false;
  private lastWaitCheck = -Infinity;
  private lastRetention = -Infinity;
  private lastCatchUp = -Infinity;

  constructor(private readonly options: OutboxOptions) {
    this.store = options.store;
    this.holder = options.holder ?? `outbox-${randomBytes(4).toString('hex')}`;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.send = options.send ?? ((request) => deliver(request, { guard: options.guard, timeoutMs: options.timeoutMs }));
    this.log = options.log ?? silentLog;
  }

  /** Drops the cached subscriptions, after this replica changed them. */
  subscriptionsChanged(): void {
    this.cached = undefined;
  }

  private subscriptions(): Promise<Subscription[]> {
    const now = this.now();
    if (!this.cached || now - this.cached.at > SUBSCRIPTIONS_TTL_MS) {
      const subscriptions = this.store.webhooks.subscriptions();
      this.cached = { at: now, subscriptions };
      subscriptions.catch(() => (this.cached = undefined));
    }
    return this.cached.subscriptions;
  }

  /**
   * Queues an event for every subscription of the group that wants its type; `key` names what the
   * event is about (a run's ID), so that the same event queued twice is one delivery. Returns how
   * many deliveries were queued, and wakes the loop.
   */
  async publish(group: string, type: WebhookEventType, key: string, data: Readonly<Record<string, unknown>>): Promise<number> {
    const at = this.now();
    const event: WebhookEvent = { type, timestamp: new Date(at).toISOString(), data };
    const wanted = (await this.subscriptions()).filter((s) => s.group === group && s.events.includes(type));
    if (wanted.length === 0) return 0;
    const queued = await this.store.webhooks.enqueueDeliveries(wanted.map((s) => this.newDelivery(s, event, `${type}:${key}`, at)));
    this.wake();
    return queued;
  }

  private newDelivery(s: Subscription, event: WebhookEvent, eventKey: string, at: number): NewDelivery {
    return { id: newMessageId(), subscriptionId: s.id, group: s.group, eventType: event.type, eventKey, body: renderBody(event, s.format), createdAt: at };
  }

  /**
   * One alert per episode of a long queue wait (waitEpisode): each subscription to
   * queue.wait_exceeded compares its group's oldest queued run with its threshold.
   */
  async checkWaits(): Promise<void> {
    const now = this.now();
    const subscriptions = (await this.store.webhooks.subscriptions()).filter((s) => s.events.includes('queue.wait_exceeded') && s.waitAboveMinutes !== undefined);
    if (subscriptions.length === 0) return;
    const counts = new Map((await this.store.queueCounts()).map((c) => [c.group, c]));
    for (const s of subscriptions) {
      const count = counts.get(s.group);
      const decision = waitEpisode(count?.oldestQueuedAt, now, s.waitAboveMinutes!, s.waitAlerted);
      if (decision === 'clear') await this.store.webhooks.closeWaitEpisode(s.id);
      if (decision !== 'alert') continue;
      const oldest = count!.oldestQueuedAt!;
      const event: WebhookEvent = {
        type: 'queue.wait_exceeded',
        timestamp: new Date(now).toISOString(),
        data: {
          group: s.group,
          queued: count!.queued,
          oldestQueuedAt: new Date(oldest).toISOString(),
          waitMinutes: Math.round((now - oldest) / 6_000) / 10,
          thresholdMinutes: s.waitAboveMinutes!,
        } satisfies QueueWaitEvent['data'],
      };
      if (await this.store.webhooks.openWaitEpisode(s.id, this.newDelivery(s, event, `queue.wait_exceeded:${oldest}`, now))) {
        this.log('webhook.wait_exceeded', { group: s.group, subscription: s.id, thresholdMinutes: s.waitAboveMinutes });
        this.wake();
      }
    }
  }

  /**
   * Queues the events of runs that finished in the last CATCH_UP_WINDOW_MS and have none yet for a
   * subscription that wants them (and existed when the run finished). An event is queued just
   * after its change commits; a runtime that died in between left it out, and this puts it in.
   * Queuing is idempotent (one delivery per subscription and event), so replicas may all do it.
   * Returns how many deliveries it queued.
   */
  async catchUp(): Promise<number> {
    const runData = this.options.runData;
    if (!runData) return 0;
    const since = this.now() - CATCH_UP_WINDOW_MS;
    const subscriptions = (await this.subscriptions()).filter((s) => s.events.some((e) => e.startsWith('run.')));
    let queued = 0;
    for (const group of new Set(subscriptions.map((s) => s.group))) {
      const mine = subscriptions.filter((s) => s.group === group);
      const finished = (await this.store.runs({ group, states: FINAL_RUN_STATES, limit: CATCH_UP_RUNS })).filter((r) => r.finishedAt !== undefined && r.finishedAt >= since);
      const wanted = finished.flatMap((run) => {
        const type = runEventType(run);
        return mine.filter((s) => type && s.events.includes(type) && s.createdAt <= run.finishedAt!).map((s) => ({ run, type: type!, s, key: `${type}:${run.id}` }));
      });
      if (wanted.length === 0) continue;
      const known = await this.store.webhooks.queuedEvents([...new Set(wanted.map((w) => w.s.id))], [...new Set(wanted.map((w) => w.key))]);
      const missing = wanted.filter((w) => !known.has(`${w.s.id} ${w.key}`));
      const deliveries: NewDelivery[] = [];
      for (const runId of new Set(missing.map((w) => w.run.id))) {
        const run = await this.store.getRun(runId);
        if (!run) continue;
        for (const w of missing.filter((x) => x.run.id === runId)) {
          const event: WebhookEvent = { type: w.type, timestamp: new Date(run.finishedAt!).toISOString(), data: runData(run) };
          deliveries.push(this.newDelivery(w.s, event, w.key, this.now()));
        }
      }
      if (deliveries.length > 0) queued += await this.store.webhooks.enqueueDeliveries(deliveries);
    }
    if (queued > 0) this.log('webhook.caught_up', { deliveries: queued });
    return queued;
  }

  /** Claims the due deliveries (one batch) and makes one attempt at each; how many it attempted. */
  async deliverDue(): Promise<number> {
    const claimed = await this.store.webhooks.claimDeliveries(this.holder, this.now(), this.options.leaseMs ?? DEFAULT_LEASE_MS, this.options.batch ?? 20);
    if (claimed.length === 0) return 0;
    // Fresh subscriptions: a URL or secret may have just changed.
    this.subscriptionsChanged();
    const byId = new Map((await this.subscriptions()).map((s) => [s.id, s]));
    const queue = [...claimed];
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        const subscription = byId.get(d.subscriptionId);
        // Deleted meanwhile: its deliveries went with it.
        if (subscription) await this.attempt(d, subscription);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency ?? 4, claimed.length) }, worker));
    return claimed.length;
  }

  /** Delivers until nothing is due now; for tests and for a runtime's last moments. */
  async drain(): Promise<number> {
    let total = 0;
    for (let n = await this.deliverDue(); n > 0; n = await this.deliverDue()) total += n;
    return total;
  }

  private async attempt(d: Delivery, s: Subscription): Promise<void> {
    let result: AttemptResult;
    try {
      const sentAt = this.now();
      // Both secrets while a rotation's grace period runs, so receivers on either one accept it.
      result = await this.send({ url: s.url, headers: signedHeaders(signingSecrets(s, sentAt), d.id, sentAt, d.body), body: d.body });
    } catch (err) {
      // A secret that cannot sign (a vault value changed by hand) fails the attempt like any other failure.
      result = { ok: false, error: (err as Error).message };
    }
    const now = this.now();
    if (result.ok) {
      await this.store.webhooks.finishDelivery(d.id, this.holder, { kind: 'delivered', now });
      this.options.observe?.('delivered', d.group);
      return;
    }
    const next = afterFailure(d.attempts, d.createdAt, now, this.random());
    const error = result.error.slice(0, 500);
    if (next.kind === 'retry') {
      await this.store.webhooks.finishDelivery(d.id, this.holder, { kind: 'retry', now, at: next.at, error });
    } else {
      await this.store.webhooks.finishDelivery(d.id, this.holder, { kind: 'failed', now, error });
    }
    this.options.observe?.(next.kind === 'retry' ? 'retry' : 'failed', d.group);
    this.log(next.kind === 'retry' ? 'webhook.retry' : 'webhook.gave_up', {
      group: d.group, subscription: s.id, delivery: d.id, event: d.eventType, attempts: d.attempts, status: result.ok ? undefined : result.status, error,
      ...(next.kind === 'retry' ? { nextAttemptAt: new Date(next.at).toISOString() } : {}),
    });
  }

  /** One pass of the loop: due deliveries, and now and then the queue waits and retention. */
  async tick(): Promise<void> {
    const now = this.now();
    // Each step on its own: a failing one (the store away for a moment) holds up none of the others.
    const step = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        this.log('webhook.loop_error', { step: name, error: (err as Error).message });
      }
    };
    if (now - this.lastWaitCheck >= (this.options.waitCheckMs ?? 30_000)) {
      this.lastWaitCheck = now;
      await step('queue_wait', () => this.checkWaits());
    }
    if (now - this.lastCatchUp >= (this.options.catchUpMs ?? DEFAULT_CATCH_UP_MS)) {
      this.lastCatchUp = now;
      await step('catch_up', () => this.catchUp());
    }
    if (now - this.lastRetention >= RETENTION_EVERY_MS) {
      this.lastRetention = now;
      await step('retention', async () => {
        const forgot = await this.store.webhooks.forgetDeliveries(now - (this.options.retentionMs ?? 30 * 24 * 3_600_000), FORGET_BATCH);
        if (forgot > 0) this.log('webhook.retention', { deliveriesDeleted: forgot });
      });
    }
    await step('deliver', () => this.drain());
  }

  /** Starts the loop. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs the loop soon, after an event was queued. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick()
        .catch((err: Error) => this.log('webhook.loop_error', { error: err.message }))
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const soon = this.again;
          this.again = false;
          this.schedule(soon ? 0 : (this.options.pollMs ?? 2000));
        });
    }, ms);
    this.timer.unref?.();
  }

  /** Stops the loop and waits for the attempts in flight; pending deliveries stay in the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
