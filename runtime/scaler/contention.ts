/**
 * Whether the groups contend for the capacity, one of plan()'s steps, and what follows for each
 * group: a claim limit while capacity is contended or exceeded, and the slack a group whose runs
 * wait keeps above its share. Pure.
 */
import type { GroupDemand } from './demand';
import type { PlanBot } from './plan';
import type { GroupShare } from './shares';

/**
 * While capacity is contended, a group with queued runs keeps claiming with up to this many bots
 * above its share before its idle bots go to other groups, once its share is at least twice the
 * slack (in a small fleet 2 bots are most of a share, and its groups get their plain shares).
 * Each move costs a delete and a boot, about 5 minutes of a bot, and shares shift with every
 * change in the queues; on bench/traces/run-lengths moving on every shift cost 400 more
 * bot-minutes of boots.
 */
export const REBALANCE_SLACK = 2;

/** Bots that can run flows now or soon: provisioning, idle, busy. */
export function servingOf(bots: readonly PlanBot[]): number {
  return bots.filter((b) => b.state === 'provisioning' || b.state === 'idle' || b.state === 'busy').length;
}

export interface Contention {
  /** The groups together want more bots than the capacity. */
  readonly capacityBound: boolean;
  /** More bots serve than the capacity allows (a deploy lowered it). */
  readonly overCapacity: boolean;
  /**
   * Bots that queued runs lack, beyond what the free capacity and the bots already on their way
   * out will cover: idle bots above their group's share (e.g. warmed for a forecast that did not
   * come) make room for this many, and no more.
   */
  readonly runsShortfall: number;
  /** The groups whose queued runs lack bots of their share for runs, the most short first (ties by name). */
  readonly shortGroups: readonly string[];
}

/**
 * The contention of the environment, from every group's demand and share, the live bots, and
 * `releasing`: the bots already on their way out (being deleted, failed or failing), whose
 * capacity comes free without another delete.
 */
export function contentionOf(demand: readonly GroupDemand[], shares: Readonly<Record<string, GroupShare>>, capacity: number, liveBots: number, releasing = 0): Contention {
  const capacityBound = demand.reduce((s, d) => s + d.desired, 0) > capacity;
  // After a deploy lowered maxBots or the capacity, more bots may serve than allowed: they go as
  // they become idle, and meanwhile their group takes no more runs than it is now allowed.
  const overCapacity = demand.reduce((s, d) => s + servingOf(d.bots), 0) > capacity;
  const short = demand
    .map((d) => ({ name: d.group.name, lack: d.group.queued > 0 ? Math.max(0, shares[d.group.name].runs - servingOf(d.bots)) : 0 }))
    .filter((x) => x.lack > 0)
    .sort((a, b) => b.lack - a.lack || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lacking = short.reduce((s, x) => s + x.lack, 0);
  const runsShortfall = Math.max(0, lacking - Math.max(0, capacity - liveBots) - releasing);
  return { capacityBound, overCapacity, runsShortfall, shortGroups: short.map((x) => x.name) };
}

/** The group gets a claim limit: capacity is contended or exceeded, or it has more bots serving than its maxBots. */
export function isLimited(d: GroupDemand, contention: Pick<Contention, 'capacityBound' | 'overCapacity'>): boolean {
  return contention.capacityBound || contention.overCapacity || servingOf(d.bots) > d.group.maxBots;
}

/**
 * The bots a group may hold above its share before they go to others: REBALANCE_SLACK while its
 * runs wait, it is active and its share is at least twice the slack. Never beyond its maxBots,
 * and none once capacity is exceeded (a deploy lowered it) or the group is being wound down.
 */
export function slackOf(d: GroupDemand, entitlement: number, contention: Pick<Contention, 'overCapacity'>, enabled: boolean): number {
  const applies = enabled && d.group.status === 'active' && d.group.queued > 0 && !contention.overCapacity && entitlement >= 2 * REBALANCE_SLACK;
  return applies ? Math.max(0, Math.min(REBALANCE_SLACK, d.group.maxBots - entitlement)) : 0;
}
