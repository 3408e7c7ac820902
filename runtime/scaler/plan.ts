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
 *   minutes of capacity, and shares shift whenever a queue does. Without contention, idle bots
 *   above a group's share go at once only as far as other groups' queued runs lack bots that the
 *   free capacity (and bots already being deleted) cannot give them: the shortfall, no more.
 * - New bots go to committed shortfalls first, then to runs, then to standby and warm-up.
 * - Idle bots are deleted after idleMinutes, keeping the standby bots; bots that miss the boot
 *   time-out are marked failed and deleted. With predictive warm-up, idle bots beyond those the
 *   group's recent arrivals will likely use within idleMinutes (likelyReuse) go sooner, after
 *   EARLY_IDLE_MINUTES: the bots left over from a burst.
 */
import type { ScalingSettings } from '../config/fleet-schema';
import type { BotState } from '../domain/bot';
import type { ArrivalHistory } from '../domain/history';
import { contentionOf, isLimited, servingOf, slackOf } from './contention';
import { groupDemand, warmUpWithinShare } from './demand';
import { botsByGroup, failingBots } from './failing';
import type { Forecast } from './history';
import { scaleIn } from './scale-in';
import { scaleOut, scaleOutTargets } from './scale-out';
import { groupShares } from './shares';
import { whyRunsWait } from './waiting';

export { REBALANCE_SLACK } from './contention';
export { EARLY_IDLE_MINUTES } from './scale-in';
export { fairShares, WAIT_WEIGHT_MINUTES, weightOf } from './shares';
export type { ShareWant } from './shares';

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
  /**
   * The most bots predictive warm-up may add beyond the runs and standby, from the group's warm-up
   * account (warm-up-account.ts): 0 while warm-up is paused. @default no limit but the caps
   */
  readonly warmUpAllowance?: number;
  /**
   * Why the warm-up account paused warm-up, while it does: `unused` (warmed bots went unused),
   * `cost` (they saved too little wait for their bot-minutes) or `capacity` (the runs waited for
   * the capacity, not for bots). @default not paused
   */
  readonly warmUpPause?: 'unused' | 'cost' | 'capacity';
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

/**
 * Why bots are deleted: `idle` (not needed for runs, standby or warm-up), `rebalance` (above the
 * group's share, for other groups), `maintenance` (idle bots of a paused group), `outdated` (not
 * on the group's image), `recycle` (past recycleAfterRuns), `failed`, and for the whole group
 * `disabled`, `removed` or `expired`.
 */
export type DeleteReason = 'idle' | 'rebalance' | 'maintenance' | 'failed' | 'disabled' | 'removed' | 'expired' | 'outdated' | 'recycle';

export type DeleteAction = {
  readonly kind: 'delete';
  readonly group: string;
  readonly botIds: readonly string[];
  readonly reason: DeleteReason;
  readonly from: readonly BotState[];
  /** For a rebalance: the groups whose queued runs lack bots of their share, the most short first. */
  readonly to?: readonly string[];
  /** For a rebalance: the share of the capacity the group is held to. */
  readonly share?: number;
  /**
   * For an idle time-out: the latest time the plan saw one of these bots go idle. The store moves
   * only bots idle since then at the latest: one that took a run meanwhile is not the bot judged.
   */
  readonly idleSince?: number;
};

export type ScalerAction =
  | { readonly kind: 'create'; readonly group: string; readonly count: number }
  | DeleteAction
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
  /** At its share of the capacity (held to it while others wait, when `others` names them). */
  | { readonly code: 'fair_share'; readonly share: number; readonly others?: readonly string[] };

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
  /**
   * With predictive warm-up: the forecast; `warmBots`, the bots it adds beyond queued, running and
   * standby within maxBots; and `plannedBots`, those of them the group's share allows.
   */
  readonly forecast?: Forecast & { readonly warmBots: number; readonly plannedBots: number };
}

export interface Plan {
  readonly actions: readonly ScalerAction[];
  readonly groups: Readonly<Record<string, GroupPlan>>;
  /** The groups together want more bots than the capacity. */
  readonly capacityBound: boolean;
}

/**
 * The scaler's decisions, step by step; each step is a pure function in its own module:
 * failing.ts (bots past the boot time-out), demand.ts (what each group wants), shares.ts (its
 * share of the capacity), contention.ts (claim limits and slack), scale-in.ts, scale-out.ts and
 * waiting.ts (why runs wait).
 */
export function plan(snapshot: PlanSnapshot, settings: PlanSettings, now: number): Plan {
  const byGroup = botsByGroup(snapshot);
  const { actions: failActions, failing } = failingBots(snapshot.groups, byGroup, settings.groups, now);

  const context = { enabled: snapshot.enabled, timeZone: snapshot.timeZone };
  const demand = snapshot.groups.map((g) =>
    groupDemand(
      g,
      (byGroup.get(g.name) ?? []).filter((b) => !failing.has(b.id)),
      settings.groups[g.name],
      context,
      now,
    ),
  );

  const capacity = snapshot.capacity;
  const shares = groupShares(demand, capacity, snapshot.enabled);
  const entitlement = (name: string) => shares[name].runs + shares[name].warm;
  // Bots on their way out free their capacity without another delete.
  const releasing = snapshot.bots.filter((b) => b.state === 'deleting' || b.state === 'failed' || failing.has(b.id)).length;
  const contention = contentionOf(demand, shares, capacity, snapshot.bots.length, releasing);
  const holds = demand.map((d) => ({
    demand: d,
    scaling: settings.groups[d.group.name],
    entitlement: entitlement(d.group.name),
    slack: slackOf(d, entitlement(d.group.name), contention, snapshot.enabled),
    limited: isLimited(d, contention),
  }));

  const { actions: deleteActions, deleting } = scaleIn(holds, contention, snapshot.enabled, now);

  const after = demand.map((d) => {
    const name = d.group.name;
    const serving = servingOf(d.bots.filter((b) => !deleting.has(b.id)));
    const live = d.bots.length + (byGroup.get(name)?.filter((b) => failing.has(b.id)).length ?? 0);
    return { name, maxBots: d.group.maxBots, serving, live, targets: scaleOutTargets(d.group.committedBots, shares[name]), backoffUntil: d.group.backoffUntil };
  });
  const created = scaleOut(after, capacity - snapshot.bots.length, now);

  const actions: ScalerAction[] = [...failActions, ...deleteActions];
  const groupPlans: Record<string, GroupPlan> = {};
  demand.forEach((d, i) => {
    const g = d.group;
    const { serving, live } = after[i];
    const count = created[g.name];
    if (count > 0) actions.push({ kind: 'create', group: g.name, count });
    const provisioning = d.bots.filter((b) => b.state === 'provisioning').length;
    const claimLimit = holds[i].limited ? entitlement(g.name) + holds[i].slack : undefined;
    const others = contention.shortGroups.filter((n) => n !== g.name);
    groupPlans[g.name] = {
      desired: d.desired,
      entitlement: entitlement(g.name),
      live,
      serving,
      created: count,
      shares: shares[g.name],
      // Whenever runs contend, nothing is left for the second pass, so this is the share for runs
      // (plus committed bots, plus the slack while its runs wait): bots warmed for a forecast take
      // no run beyond it.
      claimLimit,
      waiting: whyRunsWait(g, { provisioning, serving, live, created: count, entitlement: entitlement(g.name), claimLimit, others }, { enabled: snapshot.enabled, capacity }, now),
      ...(d.forecast ? { forecast: { ...d.forecast, plannedBots: warmUpWithinShare(d, entitlement(g.name)) } } : {}),
    };
  });

  return { actions, groups: groupPlans, capacityBound: contention.capacityBound };
}
