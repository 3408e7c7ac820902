/** Builders for plan() tests: groups, bots, and the actions of a plan by kind. */
import type { GroupDemand } from '../../runtime/scaler/demand';
import type { plan, PlanBot, PlanGroup } from '../../runtime/scaler/plan';

export interface PlanBuilderDefaults {
  readonly now: number;
  /** maxBots of a group unless the test says otherwise. */
  readonly maxBots: number;
  /** How long before `now` a bot was created, and entered its state. */
  readonly createdAgoMs: number;
  readonly stateAgoMs: number;
}

/** `group(name, overrides)` and `bots(group, state, count, overrides)` with one file's defaults. */
export function planBuilders(defaults: PlanBuilderDefaults) {
  let seq = 0;
  const group = (name: string, overrides: Partial<PlanGroup> = {}): PlanGroup => ({
    name,
    maxBots: defaults.maxBots,
    committedBots: 0,
    status: 'active',
    queued: 0,
    running: 0,
    lastActivityAt: defaults.now,
    imageKey: 'img',
    ...overrides,
  });
  const bots = (groupName: string, state: PlanBot['state'], count: number, overrides: Partial<PlanBot> = {}): PlanBot[] =>
    Array.from({ length: count }, () => ({
      id: `${groupName}-${state}-${seq++}`,
      group: groupName,
      state,
      createdAt: defaults.now - defaults.createdAgoMs,
      stateChangedAt: defaults.now - defaults.stateAgoMs,
      imageKey: 'img',
      runsCompleted: 0,
      ...overrides,
    }));
  return { group, bots };
}

type Planned = ReturnType<typeof plan>;

/** Bots created per group. */
export const creates = (p: Planned) => Object.fromEntries(p.actions.filter((a) => a.kind === 'create').map((a) => [a.group, (a as { count: number }).count]));

/** Bots deleted, for any reason or for one. */
export const deletes = (p: Planned, reason?: string) =>
  p.actions.filter((a) => a.kind === 'delete' && (!reason || a.reason === reason)).flatMap((a) => (a as { botIds: readonly string[] }).botIds);

/**
 * A group's demand as the steps after demand.ts read it: by default it wants its queued and
 * running runs (capped by maxBots), with weight 1; `over` sets any figure.
 */
export function demandOf(group: PlanGroup, over: Partial<GroupDemand> = {}): GroupDemand {
  const bots = over.bots ?? [];
  const runs = group.queued + group.running;
  const desired = over.desired ?? Math.min(runs, group.maxBots);
  return { group, bots, busy: bots.filter((b) => b.state === 'busy').length, desired, runs: Math.min(runs, desired), weight: 1, ...over };
}
