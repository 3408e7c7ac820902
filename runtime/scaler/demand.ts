/**
 * What each group wants, one of plan()'s steps: a bot per queued or running run, plus its standby
 * bots while it is warm and the bots predictive warm-up forecasts beyond those, capped by its
 * maxBots. Pure.
 */
import { Forecast, forecast } from './history';
import type { PlanBot, PlanGroup, PlanScaling } from './plan';
import { weightOf } from './shares';

const HOUR = 3_600_000;

/** A group's demand, as the later steps read it. */
export interface GroupDemand {
  readonly group: PlanGroup;
  /** Its live bots, less those failing their boot time-out in this plan. */
  readonly bots: readonly PlanBot[];
  /** Of those, the busy ones. */
  readonly busy: number;
  /** Bots it wants: runs, standby and warm-up, capped by maxBots. */
  readonly desired: number;
  /** Of `desired`, the bots for its queued and running runs: real demand, shared first. */
  readonly runs: number;
  /** Its weight in the shares for runs (weightOf). */
  readonly weight: number;
  /** With predictive warm-up: the forecast, and the bots it adds beyond queued, running and standby within maxBots. */
  readonly forecast?: Forecast & { readonly warmBots: number };
}

export interface DemandContext {
  readonly enabled: boolean;
  /** The environment's IANA time zone, for the forecast. */
  readonly timeZone?: string;
}

/**
 * The demand of one group. A disabled environment, or a removed or expired group, wants only its
 * busy bots; a paused group its running runs. An active group wants its runs, plus standby while
 * it is warm (used within coldAfterHours); with predictive warm-up, the forecast's bots (capped by
 * predictiveMaxBots) when more, and a spare bot, a learned standby, beyond its runs: at most
 * warmUpAllowance bots beyond its runs and standby, when its warm-up account sets one.
 */
export function groupDemand(g: PlanGroup, bots: readonly PlanBot[], scaling: PlanScaling | undefined, context: DemandContext, now: number): GroupDemand {
  const busy = bots.filter((b) => b.state === 'busy').length;
  const warm = scaling !== undefined && now - g.lastActivityAt < scaling.coldAfterHours * HOUR;
  let want: number;
  let predicted: GroupDemand['forecast'];
  if (!context.enabled || g.status === 'removed' || g.status === 'expired') want = busy;
  else if (g.status === 'paused') want = Math.max(busy, g.running);
  else {
    const standby = warm ? scaling?.standbyBots ?? 0 : 0;
    want = g.queued + g.running + standby;
    if (scaling?.predictive) {
      const f = forecast(g.history, now, scaling.predictiveLeadMinutes, { timeZone: context.timeZone, spareBot: scaling.spareBot });
      const target = Math.min(f.bots, scaling.predictiveMaxBots ?? g.maxBots, g.maxBots);
      // The spare bot is a learned standby: one bot ready beyond the runs queued and running.
      const withSpare = g.queued + g.running + Math.max(standby, f.spare);
      const base = want;
      want = Math.max(withSpare, target);
      // The warm-up account scales the aim down (to none while paused); standby stays.
      if (g.warmUpAllowance !== undefined) want = Math.min(want, base + Math.max(0, g.warmUpAllowance));
      // Warm-up is what it adds within maxBots: a queue longer than maxBots leaves it nothing.
      predicted = { ...f, warmBots: Math.max(0, Math.min(want, g.maxBots) - Math.min(base, g.maxBots)) };
    }
  }
  // Real demand, the runs queued and running, is shared first; standby and warm-up bots, the
  // rest of `want`, only get what real demand leaves.
  const runs = context.enabled && g.status === 'active' ? g.queued + g.running : want;
  const desired = Math.min(want, g.maxBots);
  const weight = weightOf(runs, g.queued > 0 ? g.oldestQueuedAt : undefined, now);
  return { group: g, bots, busy, desired, runs: Math.min(runs, desired), weight, ...(predicted ? { forecast: predicted } : {}) };
}

/**
 * The warm-up bots a group's share allows: its queued, running and standby bots come first (the
 * rest of what it wants), and warm-up gets what its entitlement leaves; 0 without a forecast.
 */
export function warmUpWithinShare(d: Pick<GroupDemand, 'desired' | 'forecast'>, entitlement: number): number {
  const warm = d.forecast?.warmBots ?? 0;
  return Math.max(0, Math.min(warm, entitlement - (d.desired - warm)));
}
