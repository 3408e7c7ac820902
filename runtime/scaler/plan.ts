/**
 * The scaler's decisions, as one pure function: `plan(snapshot, settings, now) → actions`.
 *
 * The runtime, the demo and the benchmark simulator all call it. It never performs I/O and never
 * reads the clock: everything it knows is in its arguments, so it can be replayed and tested.
 *
 * Policy:
 * - Each group wants a bot per queued or running run, plus its standby bots while it is warm,
 *   capped by its maxBots.
 * - Capacity goes to committed bots first; the rest is shared by demand as max-min fair shares.
 * - Bots that are provisioning or being deleted count against every cap until ARM confirms.
 * - A busy bot is never taken away. While capacity is contended, a group above its share gets a
 *   claim limit, so its bots go idle as runs finish, and those idle bots are deleted at once to
 *   make room for the groups below their share.
 * - Idle bots are deleted after idleMinutes, keeping the standby bots; bots that miss the boot
 *   time-out are marked failed and deleted.
 */
import type { ScalingSettings } from '../config/fleet-schema';
import type { BotState } from '../domain/bot';
import type { ArrivalHistory } from '../domain/history';
import { Forecast, forecast } from './history';

/**
 * The scaling settings plan() reads: a projection of the manifest's scaling settings, after
 * parsing (so every default, predictive warm-up's included, is filled in; see fleet-schema.ts).
 */
export type PlanScaling = Pick<
  ScalingSettings,
  'idleMinutes' | 'standbyBots' | 'coldAfterHours' | 'bootTimeoutMinutes' | 'recycleAfterRuns' | 'predictive' | 'predictiveLeadMinutes' | 'predictiveMaxBots' | 'spareBot'
>;

export type GroupStatus = 'active' | 'paused' | 'expired' | 'removed';

export interface PlanGroup {
  readonly name: string;
  readonly maxBots: number;
  readonly committedBots: number;
  readonly status: GroupStatus;
  readonly queued: number;
  readonly running: number;
  /** Last enqueue or start, for the warm/cold decision. */
  readonly lastActivityAt: number;
  /** No scale-out before this time, after ARM errors. */
  readonly backoffUntil?: number;
  /** The image bots should run; bots on another one are replaced when idle. */
  readonly imageKey: string;
  /** Arrivals and busy time per slot, for predictive warm-up. */
  readonly history?: ArrivalHistory;
}

export interface PlanBot {
  readonly id: string;
  readonly group: string;
  readonly state: BotState;
  readonly createdAt: number;
  /** For idle bots: since when they are idle. */
  readonly stateChangedAt: number;
  readonly imageKey: string;
  readonly runsCompleted: number;
}

export interface PlanSnapshot {
  /** The bot capacity the plan allows (the trial plan is already applied). */
  readonly capacity: number;
  readonly enabled: boolean;
  readonly groups: readonly PlanGroup[];
  /** Live bots: every state but `deleted`. */
  readonly bots: readonly PlanBot[];
  /** The environment's IANA time zone: the forecast's days and times of day are local to it. @default 'UTC' */
  readonly timeZone?: string;
}

export interface PlanSettings {
  /** Resolved scaling settings of each group, by name. */
  readonly groups: Readonly<Record<string, PlanScaling>>;
}

export type DeleteReason = 'idle' | 'rebalance' | 'failed' | 'disabled' | 'removed' | 'expired' | 'outdated' | 'recycle';

export type ScalerAction =
  | { readonly kind: 'create'; readonly group: string; readonly count: number }
  | { readonly kind: 'delete'; readonly group: string; readonly botIds: readonly string[]; readonly reason: DeleteReason; readonly from: readonly BotState[] }
  | { readonly kind: 'fail'; readonly group: string; readonly botIds: readonly string[]; readonly reason: 'boot_timeout' };

/** Why a group's runs are waiting, in words a user reads on the dashboard. */
export type WaitReason =
  | { readonly code: 'provisioning'; readonly bots: number }
  | { readonly code: 'group_at_max_bots'; readonly maxBots: number }
  | { readonly code: 'capacity_in_use'; readonly capacity: number }
  | { readonly code: 'group_paused' }
  | { readonly code: 'group_expired' }
  | { readonly code: 'environment_disabled' }
  | { readonly code: 'backoff'; readonly until: number }
  | { readonly code: 'fair_share'; readonly share: number };

export interface GroupPlan {
  /** Bots the group wants: queued + running + standby, capped by maxBots. */
  readonly desired: number;
  /** Its share of the capacity: committed first, then max-min fair. */
  readonly entitlement: number;
  /** Bots counting against the caps (every live state). */
  readonly live: number;
  /** Bots that can run flows now or soon: provisioning, idle, busy. */
  readonly serving: number;
  readonly created: number;
  /** Most busy bots the group may have; set only while capacity is contended or exceeded. */
  readonly claimLimit?: number;
  readonly waiting: readonly WaitReason[];
  /** With predictive warm-up: the forecast, and the bots it adds beyond queued, running and standby. */
  readonly forecast?: Forecast & { readonly warmBots: number };
}

export interface Plan {
  readonly actions: readonly ScalerAction[];
  readonly groups: Readonly<Record<string, GroupPlan>>;
  /** The groups together want more bots than the capacity. */
  readonly capacityBound: boolean;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Max-min fair shares of `pool` among `wants`, one bot at a time to the group with the smallest
 * share; ties go to the group holding fewer bots in all (`base`, e.g. its committed bots), then
 * in declaration order.
 */
export function fairShares(
  pool: number,
  wants: ReadonlyArray<{ readonly name: string; readonly want: number; readonly base?: number }>,
): Record<string, number> {
  const shares: Record<string, number> = Object.fromEntries(wants.map((w) => [w.name, 0]));
  let open = wants.filter((w) => w.want > 0);
  let left = pool;
  const total = (w: { name: string; base?: number }) => shares[w.name] + (w.base ?? 0);
  while (left > 0 && open.length > 0) {
    let pick = open[0];
    for (const w of open) {
      if (shares[w.name] < shares[pick.name] || (shares[w.name] === shares[pick.name] && total(w) < total(pick))) pick = w;
    }
    shares[pick.name] += 1;
    left -= 1;
    open = open.filter((w) => shares[w.name] < w.want);
  }
  return shares;
}

export function plan(snapshot: PlanSnapshot, settings: PlanSettings, now: number): Plan {
  const actions: ScalerAction[] = [];
  const byGroup = new Map<string, PlanBot[]>();
  for (const g of snapshot.groups) byGroup.set(g.name, []);
  for (const b of snapshot.bots) {
    if (!byGroup.has(b.group)) byGroup.set(b.group, []);
    byGroup.get(b.group)!.push(b);
  }

  // Bots that missed their boot time-out fail; failed bots are deleted.
  const failing = new Set<string>();
  for (const g of snapshot.groups) {
    const scaling = settings.groups[g.name];
    const bots = byGroup.get(g.name) ?? [];
    const late = bots.filter((b) => b.state === 'provisioning' && scaling && now - b.createdAt > scaling.bootTimeoutMinutes * MINUTE).map((b) => b.id);
    if (late.length > 0) {
      actions.push({ kind: 'fail', group: g.name, botIds: late, reason: 'boot_timeout' });
      late.forEach((id) => failing.add(id));
    }
    const failed = bots.filter((b) => b.state === 'failed').map((b) => b.id);
    if (failed.length > 0) actions.push({ kind: 'delete', group: g.name, botIds: failed, reason: 'failed', from: ['failed'] });
  }

  // What each group wants.
  const demand = snapshot.groups.map((g) => {
    const scaling = settings.groups[g.name];
    const bots = (byGroup.get(g.name) ?? []).filter((b) => !failing.has(b.id));
    const busy = bots.filter((b) => b.state === 'busy').length;
    const warm = scaling !== undefined && now - g.lastActivityAt < scaling.coldAfterHours * HOUR;
    let want: number;
    let predicted: GroupPlan['forecast'];
    if (!snapshot.enabled || g.status === 'removed' || g.status === 'expired') want = busy;
    else if (g.status === 'paused') want = Math.max(busy, g.running);
    else {
      want = g.queued + g.running + (warm ? scaling?.standbyBots ?? 0 : 0);
      if (scaling?.predictive) {
        const f = forecast(g.history, now, scaling.predictiveLeadMinutes, { timeZone: snapshot.timeZone, spareBot: scaling.spareBot });
        const target = Math.min(f.bots, scaling.predictiveMaxBots ?? g.maxBots, g.maxBots);
        predicted = { ...f, warmBots: Math.max(0, target - Math.min(want, g.maxBots)) };
        want = Math.max(want, target);
      }
    }
    return { group: g, bots, busy, desired: Math.min(want, g.maxBots), predicted };
  });

  const capacity = snapshot.capacity;
  const committed = demand.map((d) => ({ name: d.group.name, base: Math.min(d.group.committedBots, d.desired) }));
  const pool = Math.max(0, capacity - committed.reduce((s, c) => s + c.base, 0));
  const shares = fairShares(
    pool,
    demand.map((d, i) => ({ name: d.group.name, want: d.desired - committed[i].base, base: committed[i].base })),
  );
  const entitlement: Record<string, number> = {};
  demand.forEach((d, i) => (entitlement[d.group.name] = committed[i].base + shares[d.group.name]));
  const capacityBound = demand.reduce((s, d) => s + d.desired, 0) > capacity;
  // After a deploy lowered maxBots or the capacity, more bots may serve than allowed: they go as
  // they become idle, and meanwhile their group takes no more runs than it is now allowed.
  const serving = (bots: readonly PlanBot[]) => bots.filter((b) => b.state === 'provisioning' || b.state === 'idle' || b.state === 'busy').length;
  const overCapacity = demand.reduce((s, d) => s + serving(d.bots), 0) > capacity;
  const limited = (d: (typeof demand)[number]) => capacityBound || overCapacity || serving(d.bots) > d.group.maxBots;

  // Scale in.
  const deleting = new Set<string>();
  const remove = (group: string, bots: PlanBot[], reason: DeleteReason) => {
    if (bots.length === 0) return;
    bots.forEach((b) => deleting.add(b.id));
    actions.push({ kind: 'delete', group, botIds: bots.map((b) => b.id), reason, from: ['idle'] });
  };
  for (const d of demand) {
    const g = d.group;
    const scaling = settings.groups[g.name];
    // Longest idle first.
    const idle = d.bots.filter((b) => b.state === 'idle').sort((a, b) => a.stateChangedAt - b.stateChangedAt || a.id.localeCompare(b.id));
    const serving = d.bots.filter((b) => b.state === 'provisioning' || b.state === 'idle' || b.state === 'busy').length;

    // Bots on an old image or past their run budget are replaced as soon as they are idle.
    const outdated = idle.filter((b) => b.imageKey !== g.imageKey);
    remove(g.name, outdated, 'outdated');
    const recycle = scaling?.recycleAfterRuns;
    const worn = recycle ? idle.filter((b) => !deleting.has(b.id) && b.runsCompleted >= recycle) : [];
    remove(g.name, worn, 'recycle');
    let stillIdle = idle.filter((b) => !deleting.has(b.id));
    let stillServing = serving - outdated.length - worn.length;

    // Above its share: idle bots that cannot take a run within the group's claim limit go now,
    // so capacity moves to other groups as bots finish. Idle bots about to claim are kept.
    const excess = stillServing - entitlement[g.name];
    if (excess > 0) {
      const reason: DeleteReason = !snapshot.enabled ? 'disabled' : g.status === 'removed' ? 'removed' : g.status === 'expired' ? 'expired' : 'rebalance';
      const claimable = reason === 'rebalance' && g.status === 'active' ? Math.min(g.queued, Math.max(0, entitlement[g.name] - d.busy)) : 0;
      const surplus = Math.min(excess, Math.max(0, stillIdle.length - claimable));
      const goNow = limited(d) || reason !== 'rebalance' ? stillIdle.slice(0, surplus) : [];
      remove(g.name, goNow, reason);
      stillIdle = stillIdle.filter((b) => !deleting.has(b.id));
      stillServing -= goNow.length;
    }

    // Idle for idleMinutes: deleted, beyond the bots waiting runs and standby still need.
    if (scaling) {
      const keep = Math.max(0, entitlement[g.name] - (stillServing - stillIdle.length));
      const spare = stillIdle.slice(0, Math.max(0, stillIdle.length - keep));
      remove(g.name, spare.filter((b) => now - b.stateChangedAt >= scaling.idleMinutes * MINUTE), 'idle');
    }
  }

  // Scale out, within the free capacity; committed shortfalls first, then the largest gaps.
  const held = snapshot.bots.length;
  let free = Math.max(0, capacity - held);
  const gaps = demand
    .map((d) => {
      const serving = d.bots.filter((b) => !deleting.has(b.id) && (b.state === 'provisioning' || b.state === 'idle' || b.state === 'busy')).length;
      return { d, serving, gap: entitlement[d.group.name] - serving, committedGap: Math.min(d.group.committedBots, entitlement[d.group.name]) - serving };
    })
    .sort((a, b) => b.committedGap - a.committedGap || b.gap - a.gap);
  const created: Record<string, number> = {};
  const groupPlans: Record<string, GroupPlan> = {};
  for (const { d, serving, gap } of gaps) {
    const g = d.group;
    const live = d.bots.length + (byGroup.get(g.name)?.filter((b) => failing.has(b.id)).length ?? 0);
    const provisioning = d.bots.filter((b) => b.state === 'provisioning').length;
    const backingOff = g.backoffUntil !== undefined && g.backoffUntil > now;
    let count = 0;
    if (gap > 0 && !backingOff) {
      count = Math.min(gap, g.maxBots - live, free);
      if (count > 0) {
        actions.push({ kind: 'create', group: g.name, count });
        free -= count;
      }
    }
    created[g.name] = count;

    const waiting: WaitReason[] = [];
    if (g.queued > 0) {
      if (!snapshot.enabled) waiting.push({ code: 'environment_disabled' });
      else if (g.status === 'paused') waiting.push({ code: 'group_paused' });
      else if (g.status === 'expired') waiting.push({ code: 'group_expired' });
      else {
        if (provisioning + count > 0) waiting.push({ code: 'provisioning', bots: provisioning + count });
        if (g.queued + g.running > serving + count) {
          if (backingOff) waiting.push({ code: 'backoff', until: g.backoffUntil! });
          else if (live + count >= g.maxBots) waiting.push({ code: 'group_at_max_bots', maxBots: g.maxBots });
          // Below its share: others' busy bots hold the capacity. At its share: it is what fairness allows.
          else if (serving + count < entitlement[g.name]) waiting.push({ code: 'capacity_in_use', capacity });
          else waiting.push({ code: 'fair_share', share: entitlement[g.name] });
        }
      }
    }
    groupPlans[g.name] = {
      desired: d.desired,
      entitlement: entitlement[g.name],
      live,
      serving,
      created: count,
      claimLimit: limited(d) ? entitlement[g.name] : undefined,
      waiting,
      ...(d.predicted ? { forecast: d.predicted } : {}),
    };
  }

  return { actions, groups: groupPlans, capacityBound };
}
