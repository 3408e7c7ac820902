/**
 * Which idle bots go, one of plan()'s steps. Only idle bots are ever deleted, the longest idle
 * first; a busy bot finishes its run. Pure.
 *
 * In each group, in this order:
 * - bots on an old image, or past recycleAfterRuns, are replaced as soon as they are idle;
 * - bots above the group's share (and its slack) that cannot take a run within its claim limit
 *   go at once while capacity is contended; otherwise only as many as other groups' queued runs
 *   lack beyond the free capacity (the runs' shortfall); and every idle bot of a disabled
 *   environment, or a removed or expired group;
 * - bots idle for idleMinutes go, beyond those its share still needs; with predictive warm-up,
 *   the longest idle beyond those the recent arrivals will likely use within idleMinutes
 *   (likelyReuse) go after EARLY_IDLE_MINUTES: the bots left over from a burst.
 */
import { Contention, servingOf } from './contention';
import type { GroupDemand } from './demand';
import { likelyReuse } from './history';
import type { DeleteAction, DeleteReason, PlanBot, PlanGroup, PlanScaling } from './plan';

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

/** Idle bots above a group's share and slack: those that go now, and those that go only for other groups' runs. */
export interface AboveShare {
  readonly reason: DeleteReason;
  /** Go now: the group is limited, or being wound down. */
  readonly now: readonly PlanBot[];
  /** Go only as far as other groups' queued runs are short of bots (Contention.runsShortfall). */
  readonly ifShort: readonly PlanBot[];
}

/**
 * Idle bots above the group's share and slack, the longest idle first, and why. While the
 * environment is enabled and the group active, this is its rebalance: idle bots that its own
 * queued runs can claim within its claim limit stay; the rest go now while it is limited, and
 * otherwise wait for their idle time-out unless other groups' runs are short of bots. A disabled
 * environment, a removed or expired group lose every idle bot above what they want.
 */
export function aboveShare(d: GroupDemand, idle: readonly PlanBot[], serving: number, hold: ShareHold, enabled: boolean): AboveShare | undefined {
  const g = d.group;
  const excess = serving - hold.entitlement - hold.slack;
  if (excess <= 0) return undefined;
  const reason: DeleteReason = !enabled ? 'disabled' : g.status === 'removed' ? 'removed' : g.status === 'expired' ? 'expired' : 'rebalance';
  const claimable = reason === 'rebalance' && g.status === 'active' ? Math.min(g.queued, Math.max(0, hold.entitlement + hold.slack - d.busy)) : 0;
  const surplus = idle.slice(0, Math.min(excess, Math.max(0, idle.length - claimable)));
  return hold.limited || reason !== 'rebalance' ? { reason, now: surplus, ifShort: [] } : { reason, now: [], ifShort: surplus };
}

/**
 * Of the idle bots that go only for other groups' runs, those that make up `shortfall`: one at a
 * time from the group with the most such bots left (ties to the first given), each group's
 * longest idle first. Returned by group, in the order given; groups that give none are left out.
 */
export function forShortfall(candidates: ReadonlyArray<{ readonly group: string; readonly bots: readonly PlanBot[] }>, shortfall: number): Map<string, PlanBot[]> {
  const taken = candidates.map(() => 0);
  for (let left = shortfall; left > 0; left--) {
    let pick = -1;
    candidates.forEach((c, i) => {
      const rest = c.bots.length - taken[i];
      if (rest > 0 && (pick < 0 || rest > candidates[pick].bots.length - taken[pick])) pick = i;
    });
    if (pick < 0) break;
    taken[pick] += 1;
  }
  return new Map(candidates.flatMap((c, i) => (taken[i] > 0 ? [[c.group, c.bots.slice(0, taken[i])] as [string, PlanBot[]]] : [])));
}

/**
 * Idle bots whose idle time is up: idle for idleMinutes, beyond those the group's share still
 * keeps (its busy and provisioning bots count first). With predictive warm-up, of those beyond the
 * share, the longest idle beyond likelyReuse go after EARLY_IDLE_MINUTES. While its warm-up account
 * pauses or probes (a warmUpAllowance), only when it paused because warmed bots went unused: the
 * same irregular demand leaves a burst's bots unused too (bench/traces/spiky: 20,003 → 17,660
 * bot-minutes, p95 380 s → 366 s, 3 seeds). Paused on cost or capacity, the group scales as with
 * predictive off: there early release cost growth's p95 176 s → 224 s.
 */
export function idleTimedOut(g: PlanGroup, idle: readonly PlanBot[], serving: number, entitlement: number, scaling: PlanScaling, now: number): PlanBot[] {
  const keep = Math.max(0, entitlement - (serving - idle.length));
  const spare = idle.slice(0, Math.max(0, idle.length - keep));
  const forecastHolds = g.warmUpAllowance === undefined || g.warmUpPause === 'unused';
  const reuse = scaling.predictive && forecastHolds ? likelyReuse(g.history, now, scaling.idleMinutes) : Infinity;
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
  readonly actions: readonly DeleteAction[];
  /** The bots these actions delete. */
  readonly deleting: ReadonlySet<string>;
}

/**
 * Every group's scale-in: replaced bots, then those above the share, then the timed-out; one
 * delete action per group and reason, in the groups' order. Idle bots above a share that go only
 * for other groups' runs make up the runs' shortfall and no more, after the bots going anyway
 * (wound-down groups, limited groups) have counted against it.
 */
export function scaleIn(groups: readonly ScaleInGroup[], contention: Pick<Contention, 'runsShortfall' | 'shortGroups'>, enabled: boolean, now: number): ScaleIn {
  const firstPass = groups.map((x) => {
    const d = x.demand;
    const idle = idleBots(d.bots);
    const replaced = replacedWhenIdle(d.group, idle, x.scaling?.recycleAfterRuns);
    const gone = new Set([...replaced.outdated, ...replaced.worn].map((b) => b.id));
    const stillIdle = idle.filter((b) => !gone.has(b.id));
    const serving = servingOf(d.bots) - gone.size;
    return { x, replaced, stillIdle, serving, above: aboveShare(d, stillIdle, serving, x, enabled) };
  });
  const goingAnyway = firstPass.reduce((s, p) => s + (p.above?.now.length ?? 0), 0);
  const short = forShortfall(
    firstPass.filter((p) => p.above && p.above.ifShort.length > 0).map((p) => ({ group: p.x.demand.group.name, bots: p.above!.ifShort })),
    contention.runsShortfall - goingAnyway,
  );

  const actions: DeleteAction[] = [];
  const deleting = new Set<string>();
  const remove = (group: string, bots: readonly PlanBot[], reason: DeleteReason, extra: Partial<DeleteAction> = {}) => {
    if (bots.length === 0) return;
    bots.forEach((b) => deleting.add(b.id));
    actions.push({ kind: 'delete', group, botIds: bots.map((b) => b.id), reason, from: ['idle'], ...extra });
  };
  for (const { x, replaced, stillIdle, serving, above } of firstPass) {
    const g = x.demand.group;
    // A paused group's bots go for its maintenance, whatever else would let them go.
    const paused = enabled && g.status === 'paused';
    remove(g.name, replaced.outdated, 'outdated');
    remove(g.name, replaced.worn, 'recycle');
    const aboveGoing = above ? [...above.now, ...(short.get(g.name) ?? [])] : [];
    if (above) {
      const rebalance = above.reason === 'rebalance' && !paused ? { share: x.entitlement, to: contention.shortGroups.filter((n) => n !== g.name) } : {};
      remove(g.name, aboveGoing, paused ? 'maintenance' : above.reason, rebalance);
    }
    const going = new Set(aboveGoing.map((b) => b.id));
    if (x.scaling) {
      const timedOut = idleTimedOut(g, stillIdle.filter((b) => !going.has(b.id)), serving - going.size, x.entitlement, x.scaling, now);
      if (paused) remove(g.name, timedOut, 'maintenance');
      else remove(g.name, timedOut, 'idle', { idleSince: Math.max(...timedOut.map((b) => b.stateChangedAt)) });
    }
  }
  return { actions, deleting };
}

const idleBotsWord = (n: number) => `${n} idle bot${n === 1 ? '' : 's'}`;

/** What a scale-in's words need: the group, the reason, and its bots, or how many (as a group view publishes it). */
export type ScaleInWords = Pick<DeleteAction, 'group' | 'reason' | 'to' | 'share'> & ({ readonly botIds: readonly string[] } | { readonly bots: number });

/**
 * A delete in words, for the scaler's log line and the group's view: how many bots, and why;
 * for a rebalance, the groups it makes room for and the share the group is held to.
 * `groupName` words another group's name (a view hides the groups its reader cannot see).
 */
export function describeScaleIn(action: ScaleInWords, groupName: (group: string) => string = (g) => `group ${g}`): string {
  const n = 'bots' in action ? action.bots : action.botIds.length;
  const bots = action.reason === 'failed' ? `${n} failed bot${n === 1 ? '' : 's'}` : idleBotsWord(n);
  switch (action.reason) {
    case 'idle':
      return `${bots} released: idle, not needed for the group's runs, standby or warm-up`;
    case 'rebalance': {
      const to = action.to?.length ? `rebalance to ${[...new Set(action.to.map(groupName))].join(', ')}` : 'rebalance';
      const held = action.share === undefined ? '' : `: group ${action.group} is held to its share of ${action.share} bot${action.share === 1 ? '' : 's'}`;
      return `${bots} released: ${to}${held}`;
    }
    case 'maintenance':
      return `${bots} released: group paused for maintenance`;
    case 'outdated':
      return `${bots} replaced: maintenance, not on the group's current image`;
    case 'recycle':
      return `${bots} replaced: recycled after recycleAfterRuns runs`;
    case 'failed':
      return `${bots} deleted`;
    case 'disabled':
      return `${bots} released: environment disabled`;
    case 'removed':
      return `${bots} released: group no longer declared`;
    case 'expired':
      return `${bots} released: group expired`;
  }
}
