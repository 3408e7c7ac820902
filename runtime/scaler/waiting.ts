/**
 * Why a group's queued runs wait, one of plan()'s steps, in codes the API and the dashboard put
 * in words (runtime/api/views.ts, describeWait). Pure.
 */
import type { PlanGroup, WaitReason } from './plan';

/** What whyRunsWait() reads of a group after this plan's scale-in and scale-out. */
export interface GroupAfterPlan {
  /** Its bots provisioning before this plan. */
  readonly provisioning: number;
  /** Its serving bots after this plan's deletes (provisioning, idle, busy), before its creates. */
  readonly serving: number;
  /** Its bots counting against maxBots, before its creates. */
  readonly live: number;
  /** Bots this plan creates for it. */
  readonly created: number;
  /** Its share of the capacity. */
  readonly entitlement: number;
  /** Its claim limit, while capacity is contended or exceeded. */
  readonly claimLimit?: number;
  /** The other groups whose queued runs lack bots of their share, the most short first. */
  readonly others?: readonly string[];
}

/**
 * The reasons, none when nothing is queued. A disabled environment, a paused or an expired group
 * say only that. Otherwise: the bots provisioning for it; and when its runs outnumber its bots,
 * what holds it back: a back-off; its maxBots, or during a rebalance (a claim limit below
 * maxBots) its share, naming the groups it makes room for; other groups' busy bots holding the
 * capacity (below its share); or its fair share (at it).
 */
export function whyRunsWait(g: PlanGroup, after: GroupAfterPlan, env: { readonly enabled: boolean; readonly capacity: number }, now: number): WaitReason[] {
  const waiting: WaitReason[] = [];
  if (g.queued === 0) return waiting;
  if (!env.enabled) waiting.push({ code: 'environment_disabled' });
  else if (g.status === 'paused') waiting.push({ code: 'group_paused' });
  else if (g.status === 'expired') waiting.push({ code: 'group_expired' });
  else {
    const { provisioning, serving, live, created: count, entitlement } = after;
    const backingOff = g.backoffUntil !== undefined && g.backoffUntil > now;
    if (provisioning + count > 0) waiting.push({ code: 'provisioning', bots: provisioning + count });
    if (g.queued + g.running > serving + count) {
      if (backingOff) waiting.push({ code: 'backoff', until: g.backoffUntil! });
      else if (live + count >= g.maxBots) {
        // During a rebalance its bots above the claim limit go to others: the share holds it, not maxBots.
        const held = after.claimLimit !== undefined && after.claimLimit < g.maxBots;
        waiting.push(held ? { code: 'fair_share', share: entitlement, ...(after.others?.length ? { others: after.others } : {}) } : { code: 'group_at_max_bots', maxBots: g.maxBots });
      }
      // Below its share: others' busy bots hold the capacity. At its share: it is what fairness allows.
      else if (serving + count < entitlement) waiting.push({ code: 'capacity_in_use', capacity: env.capacity });
      else waiting.push({ code: 'fair_share', share: entitlement });
    }
  }
  return waiting;
}
