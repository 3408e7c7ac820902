/**
 * The scaler's decisions, as one pure function: `plan(snapshot, settings, now) → actions`.
 *
 * The runtime, the demo and the benchmark simulator all call it. It never performs I/O and never
 * reads the clock: everything it knows is in its arguments, so it can be replayed and tested.
 *
 * Policy:
 * - Each group wants a bot per queued or running run (its runs), plus its standby bots while it is
 *   warm and the bots predictive warm-up forecasts beyond those, capped by its maxBots.
 * - Capacity goes to committed bots first. The rest is shared in two passes. First the runs:
 *   max-min fair shares weighted by demand (see weightOf: the square root of the group's queued
 *   and running runs, raised as its oldest queued run waits), so a group with a long queue gets
 *   more bots than one with a short queue without starving a group of fewer, longer runs, and
 *   every group whose runs wait gets at least one bot while the capacity allows. Then standby and
 *   warm-up, max-min fair, from what the runs leave: a forecast never holds a bot that another
 *   group's runs need.
 * - Bots that are provisioning or being deleted count against every cap until ARM confirms.
 * - A busy bot is never taken away. While capacity is contended, a group above its share gets a
 *   claim limit, so its bots go idle as runs finish, and those idle bots are deleted at once to
 *   make room for the groups below their share. A group with queued runs and a share of at least
 *   4 bots keeps up to REBALANCE_SLACK bots above it: moving a bot costs a delete and a boot,
 *   minutes of capacity, and shares shift whenever a queue does. Idle bots above a group's share also go at once
 *   when other groups' queued runs lack bots and there is no free capacity to create them.
 * - New bots go to committed shortfalls first, then to runs, then to standby and warm-up.
 * - Idle bots are deleted after idleMinutes, keeping the standby bots; bots that miss the boot
 *   time-out are marked failed and deleted. With predictive warm-up, idle bots beyond those the
 *   group's recent arrivals will likely use within idleMinutes (likelyReuse) go sooner, after
 *   EARLY_IDLE_MINUTES: the bots left over from a burst.
 */
import type { ScalingSettings } from '../config/fleet-schema';
import type { BotState } from '../domain/bot';
import type { ArrivalHistory } from '../domain/history';
import { Forecast, forecast, likelyReuse } from './history';

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
  /** Since when the group's longest-waiting queued run waits; absent when none is queued. */
  readonly oldestQueuedAt?: number;
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
  /** Bots the group wants: queued + running + standby, or the forecast when more, capped by maxBots. */
  readonly desired: number;
  /** Its share of the capacity: committed first, then shared by demand (see `shares`). */
  readonly entitlement: number;
  /**
   * The entitlement in its two passes: `runs` for queued and running runs (committed bots, then
   * the pool weighted by demand); `warm` for standby and warm-up (committed bots the runs leave,
   * then max-min fair shares of what the runs leave of the pool).
   */
  readonly shares?: { readonly runs: number; readonly warm: number };
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
 * A group's weight in the shares for runs doubles for each this many minutes its oldest queued
 * run has waited, so a group whose runs have waited longest gains bots, much as one queue served
 * oldest first would give them (bench/traces/run-lengths: the worst group's p95 went from 5,518 s
 * to 2,913 s with REBALANCE_SLACK).
 */
export const WAIT_WEIGHT_MINUTES = 10;
/**
 * While capacity is contended, a group with queued runs keeps claiming with up to this many bots
 * above its share before its idle bots go to other groups, once its share is at least twice the
 * slack (in a small fleet 2 bots are most of a share, and its groups get their plain shares).
 * Each move costs a delete and a boot, about 5 minutes of a bot, and shares shift with every
 * change in the queues; on bench/traces/run-lengths moving on every shift cost 400 more
 * bot-minutes of boots.
 */
export const REBALANCE_SLACK = 2;
/** With predictive warm-up, idle bots beyond the likely reuse are deleted after this long idle. */
export const EARLY_IDLE_MINUTES = 3;

/**
 * A group's weight in the shares for runs: the square root of its queued and running runs (at
 * least 1), times 1 + the minutes its oldest queued run has waited / WAIT_WEIGHT_MINUTES.
 *
 * The square root, not the count: a queue of many short runs drains fast with few bots, and
 * weighting by the count starved a group of fewer, longer runs (bench/traces/run-lengths). The
 * wait: a group whose few runs wait long (long runs, few bots) gains on a group whose many runs
 * are served quickly.
 */
export function weightOf(runs: number, oldestQueuedAt: number | undefined, now: number): number {
  const waited = oldestQueuedAt === undefined ? 0 : Math.max(0, now - oldestQueuedAt) / MINUTE;
  return Math.sqrt(Math.max(1, runs)) * (1 + waited / WAIT_WEIGHT_MINUTES);
}

/** A group's claim on a pool of bots, for fairShares(). */
export interface ShareWant {
  readonly name: string;
  /** Most bots the group takes from this pool. */
  readonly want: number;
  /** Bots the group holds outside this pool (e.g. its committed bots); ties go to the group holding fewer. */
  readonly base?: number;
  /** The group's weight, e.g. its queued and running runs; shares grow in proportion to it. @default 1 */
  readonly weight?: number;
  /** Gets one bot before the weighted sharing starts, when it holds none (base 0) and the pool allows. @default false */
  readonly floor?: boolean;
}

/**
 * Weighted max-min fair shares of `pool` among `wants`, one bot at a time. First every group with
 * a floor that holds no bot gets one, so a small group is never starved by a large one. Then each
 * bot goes to the group with the smallest share for its weight, (share + ½) / weight, which
 * rounds shares to the nearest whole bot of their exact proportion (Sainte-Laguë); a group that
 * reaches its want drops out and the rest is shared among the others. Ties go to the group
 * holding fewer bots in all (share + base), then to the first name. With every weight 1 these
 * are plain max-min fair shares.
 */
export function fairShares(pool: number, wants: readonly ShareWant[]): Record<string, number> {
  for (const w of wants) {
    const weight = w.weight ?? 1;
    if (!Number.isFinite(weight) || weight <= 0) throw new Error(`fairShares: the weight of group "${w.name}" must be a positive finite number, got ${weight}`);
  }
  const shares: Record<string, number> = Object.fromEntries(wants.map((w) => [w.name, 0]));
  // (share + ½) / weight compared by cross-multiplying, so that equal keys compare equal.
  const key = (a: ShareWant, b: ShareWant) => (2 * shares[a.name] + 1) * (b.weight ?? 1) - (2 * shares[b.name] + 1) * (a.weight ?? 1);
  const total = (w: ShareWant) => shares[w.name] + (w.base ?? 0);
  const before = (a: ShareWant, b: ShareWant) => {
    const k = key(a, b);
    return k < 0 || (k === 0 && (total(a) < total(b) || (total(a) === total(b) && a.name < b.name)));
  };
  let left = pool;
  const give = (from: readonly ShareWant[]) => {
    let pick = from[0];
    for (const w of from) if (before(w, pick)) pick = w;
    shares[pick.name] += 1;
    left -= 1;
  };
  let floors = wants.filter((w) => w.floor && (w.base ?? 0) === 0 && w.want > 0);
  while (left > 0 && floors.length > 0) {
    give(floors);
    floors = floors.filter((w) => shares[w.name] === 0);
  }
  let open = wants.filter((w) => shares[w.name] < w.want);
  while (left > 0 && open.length > 0) {
    give(open);
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
      const standby = warm ? scaling?.standbyBots ?? 0 : 0;
      want = g.queued + g.running + standby;
      if (scaling?.predictive) {
        const f = forecast(g.history, now, scaling.predictiveLeadMinutes, { timeZone: snapshot.timeZone, spareBot: scaling.spareBot });
        const target = Math.min(f.bots, scaling.predictiveMaxBots ?? g.maxBots, g.maxBots);
        // The spare bot is a learned standby: one bot ready beyond the runs queued and running.
        const withSpare = g.queued + g.running + Math.max(standby, f.spare);
        predicted = { ...f, warmBots: Math.max(0, Math.max(target, withSpare) - Math.min(want, g.maxBots)) };
        want = Math.max(withSpare, target);
      }
    }
    // Real demand, the runs queued and running, is shared first; standby and warm-up bots, the
    // rest of `want`, only get what real demand leaves.
    const runs = snapshot.enabled && g.status === 'active' ? g.queued + g.running : want;
    const desired = Math.min(want, g.maxBots);
    const weight = weightOf(runs, g.queued > 0 ? g.oldestQueuedAt : undefined, now);
    return { group: g, bots, busy, desired, runs: Math.min(runs, desired), weight, predicted };
  });

  // Committed bots first, for runs and then for standby and warm-up. Then the pool in two passes:
  // runs, weighted by demand, with one bot for every group whose runs wait; then what is left,
  // max-min fair, for standby and warm-up. A forecast thus never holds a bot that runs need.
  const capacity = snapshot.capacity;
  const committed = demand.map((d) => {
    const base = Math.min(d.group.committedBots, d.desired);
    return { base, runs: Math.min(base, d.runs) };
  });
  const pool = Math.max(0, capacity - committed.reduce((s, c) => s + c.base, 0));
  const forRuns = fairShares(
    pool,
    demand.map((d, i) => ({
      name: d.group.name,
      want: d.runs - committed[i].runs,
      base: committed[i].base,
      weight: d.weight,
      floor: snapshot.enabled && d.group.status === 'active' && d.group.queued > 0,
    })),
  );
  const poolLeft = pool - demand.reduce((s, d) => s + forRuns[d.group.name], 0);
  const forWarm = fairShares(
    poolLeft,
    demand.map((d, i) => ({
      name: d.group.name,
      // Standby and warm-up bots beyond those its committed bots already cover.
      want: d.desired - d.runs - (committed[i].base - committed[i].runs),
      base: committed[i].base + forRuns[d.group.name],
    })),
  );
  const entitlement: Record<string, number> = {};
  const passes: Record<string, NonNullable<GroupPlan['shares']>> = {};
  demand.forEach((d, i) => {
    const name = d.group.name;
    passes[name] = { runs: committed[i].runs + forRuns[name], warm: committed[i].base - committed[i].runs + forWarm[name] };
    entitlement[name] = passes[name].runs + passes[name].warm;
  });
  const capacityBound = demand.reduce((s, d) => s + d.desired, 0) > capacity;
  // After a deploy lowered maxBots or the capacity, more bots may serve than allowed: they go as
  // they become idle, and meanwhile their group takes no more runs than it is now allowed.
  const serving = (bots: readonly PlanBot[]) => bots.filter((b) => b.state === 'provisioning' || b.state === 'idle' || b.state === 'busy').length;
  const overCapacity = demand.reduce((s, d) => s + serving(d.bots), 0) > capacity;
  const limited = (d: (typeof demand)[number]) => capacityBound || overCapacity || serving(d.bots) > d.group.maxBots;
  // The bots a group may hold above its share before they go to others: REBALANCE_SLACK while its
  // runs wait, it is active and its share is at least twice the slack. Never beyond its maxBots,
  // and none once capacity is exceeded (a deploy lowered it) or the group is being wound down.
  const slack = (d: (typeof demand)[number]) => {
    const share = entitlement[d.group.name];
    const applies = snapshot.enabled && d.group.status === 'active' && d.group.queued > 0 && !overCapacity && share >= 2 * REBALANCE_SLACK;
    return applies ? Math.max(0, Math.min(REBALANCE_SLACK, d.group.maxBots - share)) : 0;
  };
  // Queued runs that lack the bots they are entitled to, with no free capacity to create them:
  // idle bots above their group's share (e.g. warmed for a forecast that did not come) make room.
  const runsShort =
    demand.reduce((s, d) => s + (d.group.queued > 0 ? Math.max(0, passes[d.group.name].runs - serving(d.bots)) : 0), 0) >
    capacity - snapshot.bots.length;

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
    // Without contention, bots above the share only go now when other groups' runs need room.
    const excess = stillServing - entitlement[g.name] - slack(d);
    if (excess > 0) {
      const reason: DeleteReason = !snapshot.enabled ? 'disabled' : g.status === 'removed' ? 'removed' : g.status === 'expired' ? 'expired' : 'rebalance';
      const claimable = reason === 'rebalance' && g.status === 'active' ? Math.min(g.queued, Math.max(0, entitlement[g.name] + slack(d) - d.busy)) : 0;
      const surplus = Math.min(excess, Math.max(0, stillIdle.length - claimable));
      const goNow = limited(d) || runsShort || reason !== 'rebalance' ? stillIdle.slice(0, surplus) : [];
      remove(g.name, goNow, reason);
      stillIdle = stillIdle.filter((b) => !deleting.has(b.id));
      stillServing -= goNow.length;
    }

    // Idle for idleMinutes: deleted, beyond the bots waiting runs and standby still need. With
    // predictive warm-up, the longest idle beyond those recent arrivals will likely use within
    // idleMinutes go after EARLY_IDLE_MINUTES: a burst's leftovers.
    if (scaling) {
      const keep = Math.max(0, entitlement[g.name] - (stillServing - stillIdle.length));
      const spare = stillIdle.slice(0, Math.max(0, stillIdle.length - keep));
      const reuse = scaling.predictive ? likelyReuse(g.history, now, scaling.idleMinutes) : Infinity;
      const early = Math.max(0, spare.length - reuse);
      const idleFor = (b: PlanBot) => now - b.stateChangedAt;
      remove(g.name, spare.filter((b, i) => idleFor(b) >= scaling.idleMinutes * MINUTE || (i < early && idleFor(b) >= Math.min(EARLY_IDLE_MINUTES, scaling.idleMinutes) * MINUTE)), 'idle');
    }
  }

  // Scale out, within the free capacity, in rounds: committed shortfalls first, then bots for
  // runs, then standby and warm-up; within a round, the largest gaps first.
  let free = Math.max(0, capacity - snapshot.bots.length);
  const gaps = demand.map((d) => {
    const name = d.group.name;
    const serving = d.bots.filter((b) => !deleting.has(b.id) && (b.state === 'provisioning' || b.state === 'idle' || b.state === 'busy')).length;
    const live = d.bots.length + (byGroup.get(name)?.filter((b) => failing.has(b.id)).length ?? 0);
    const forCommitted = Math.min(d.group.committedBots, entitlement[name]);
    const targets = [forCommitted, Math.max(forCommitted, passes[name].runs), entitlement[name]];
    return { d, serving, live, targets, count: 0 };
  });
  for (let round = 0; round < 3; round++) {
    const open = gaps.filter((x) => !(x.d.group.backoffUntil !== undefined && x.d.group.backoffUntil > now));
    open.sort((a, b) => b.targets[round] - b.serving - b.count - (a.targets[round] - a.serving - a.count));
    for (const x of open) {
      const n = Math.min(x.targets[round] - x.serving - x.count, x.d.group.maxBots - x.live - x.count, free);
      if (n > 0) {
        x.count += n;
        free -= n;
      }
    }
  }
  const groupPlans: Record<string, GroupPlan> = {};
  for (const { d, serving, live, count } of gaps) {
    const g = d.group;
    const provisioning = d.bots.filter((b) => b.state === 'provisioning').length;
    const backingOff = g.backoffUntil !== undefined && g.backoffUntil > now;
    if (count > 0) actions.push({ kind: 'create', group: g.name, count });

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
      shares: passes[g.name],
      // Whenever runs contend, nothing is left for the second pass, so this is the share for runs
      // (plus committed bots, plus the slack while its runs wait): bots warmed for a forecast take
      // no run beyond it.
      claimLimit: limited(d) ? entitlement[g.name] + slack(d) : undefined,
      waiting,
      ...(d.predicted ? { forecast: d.predicted } : {}),
    };
  }

  return { actions, groups: groupPlans, capacityBound };
}
