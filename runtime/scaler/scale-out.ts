/**
 * New bots, one of plan()'s steps: within the free capacity, in three rounds (committed
 * shortfalls first, then bots for runs, then standby and warm-up), and within a round the largest
 * gaps first. Never beyond a group's maxBots; none for a group backing off after ARM errors. Pure.
 */

/** A group as scaleOut() reads it. */
export interface ScaleOutGroup {
  readonly name: string;
  readonly maxBots: number;
  /** Bots that serve after this plan's deletes: provisioning, idle, busy. */
  readonly serving: number;
  /** Bots counting against maxBots: every live state. */
  readonly live: number;
  /** The bots to serve after each round: its committed bots, its share for runs, its whole share. */
  readonly targets: readonly [number, number, number];
  /** No scale-out before this time, after ARM errors. */
  readonly backoffUntil?: number;
}

/** The targets of a group's three rounds: committed bots within its share, its share for runs (at least those), its entitlement. */
export function scaleOutTargets(committedBots: number, share: { readonly runs: number; readonly warm: number }): [number, number, number] {
  const entitlement = share.runs + share.warm;
  const forCommitted = Math.min(committedBots, entitlement);
  return [forCommitted, Math.max(forCommitted, share.runs), entitlement];
}

/** Bots to create per group, by name (0 for none), from `free` capacity. */
export function scaleOut(groups: readonly ScaleOutGroup[], free: number, now: number): Record<string, number> {
  const gaps = groups.map((g) => ({ g, count: 0 }));
  let left = Math.max(0, free);
  for (let round = 0; round < 3; round++) {
    const open = gaps.filter((x) => !(x.g.backoffUntil !== undefined && x.g.backoffUntil > now));
    open.sort((a, b) => b.g.targets[round] - b.g.serving - b.count - (a.g.targets[round] - a.g.serving - a.count));
    for (const x of open) {
      const n = Math.min(x.g.targets[round] - x.g.serving - x.count, x.g.maxBots - x.g.live - x.count, left);
      if (n > 0) {
        x.count += n;
        left -= n;
      }
    }
  }
  return Object.fromEntries(gaps.map((x) => [x.g.name, x.count]));
}
