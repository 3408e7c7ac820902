/**
 * How the capacity is shared among the groups, one of plan()'s steps: committed bots first, then
 * the pool in two passes, the runs' shares weighted by demand and then standby and warm-up from
 * what the runs leave. Pure.
 */
import type { GroupDemand } from './demand';

const MINUTE = 60_000;

/**
 * A group's weight in the shares for runs doubles for each this many minutes its oldest queued
 * run has waited, so a group whose runs have waited longest gains bots, much as one queue served
 * oldest first would give them (bench/traces/run-lengths: the worst group's p95 went from 5,518 s
 * to 2,913 s with REBALANCE_SLACK).
 */
export const WAIT_WEIGHT_MINUTES = 10;

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

/** A group's share of the capacity, in its two passes; its entitlement is their sum. */
export interface GroupShare {
  /** For its queued and running runs: committed bots, then the pool weighted by demand. */
  readonly runs: number;
  /** For standby and warm-up: committed bots the runs leave, then max-min fair shares of what the runs leave of the pool. */
  readonly warm: number;
}

/**
 * Each group's share, by name. Committed bots first, for runs and then for standby and warm-up.
 * Then the pool in two passes: runs, weighted by demand, with one bot for every active group
 * whose runs wait; then what is left, max-min fair, for standby and warm-up. A forecast thus
 * never holds a bot that runs need.
 */
export function groupShares(demand: readonly GroupDemand[], capacity: number, enabled: boolean): Record<string, GroupShare> {
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
      floor: enabled && d.group.status === 'active' && d.group.queued > 0,
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
  return Object.fromEntries(
    demand.map((d, i) => {
      const name = d.group.name;
      return [name, { runs: committed[i].runs + forRuns[name], warm: committed[i].base - committed[i].runs + forWarm[name] }];
    }),
  );
}
