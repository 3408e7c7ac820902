/**
 * Bots that will not serve, one of plan()'s steps: provisioning bots past the boot time-out are
 * marked failed, and failed bots are deleted. Pure.
 */
import type { PlanBot, PlanGroup, PlanScaling, PlanSnapshot, ScalerAction } from './plan';

const MINUTE = 60_000;

/** Each group's live bots, by name: every group of the snapshot, and any group only bots name. */
export function botsByGroup(snapshot: Pick<PlanSnapshot, 'groups' | 'bots'>): Map<string, PlanBot[]> {
  const byGroup = new Map<string, PlanBot[]>();
  for (const g of snapshot.groups) byGroup.set(g.name, []);
  for (const b of snapshot.bots) {
    if (!byGroup.has(b.group)) byGroup.set(b.group, []);
    byGroup.get(b.group)!.push(b);
  }
  return byGroup;
}

export interface FailingBots {
  /** A `fail` action for the late bots and a `delete` for the failed ones, per group. */
  readonly actions: readonly ScalerAction[];
  /** The bots marked failed by this plan: they serve no run, and still count against the caps. */
  readonly failing: ReadonlySet<string>;
}

/** Provisioning bots older than their group's bootTimeoutMinutes fail; failed bots are deleted. */
export function failingBots(groups: readonly PlanGroup[], byGroup: ReadonlyMap<string, readonly PlanBot[]>, scaling: Readonly<Record<string, PlanScaling>>, now: number): FailingBots {
  const actions: ScalerAction[] = [];
  const failing = new Set<string>();
  for (const g of groups) {
    const s = scaling[g.name];
    const bots = byGroup.get(g.name) ?? [];
    const late = bots.filter((b) => b.state === 'provisioning' && s && now - b.createdAt > s.bootTimeoutMinutes * MINUTE).map((b) => b.id);
    if (late.length > 0) {
      actions.push({ kind: 'fail', group: g.name, botIds: late, reason: 'boot_timeout' });
      late.forEach((id) => failing.add(id));
    }
    const failed = bots.filter((b) => b.state === 'failed').map((b) => b.id);
    if (failed.length > 0) actions.push({ kind: 'delete', group: g.name, botIds: failed, reason: 'failed', from: ['failed'] });
  }
  return { actions, failing };
}
