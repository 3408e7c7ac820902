/**
 * The imperative shell around plan(): the leader holds a lease, sweeps time-outs, snapshots the
 * store, calls plan(), and carries out the actions.
 *
 * Store changes happen inside the cycle, before any ARM call: bots to create are inserted as
 * `provisioning` (re-checking the caps in the same transaction), and bots to delete move from
 * idle to `deleting` in one step, so a claim can never take them. ARM calls then run in one
 * queue per group (never two at once on a scale set), outside the cycle, so a slow scale-out in
 * one group never holds up the others.
 *
 * For predictive warm-up, the arrival history is read from the store on ticks only, and the
 * cycles triggered in between plan with the last one read: it changes by the 10-minute slot.
 *
 * On ticks only, too, the leader records each group's sample (queued and running runs, bots per
 * live state) for the dashboard's 24-hour chart: one small write per tick, never one per
 * enqueue-triggered cycle. Tick cycles count the queue uncapped, so the chart shows the real
 * length; the cycles in between stop counting at DEMAND_CAP, which is all plan() reads.
 *
 * Every cycle plans through accountedPlan(), which keeps each predictive group's warm-up account
 * (warm-up-account.ts). The leader reads the accounts from the store when it starts leading, and
 * writes them on ticks, so a pause outlives a restart or a change of leader.
 *
 * At the end of each cycle the leader publishes what the group view reads of its memory (the
 * plan's reasons why runs wait, its warm-up, the account, the recent scale-ins) to the store,
 * per group, throttled (published-view.ts), so that replicas that do not lead answer it too.
 */
import type { FleetManifest, ManifestGroup, ScalingSettings } from '../config/manifest';
import { ComputeDriver, ComputeError, ScaleSetRef } from '../azure/compute';
import type { RunQueue } from '../queue/queue';
import type { QueueCounts, Store, SweepGroup } from '../store/types';
import { Bot, botModelKeyOf, Caps } from '../domain/bot';
import type { GroupState } from '../domain/group';
import { ArrivalHistory, GroupSample, SAMPLED_BOT_STATES } from '../domain/history';
import type { DeleteAction, DeleteReason, Plan, PlanScaling } from './plan';
import { accountedPlan, AccountBook, accountText, EMPTY_BOOK, parseAccount, WarmUpAccount } from './warm-up-account';
import { describeScaleIn } from './scale-in';
import { buildSnapshot, DEMAND_CAP, GroupDeclaration, Snapshot } from './snapshot';
import { orphansToDelete, reconcileGroup } from './reconcile';
import { inScaleOperation, NO_SCALER_EVENTS, ScalerEvents } from './events';
import { dueToPublish, groupViewState, groupViewText, LastPublished, mayPublish } from './published-view';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Runs one retention pass deletes at most: a backlog goes over the next ticks, in short transactions. */
const FORGET_BATCH = 1000;

export const SCALER_LEASE = 'scaler';
/**
 * The shortest gap between two triggered cycles. It bounds the work of planning, so it is wall
 * time, read from the process's monotonic clock: the injected `now` is the time runs and bots are
 * stamped with, which tests freeze or set back, and a clock set back would hold triggers off for
 * as long as it went back.
 */
const MIN_GAP_MS = 20;
const wallClock = (): number => performance.now();

/**
 * What the scaler announces, for the metrics and anything else that watches it. What happens to
 * runs and bots in the sweep the queue announces (queue/events.ts).
 */
export type { ScalerEvents } from './events';

export interface ScalerOptions {
  readonly store: Store;
  readonly driver: ComputeDriver;
  readonly manifest: FleetManifest;
  /** The run queue: the sweep goes through it, so that it wakes claims and announces what it ended. */
  readonly queue: RunQueue;
  /** Identifies this replica in the lease. */
  readonly holder: string;
  /** @default 15000 */
  readonly tickMs?: number;
  /** @default 3 × tickMs, at least 5 s */
  readonly leaseTtlMs?: number;
  /** First back-off after an ARM error; it doubles up to backoffMaxMs. @default 30000 */
  readonly backoffBaseMs?: number;
  /** @default 900000 (15 minutes) */
  readonly backoffMaxMs?: number;
  /** How long a claim may wait; an idle bot silent for longer than twice this (plus heartbeats) is lost. @default 30000 */
  readonly claimWaitMs?: number;
  readonly now?: () => number;
  readonly log?: (event: string, fields?: Record<string, unknown>) => void;
  /** @default nobody is told */
  readonly events?: ScalerEvents;
}

const MINUTE = 60_000;
/** Scale-ins remembered per group for its view, the newest first. */
export const RECENT_SCALE_INS = 5;

/** A scale-in the scaler carried out, for the group's view: when, which bots, and why. */
export interface ScaleInRecord {
  readonly at: number;
  readonly botIds: readonly string[];
  readonly reason: DeleteReason;
  /** For a rebalance: the groups it made room for. */
  readonly to?: readonly string[];
  /** For a rebalance: the share the group was held to. */
  readonly share?: number;
}

export function planScaling(scaling: ScalingSettings): PlanScaling {
  return {
    idleMinutes: scaling.idleMinutes,
    standbyBots: scaling.standbyBots,
    coldAfterHours: scaling.coldAfterHours,
    bootTimeoutMinutes: scaling.bootTimeoutMinutes,
    recycleAfterRuns: scaling.recycleAfterRuns,
    predictive: scaling.predictive,
    predictiveLeadMinutes: scaling.predictiveLeadMinutes,
    predictiveMaxBots: scaling.predictiveMaxBots,
    spareBot: scaling.spareBot,
  };
}

export class Scaler {
  private readonly store: Store;
  private readonly driver: ComputeDriver;
  private readonly manifest: FleetManifest;
  private readonly queue: RunQueue;
  private readonly holder: string;
  private readonly tickMs: number;
  private readonly leaseTtlMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly claimWaitMs: number;
  private readonly now: () => number;
  private readonly log: (event: string, fields?: Record<string, unknown>) => void;
  private readonly events: ScalerEvents;
  private readonly groups: Map<string, ManifestGroup>;
  /** The declared groups, as plan() reads them. */
  private readonly declared: ReadonlyMap<string, GroupDeclaration>;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly deletesInFlight = new Set<string>();
  private timer?: NodeJS.Timeout;
  private cycling?: Promise<void>;
  private again = false;
  private reconcileDue = true;
  /** Per group, VMs seen unknown over the caps, and since when: reconcile deletes them on a second sighting. */
  private readonly suspects = new Map<string, Map<string, number>>();
  /** The periodic work (lease, sweep, reconcile) runs on ticks, not on every trigger. */
  private tickDue = true;
  private leaseRenewedAt = 0;
  /** When the last cycle ended, on wallClock. */
  private lastCycleAt = Number.NEGATIVE_INFINITY;
  private delayed?: NodeJS.Timeout;
  private writtenLimits = '';
  private stopped = false;
  private leader = false;
  private latest?: Plan;
  /** Whether any group has predictive warm-up on, so the history is worth reading. */
  private readonly predictive: boolean;
  /** The arrival history of each group, as read on the last tick. */
  private history: Readonly<Record<string, ArrivalHistory>> = {};
  private readonly scaleIns = new Map<string, ScaleInRecord[]>();
  /** The warm-up accounts while this replica leads: read from the store when it starts leading. */
  private book?: AccountBook;
  /** What this replica last published of each group while it leads, and when. */
  private readonly published = new Map<string, LastPublished>();

  constructor(options: ScalerOptions) {
    this.store = options.store;
    this.driver = options.driver;
    this.manifest = options.manifest;
    this.queue = options.queue;
    this.holder = options.holder;
    this.tickMs = options.tickMs ?? 15_000;
    this.leaseTtlMs = options.leaseTtlMs ?? Math.max(5_000, 3 * this.tickMs);
    this.backoffBaseMs = options.backoffBaseMs ?? 30_000;
    this.backoffMaxMs = options.backoffMaxMs ?? 15 * MINUTE;
    this.claimWaitMs = options.claimWaitMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.events = options.events ?? NO_SCALER_EVENTS;
    this.groups = new Map(options.manifest.groups.map((g) => [g.name, g]));
    this.declared = new Map(
      options.manifest.groups.map((g) => [g.name, { name: g.name, maxBots: g.maxBots, committedBots: g.committedBots, imageKey: botModelKeyOf(g), scaling: planScaling(g.scaling) }]),
    );
    this.predictive = options.manifest.groups.some((g) => planScaling(g.scaling).predictive);
  }

  /** True while this replica holds the scaler lease. */
  get isLeader(): boolean {
    return this.leader;
  }

  /** The latest plan, for "why it waits". */
  get lastPlan(): Plan | undefined {
    return this.latest;
  }

  /** The group's warm-up account, while this replica leads and the group has predictive warm-up. */
  warmUpAccount(group: string): WarmUpAccount | undefined {
    return this.book?.groups[group];
  }

  /** The group's last RECENT_SCALE_INS scale-ins by this replica, the newest first. */
  recentScaleIns(group: string): readonly ScaleInRecord[] {
    return this.scaleIns.get(group) ?? [];
  }

  async start(): Promise<void> {
    await this.store.syncGroups(
      this.manifest.groups.map((g) => ({ name: g.name, vmss: g.vmss })),
      this.now(),
    );
    const removed = (await this.store.groups()).filter((g) => !g.declared).map((g) => g.name);
    if (removed.length) {
      const cancelled = await this.queue.cancelRemovedGroupRuns(removed, this.now());
      this.log('scaler.groups_removed', { groups: removed, cancelledRuns: cancelled.length });
    }
    this.timer = setInterval(() => {
      this.reconcileDue = true;
      this.tickDue = true;
      this.trigger();
    }, this.tickMs);
    this.timer.unref?.();
    await this.cycle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.delayed) clearTimeout(this.delayed);
    await this.cycling;
    await Promise.allSettled([...this.chains.values()]);
    if (this.leader) await this.store.releaseLease(SCALER_LEASE, this.holder).catch(() => undefined);
    this.leader = false;
  }

  /** Runs a cycle soon; cycles never overlap, and triggers during one coalesce into one more. */
  trigger(): void {
    if (this.stopped) return;
    if (this.cycling) {
      this.again = true;
      return;
    }
    // Under load, triggers come with every enqueue and completion: plan at most every MIN_GAP_MS.
    const wait = this.lastCycleAt + MIN_GAP_MS - wallClock();
    if (wait > 0) {
      this.delayed ??= setTimeout(() => {
        this.delayed = undefined;
        void this.cycle();
      }, wait);
      return;
    }
    void this.cycle();
  }

  /** One cycle. Resolves when its store changes are done; ARM calls continue in the group queues. */
  cycle(): Promise<void> {
    if (this.cycling) {
      this.again = true;
      return this.cycling;
    }
    this.cycling = this.runCycle()
      .catch((err) => this.log('scaler.cycle_failed', { error: (err as Error).message }))
      .finally(() => {
        this.cycling = undefined;
        this.lastCycleAt = wallClock();
        if (this.again && !this.stopped) {
          this.again = false;
          this.trigger();
        }
      });
    return this.cycling;
  }

  /** Waits until every queued ARM call has finished (for tests and shutdown). */
  async settle(): Promise<void> {
    while (this.chains.size > 0 || this.cycling) {
      await Promise.allSettled([...this.chains.values()]);
      await this.cycling;
    }
  }

  private async runCycle(): Promise<void> {
    if (this.stopped) return;
    const now = this.now();
    const tick = this.tickDue;
    this.tickDue = false;
    if (tick || now - this.leaseRenewedAt > this.leaseTtlMs / 3) {
      this.leader = await this.store.acquireLease(SCALER_LEASE, this.holder, this.leaseTtlMs, now);
      if (this.leader) this.leaseRenewedAt = now;
    }
    if (!this.leader) {
      // Another replica leads and keeps the accounts; read them afresh when leading again.
      this.book = undefined;
      this.published.clear();
      return;
    }
    if (!this.book && this.predictive) this.book = await this.loadAccounts();

    if (this.reconcileDue) {
      this.reconcileDue = false;
      for (const state of await this.store.groups()) {
        const vmss = this.scaleSetOf(state);
        if (vmss) this.enqueueArm(state.name, () => this.reconcile(state.name, vmss));
      }
    }

    if (tick) {
      const swept = await this.queue.sweep(this.sweepGroups(), now);
      if (swept.lostBots.length || swept.requeued.length || swept.timedOut.length || swept.expiredGroups.length) {
        this.log('scaler.sweep', {
          expired: swept.expired.length,
          timedOut: swept.timedOut.length,
          requeued: swept.requeued.length,
          failedLost: swept.failedLost.length,
          lostBots: swept.lostBots,
          expiredGroups: swept.expiredGroups,
        });
      }
      await this.forgetOldRuns(now);
    }

    if (tick && this.predictive) {
      try {
        this.history = await this.store.arrivalHistory(now);
      } catch (err) {
        // Scaling goes on without a fresh forecast; the next tick reads again.
        this.log('scaler.history_failed', { error: (err as Error).message });
      }
    }

    const states = await this.store.groups();
    // No group wants more bots than its maxBots (at most 50), so counting further is wasted,
    // except on ticks, whose samples chart the queue's real length.
    const counts = await this.store.queueCounts(tick ? undefined : DEMAND_CAP);
    const bots = await this.store.bots();
    if (tick) await this.recordSamples(states, counts, bots, now);
    const snapshot = this.snapshot(states, counts, bots);
    const accounted = accountedPlan(snapshot.plan, { groups: snapshot.settings }, now, this.book ?? EMPTY_BOOK);
    const decided = accounted.plan;
    // Unread accounts (the store failed) are not replaced by fresh ones: the next cycle reads again.
    if (this.book) this.book = accounted.book;
    if (tick && this.book) await this.saveAccounts(now);
    this.latest = decided;
    const limits = Object.fromEntries(Object.entries(decided.groups).map(([g, p]) => [g, p.claimLimit]));
    const written = JSON.stringify(limits);
    if (tick || written !== this.writtenLimits) {
      await this.store.setClaimLimits(limits);
      this.writtenLimits = written;
    }

    for (const action of decided.actions) {
      if (action.kind === 'fail') {
        const failed = await this.store.markFailed(action.botIds, 'boot_timeout', now);
        if (failed.length) this.events.scalerAction({ ...action, botIds: failed.map((b) => b.id) });
        for (const bot of failed) {
          this.events.provisioningError(action.group, 'BootTimeout');
          const minutes = this.groups.get(action.group)?.scaling.bootTimeoutMinutes;
          await this.store.recordProvisioningError({
            group: action.group,
            at: now,
            operation: 'boot',
            code: 'BootTimeout',
            message: `bot ${bot.id}${bot.vmName ? ` (VM ${bot.vmName})` : ''} did not register within ${minutes} minutes; it is deleted`,
          });
        }
        if (failed.length) this.again = true;
      } else if (action.kind === 'delete') {
        // An idle time-out moves only bots still idle since the plan saw them: after idleMinutes,
        // or after EARLY_IDLE_MINUTES for a burst's leftovers (scale-in.ts, idleTimedOut).
        await this.scaleIn(action, action.reason === 'idle' ? action.idleSince : undefined, now);
      } else {
        await this.scaleOut(action.group, action.count, now);
      }
    }
    await this.publishViews(now);
  }

  /**
   * Each declared group's view, for the replicas that do not lead: written when due
   * (dueToPublish), all in one write. A failed write is logged and tried again next cycle; the
   * cycle goes on.
   */
  private async publishViews(now: number): Promise<void> {
    const due: Record<string, string> = {};
    for (const group of this.groups.keys()) {
      const last = this.published.get(group);
      if (!mayPublish(last, now)) continue;
      const text = groupViewText(groupViewState(this.latest?.groups[group], this.book?.groups[group], this.recentScaleIns(group), now));
      if (dueToPublish(last, text, now)) due[group] = text;
    }
    if (Object.keys(due).length === 0) return;
    try {
      await this.store.publishGroupViews(due, now);
    } catch (err) {
      this.log('scaler.view_publish_failed', { groups: Object.keys(due), error: (err as Error).message });
      return;
    }
    for (const [group, text] of Object.entries(due)) this.published.set(group, { text, at: now });
  }

  private scaleSetOf(state: GroupState): ScaleSetRef | undefined {
    return this.groups.get(state.name)?.vmss ?? state.vmss;
  }

  private capsOf(group: string): Caps {
    return { maxBots: this.groups.get(group)?.maxBots ?? 0, capacity: this.manifest.environment.botCapacity };
  }

  /**
   * Retention: finished runs and their output go after runRetentionDays, and so do audit records;
   * idempotency keys after theirs.
   */
  private async forgetOldRuns(now: number): Promise<void> {
    const env = this.manifest.environment;
    const forgot = await this.store.forget({
      runsFinishedBefore: now - env.runRetentionDays * DAY_MS,
      idempotencyKeysBefore: now - env.idempotencyKeyHours * HOUR_MS,
      auditRecordsBefore: now - env.runRetentionDays * DAY_MS,
      limit: FORGET_BATCH,
    });
    if (forgot.runs > 0 || forgot.keys > 0 || forgot.audit > 0) this.log('scaler.retention', { runsDeleted: forgot.runs, keysDropped: forgot.keys, auditRecordsDeleted: forgot.audit });
  }

  private sweepGroups(): SweepGroup[] {
    return this.manifest.groups.map((g) => ({
      name: g.name,
      queueTimeoutMs: g.scaling.queueTimeoutHours * 60 * MINUTE,
      heartbeatTimeoutMs: 3 * g.scaling.heartbeatSeconds * 1000,
      idleSilenceMs: 2 * this.claimWaitMs + 3 * g.scaling.heartbeatSeconds * 1000,
      maxAttempts: g.scaling.maxAttempts,
      inactiveMs: g.scaling.inactiveDays * 24 * 60 * MINUTE,
      committedBots: g.committedBots,
    }));
  }

  /** Each group's sample for the dashboard's chart; scaling goes on if the write fails. */
  private async recordSamples(states: readonly GroupState[], counts: readonly QueueCounts[], bots: readonly Bot[], now: number): Promise<void> {
    const byGroup = new Map(counts.map((c) => [c.group, c]));
    const samples: GroupSample[] = states.map((state) => {
      const botCounts = Object.fromEntries(SAMPLED_BOT_STATES.map((s) => [s, 0])) as Record<(typeof SAMPLED_BOT_STATES)[number], number>;
      for (const bot of bots) if (bot.group === state.name && bot.state !== 'deleted') botCounts[bot.state]++;
      const c = byGroup.get(state.name);
      return { group: state.name, queued: c?.queued ?? 0, running: c?.running ?? 0, bots: botCounts };
    });
    try {
      await this.store.recordGroupSamples(samples, now);
    } catch (err) {
      this.log('scaler.samples_failed', { error: (err as Error).message });
    }
  }

  /** The accounts the store holds; one that fails its check starts afresh, and a failed read is tried again next cycle. */
  private async loadAccounts(): Promise<AccountBook | undefined> {
    let texts: Record<string, string>;
    try {
      texts = await this.store.warmUpAccounts();
    } catch (err) {
      this.log('scaler.warm_up_accounts_failed', { operation: 'read', error: (err as Error).message });
      return undefined;
    }
    const groups: Record<string, WarmUpAccount> = {};
    for (const [group, text] of Object.entries(texts)) {
      if (!this.declared.get(group)?.scaling.predictive) continue;
      try {
        groups[group] = parseAccount(text, group);
      } catch (err) {
        this.log('scaler.warm_up_account_refused', { group, error: (err as Error).message });
      }
    }
    return { groups, capacityBound: false };
  }

  /** The accounts written on ticks; scaling goes on if the write fails. */
  private async saveAccounts(now: number): Promise<void> {
    const texts = Object.fromEntries(Object.entries(this.book?.groups ?? {}).map(([group, account]) => [group, accountText(account)]));
    if (Object.keys(texts).length === 0) return;
    try {
      await this.store.saveWarmUpAccounts(texts, now);
    } catch (err) {
      this.log('scaler.warm_up_accounts_failed', { operation: 'write', error: (err as Error).message });
    }
  }

  private snapshot(states: GroupState[], counts: readonly QueueCounts[], bots: readonly Bot[]): Snapshot {
    const env = this.manifest.environment;
    return buildSnapshot({
      capacity: env.botCapacity,
      enabled: env.enabled,
      declared: this.declared,
      undeclaredScaling: planScaling(env.scaling),
      states,
      bots,
      counts,
      history: this.history,
      timeZone: env.timeZone,
    });
  }

  /** ARM calls of one group run one after another. */
  private enqueueArm(group: string, op: () => Promise<void>): void {
    const previous = this.chains.get(group) ?? Promise.resolve();
    const next = previous
      .then(op)
      .catch((err) => this.log('scaler.arm_failed', { group, error: (err as Error).message }))
      .finally(() => {
        if (this.chains.get(group) === next) this.chains.delete(group);
        this.trigger();
      });
    this.chains.set(group, next);
  }

  private async scaleOut(group: string, count: number, now: number): Promise<void> {
    const manifestGroup = this.groups.get(group);
    if (!manifestGroup) return;
    const created = await this.store.createBots(group, count, botModelKeyOf(manifestGroup), this.capsOf(group), now);
    if (created.length === 0) return;
    this.events.scalerAction({ kind: 'create', group, count: created.length });
    this.log('scaler.scale_out', { group, bots: created.map((b) => b.id) });
    const vmss = manifestGroup.vmss;
    const createdIds = new Set(created.map((b) => b.id));
    this.enqueueArm(group, () => inScaleOperation(this.events, { kind: 'create', group, count: created.length, reason: 'demand' }, async () => {
      const capacity = await this.capacityOf(group);
      try {
        await this.driver.setCapacity(vmss, capacity);
        await this.store.setBackoff(group, undefined, 0);
      } catch (err) {
        await this.recordArmError(group, 'setCapacity', err);
      }
      await this.reconcile(group, vmss);
      // Bots created for this scale-out that got no VM will never boot.
      const orphans = (await this.store.bots(group)).filter((b) => createdIds.has(b.id) && b.state === 'provisioning' && !b.vmName);
      if (orphans.length && (await this.backingOff(group))) {
        const failed = await this.store.markFailed(orphans.map((b) => b.id), 'scale-out failed', this.now());
        await this.store.markDeleted(failed.map((b) => b.id), this.now(), this.maxAttempts());
      }
    }));
  }

  private async scaleIn(action: DeleteAction, idleBefore: number | undefined, now: number): Promise<void> {
    const { group } = action;
    const moved = await this.store.markDeleting(action.botIds, action.from, now, idleBefore);
    if (moved.length === 0) return;
    const done: DeleteAction = { ...action, botIds: moved.map((b) => b.id) };
    this.events.scalerAction(done);
    const why = { reason: done.reason, ...(done.to ? { to: done.to } : {}), ...(done.share !== undefined ? { share: done.share } : {}) };
    this.log('scaler.scale_in', { group, bots: done.botIds, ...why, message: describeScaleIn(done) });
    this.scaleIns.set(group, [{ at: now, botIds: done.botIds, ...why }, ...(this.scaleIns.get(group) ?? [])].slice(0, RECENT_SCALE_INS));
    const withoutVm = moved.filter((b) => !b.vmName);
    if (withoutVm.length) await this.store.markDeleted(withoutVm.map((b) => b.id), now, this.maxAttempts());
    const withVm = moved.filter((b) => b.vmName);
    if (withVm.length === 0) return;
    const state = (await this.store.groups()).find((g) => g.name === group);
    const vmss = state && this.scaleSetOf(state);
    if (!vmss) return;
    this.enqueueArm(group, () => inScaleOperation(this.events, { kind: 'delete', group, count: withVm.length, reason: done.reason }, () => this.deleteVms(group, vmss, withVm)));
  }

  private async deleteVms(group: string, vmss: ScaleSetRef, bots: readonly Bot[]): Promise<void> {
    const names = bots.map((b) => b.vmName!).filter((n) => !this.deletesInFlight.has(n));
    if (names.length === 0) return;
    names.forEach((n) => this.deletesInFlight.add(n));
    try {
      await this.driver.deleteInstances(vmss, names);
      await this.store.markDeleted(bots.filter((b) => names.includes(b.vmName!)).map((b) => b.id), this.now(), this.maxAttempts());
    } catch (err) {
      if (err instanceof ComputeError && (err.statusCode === 404 || /NotFound/.test(err.code))) {
        // Some VMs were already gone (e.g. deleted by a replica that led before us): not a fault.
        // If the list fails too, the bots stay `deleting` and the next reconcile settles them.
        const listed = await this.driver.listInstances(vmss).catch(() => undefined);
        if (listed) {
          const present = new Set(listed.map((vm) => vm.name));
          const gone = bots.filter((b) => names.includes(b.vmName!) && !present.has(b.vmName!));
          await this.store.markDeleted(gone.map((b) => b.id), this.now(), this.maxAttempts());
        }
      } else {
        // The bots stay `deleting`; the next reconcile deletes what still exists.
        await this.recordArmError(group, 'deleteInstances', err);
      }
    } finally {
      names.forEach((n) => this.deletesInFlight.delete(n));
    }
  }

  /** The capacity to ask ARM for: every VM we keep, plus the bots still waiting for one. */
  private async capacityOf(group: string): Promise<number> {
    const bots = await this.store.bots(group);
    return bots.filter((b) => b.vmName !== undefined || b.state === 'provisioning').length;
  }

  private maxAttempts(): Record<string, number> {
    return Object.fromEntries(this.manifest.groups.map((g) => [g.name, g.scaling.maxAttempts]));
  }

  /**
   * Brings the store in line with ARM: VMs nobody knows are bound to waiting bots, adopted, or
   * deleted; bots whose VM is gone end (their runs go back to the queue); deletions that did not
   * finish are sent again; scale-outs lost in a crash are sent again.
   */
  private async reconcile(group: string, vmss: ScaleSetRef): Promise<void> {
    let vms;
    try {
      vms = await this.driver.listInstances(vmss);
    } catch (err) {
      await this.recordArmError(group, 'listInstances', err);
      return;
    }
    const now = this.now();
    const manifestGroup = this.groups.get(group);
    const decision = reconcileGroup(vms, await this.store.bots(group));

    let unplaced: string[] = [];
    if (decision.bind.length) {
      const caps = manifestGroup ? this.capsOf(group) : { maxBots: 0, capacity: 0 };
      const bound = await this.store.bindVms(group, decision.bind, manifestGroup ? botModelKeyOf(manifestGroup) : '', caps, now);
      if (bound.bound.length) this.log('scaler.bound', { group, vms: bound.bound.map((b) => b.vmName) });
      unplaced = bound.unplaced;
    }
    // Over the caps: deleted only once seen so twice, a lease apart (reconcile.ts says why).
    const orphans = orphansToDelete(unplaced, this.suspects.get(group) ?? new Map(), now, this.leaseTtlMs);
    this.suspects.set(group, orphans.suspects);
    if (orphans.suspects.size) this.log('scaler.unplaced_vms', { group, vms: [...orphans.suspects.keys()], deleteAfterMs: this.leaseTtlMs });
    if (orphans.delete.length) {
      this.log('scaler.orphans_deleted', { group, vms: orphans.delete });
      await inScaleOperation(this.events, { kind: 'delete', group, count: orphans.delete.length, reason: 'orphan' }, async () => {
        try {
          await this.driver.deleteInstances(vmss, orphans.delete);
        } catch (err) {
          await this.recordArmError(group, 'deleteInstances', err);
        }
      });
    }

    if (decision.gone.length) {
      await this.store.markDeleted(decision.gone, now, this.maxAttempts());
      this.queue.notifier.notify(group);
      this.log('scaler.vms_gone', { group, bots: decision.gone });
    }
    if (decision.failed.length) await this.store.markFailed(decision.failed, 'VM provisioning failed', now);
    if (decision.deleteAgain.length) {
      await inScaleOperation(this.events, { kind: 'delete', group, count: decision.deleteAgain.length, reason: 'retry' }, () => this.deleteVms(group, vmss, decision.deleteAgain));
    }

    if (manifestGroup && !(await this.backingOff(group))) {
      const wanted = await this.capacityOf(group);
      if (wanted > decision.existing) {
        // VMs for bots still waiting for one: a scale-out that backed off, or was lost in a crash.
        await inScaleOperation(this.events, { kind: 'create', group, count: wanted - decision.existing, reason: 'reconcile' }, async () => {
          try {
            await this.driver.setCapacity(vmss, wanted);
            const listed = new Set(vms.map((vm) => vm.name));
            const after = await this.driver.listInstances(vmss);
            const fresh = after.filter((vm) => !listed.has(vm.name)).map((vm) => ({ name: vm.name, vmId: vm.vmId }));
            if (fresh.length) await this.store.bindVms(group, fresh, botModelKeyOf(manifestGroup), this.capsOf(group), this.now());
          } catch (err) {
            await this.recordArmError(group, 'setCapacity', err);
          }
        });
      }
    }
  }

  private async backingOff(group: string): Promise<boolean> {
    const until = (await this.store.groups()).find((g) => g.name === group)?.backoffUntil;
    return until !== undefined && until > this.now();
  }

  private async recordArmError(group: string, operation: string, err: unknown): Promise<void> {
    const now = this.now();
    const code = err instanceof ComputeError ? err.code : 'InternalError';
    const message = err instanceof Error ? err.message : String(err);
    await this.store.recordProvisioningError({ group, at: now, operation, code, message });
    this.events.provisioningError(group, code);
    const state = (await this.store.groups()).find((g) => g.name === group);
    const level = (state?.backoffLevel ?? 0) + 1;
    const wait = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (level - 1));
    await this.store.setBackoff(group, now + wait, level);
    this.log('scaler.arm_error', { group, operation, code, message, backoffMs: wait });
  }
}
