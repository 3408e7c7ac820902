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
   * Queued runs lack the bots their shares give them, and the free capacity cannot create them:
   * idle bots above their group's share (e.g. warmed for a forecast that did not come) make room.
   */
  readonly runsShort: boolean;
}

/** The contention of the environment, from every group's demand and share and the live bots. */
export function contentionOf(demand: readonly GroupDemand[], shares: Readonly<Record<string, GroupShare>>, capacity: number, liveBots: number): Contention {
  const capacityBound = demand.reduce((s, d) => s + d.desired, 0) > capacity;
  // After a deploy lowered maxBots or the capacity, more bots may serve than allowed: they go as
  // they become idle, and meanwhile their group takes no more runs than it is now allowed.
  const overCapacity = demand.reduce((s, d) => s + servingOf(d.bots), 0) > capacity;
  const runsShort = demand.reduce((s, d) => s + (d.group.queued > 0 ? Math.max(0, shares[d.group.name].runs - servingOf(d.bots)) : 0), 0) > capacity - liveBots;
  return { capacityBound, overCapacity, runsShort };
}

/** The group gets a claim limit: capacity is contended or exceeded, or it has more bots serving than its maxBots. */
export function isLimited(d: GroupDemand, contention: Contention): boolean {
  return contention.capacityBound || contention.overCapacity || servingOf(d.bots) > d.group.maxBots;
}

/**
 * The bots a group may hold above its share before they go to others: REBALANCE_SLACK while its
 * runs wait, it is active and its share is at least twice the slack. Never beyond its maxBots,
 * and none once capacity is exceeded (a deploy lowered it) or the group is being wound down.
 */
export function slackOf(d: GroupDemand, entitlement: number, contention: Contention, enabled: boolean): number {
  const applies = enabled && d.group.status === 'active' && d.group.queued > 0 && !contention.overCapacity && entitlement >= 2 * REBALANCE_SLACK;
  return applies ? Math.max(0, Math.min(REBALANCE_SLACK, d.group.maxBots - entitlement)) : 0;
}
