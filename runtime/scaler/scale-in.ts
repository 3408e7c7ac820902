/**
 * Which idle bots go, one of plan()'s steps. Only idle bots are ever deleted, the longest idle
 * first; a busy bot finishes its run. Pure.
 *
 * In each group, in this order:
 * - bots on an old image, or past recycleAfterRuns, are replaced as soon as they are idle;
 * - bots above the group's share (and its slack) that cannot take a run within its claim limit
 *   go at once while capacity is contended, or when other groups' queued runs need the room; and
 *   every idle bot of a disabled environment, or a removed or expired group;
 * - bots idle for idleMinutes go, beyond those its share still needs; with predictive warm-up,
 *   the longest idle beyond those the recent arrivals will likely use within idleMinutes
 *   (likelyReuse) go after EARLY_IDLE_MINUTES: the bots left over from a burst.
 */
import { Contention, servingOf } from './contention';
import type { GroupDemand } from './demand';
import { likelyReuse } from './history';
import type { DeleteReason, PlanBot, PlanGroup, PlanScaling, ScalerAction } from './plan';

const MINUTE = 60_000;

/** With predictive warm-up, idle bots beyond the likely reuse are deleted after this long idle. */
export const EARLY_IDLE_MINUTES = 3;

/** A group's idle bots, the longest idle first (ties by id). */
export function idleBots(bots: readonly PlanBot[]): PlanBot[] {
  return bots.filter((b) => b.state === 'idle').sort((a, b) => a.stateChangedAt - b.stateChangedAt || a.id.localeCompare(b.id));
}

/** Idle bots to replace: those on another image than the group's, then those past recycleAfterRuns. */
export function replacedWhenIdle(g: PlanGroup, idle: readonly PlanBot[], recycleAfterRuns: number | undefined): { outdated: PlanBot[]; worn: PlanBot[] } {
  const outdated = idle.filter((b) => b.imageKey !== g.imageKey);
  const worn = recycleAfterRuns ? idle.filter((b) => b.imageKey === g.imageKey && b.runsCompleted >= recycleAfterRuns) : [];
  return { outdated, worn };
}

/** What aboveShare() reads of a group, beside its demand. */
export interface ShareHold {
  /** Its share of the capacity (the entitlement). */
  readonly entitlement: number;
  /** Bots it may keep above the share while its runs wait (slackOf). */
  readonly slack: number;
  /** It has a claim limit (isLimited). */
  readonly limited: boolean;
}

/**
 * Idle bots above the group's share and slack that go now, and why. While the environment is
 * enabled and the group active, these are its rebalance: idle bots that its queued runs can
 * claim within its claim limit stay, and the rest go only while it is limited or other groups'
 * runs are short (see Contention.runsShort). A disabled environment, a removed or expired group
 * lose every idle bot above what they want.
 */
export function aboveShare(
  d: GroupDemand,
  idle: readonly PlanBot[],
  serving: number,
  hold: ShareHold,
  contention: Pick<Contention, 'runsShort'>,
  enabled: boolean,
): { reason: DeleteReason; bots: PlanBot[] } | undefined {
  const g = d.group;
  const excess = serving - hold.entitlement - hold.slack;
  if (excess <= 0) return undefined;
  const reason: DeleteReason = !enabled ? 'disabled' : g.status === 'removed' ? 'removed' : g.status === 'expired' ? 'expired' : 'rebalance';
  const claimable = reason === 'rebalance' && g.status === 'active' ? Math.min(g.queued, Math.max(0, hold.entitlement + hold.slack - d.busy)) : 0;
  const surplus = Math.min(excess, Math.max(0, idle.length - claimable));
  const goNow = hold.limited || contention.runsShort || reason !== 'rebalance' ? idle.slice(0, surplus) : [];
  return { reason, bots: goNow };
}

/**
 * Idle bots whose idle time is up: idle for idleMinutes, beyond those the group's share still
 * keeps (its busy and provisioning bots count first). With predictive warm-up, of those beyond the
 * share, the longest idle beyond likelyReuse go after EARLY_IDLE_MINUTES.
 */
export function idleTimedOut(g: PlanGroup, idle: readonly PlanBot[], serving: number, entitlement: number, scaling: PlanScaling, now: number): PlanBot[] {
  const keep = Math.max(0, entitlement - (serving - idle.length));
  const spare = idle.slice(0, Math.max(0, idle.length - keep));
  const reuse = scaling.predictive ? likelyReuse(g.history, now, scaling.idleMinutes) : Infinity;
  const early = Math.max(0, spare.length - reuse);
  const idleFor = (b: PlanBot) => now - b.stateChangedAt;
  return spare.filter((b, i) => idleFor(b) >= scaling.idleMinutes * MINUTE || (i < early && idleFor(b) >= Math.min(EARLY_IDLE_MINUTES, scaling.idleMinutes) * MINUTE));
}

/** A group as scaleIn() reads it. */
export interface ScaleInGroup extends ShareHold {
  readonly demand: GroupDemand;
  readonly scaling?: PlanScaling;
}

export interface ScaleIn {
  /** One `delete` action per group and reason, from idle. */
  readonly actions: readonly ScalerAction[];
  /** The bots these actions delete. */
  readonly deleting: ReadonlySet<string>;
}

/** Every group's scale-in, in the groups' order: replaced bots, then those above the share, then the timed-out. */
export function scaleIn(groups: readonly ScaleInGroup[], contention: Pick<Contention, 'runsShort'>, enabled: boolean, now: number): ScaleIn {
  const actions: ScalerAction[] = [];
  const deleting = new Set<string>();
  const remove = (group: string, bots: readonly PlanBot[], reason: DeleteReason) => {
    if (bots.length === 0) return;
    bots.forEach((b) => deleting.add(b.id));
    actions.push({ kind: 'delete', group, botIds: bots.map((b) => b.id), reason, from: ['idle'] });
  };
  for (const x of groups) {
    const d = x.demand;
    const g = d.group;
    const idle = idleBots(d.bots);
    const { outdated, worn } = replacedWhenIdle(g, idle, x.scaling?.recycleAfterRuns);
    remove(g.name, outdated, 'outdated');
    remove(g.name, worn, 'recycle');
    let stillIdle = idle.filter((b) => !deleting.has(b.id));
    let stillServing = servingOf(d.bots) - outdated.length - worn.length;

    const above = aboveShare(d, stillIdle, stillServing, x, contention, enabled);
    if (above) {
      remove(g.name, above.bots, above.reason);
      stillIdle = stillIdle.filter((b) => !deleting.has(b.id));
      stillServing -= above.bots.length;
    }

    if (x.scaling) remove(g.name, idleTimedOut(g, stillIdle, stillServing, x.entitlement, x.scaling, now), 'idle');
  }
  return { actions, deleting };
}

