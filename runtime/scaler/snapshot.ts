/**
 * What plan() is given: the facts of the store (group states, live bots, queue counts, arrival
 * history) and the groups as the manifest declares them, put together as a PlanSnapshot and each
 * group's resolved scaling settings. Pure: the scaler loop calls it after its store reads, and the
 * simulator with its own in-memory fleet, so both plan from the same snapshot.
 */
import type { ArrivalHistory } from '../domain/history';
import type { GroupStatus, PlanBot, PlanGroup, PlanScaling, PlanSnapshot } from './plan';
import type { GroupState } from '../domain/group';
import type { QueueCounts } from '../store/types';

/** Queue lengths beyond this change no scaling decision: no group has more than 50 bots. */
export const DEMAND_CAP = 100;

/** A group as the manifest declares it, resolved for plan(). */
export interface GroupDeclaration {
  readonly name: string;
  readonly maxBots: number;
  readonly committedBots: number;
  /** The image its bots should run; bots on another one are replaced when idle. */
  readonly imageKey: string;
  readonly scaling: PlanScaling;
}

export interface SnapshotInput {
  /** The environment's bot capacity. */
  readonly capacity: number;
  /** Whether the environment is enabled. */
  readonly enabled: boolean;
  /** The declared groups, by name. */
  readonly declared: ReadonlyMap<string, GroupDeclaration>;
  /**
   * Scaling for groups the store holds and the manifest no longer declares, while their bots
   * drain: the environment's. Needed only when such a group is among `states`.
   */
  readonly undeclaredScaling?: PlanScaling;
  /** Every group the store knows, declared or not. */
  readonly states: ReadonlyArray<Pick<GroupState, 'name' | 'paused' | 'expired' | 'declared' | 'lastActivityAt' | 'backoffUntil'>>;
  /** Live bots: every state but `deleted`. */
  readonly bots: readonly PlanBot[];
  /** Queued and running runs per group; a group left out has none. */
  readonly counts: readonly QueueCounts[];
  /** Each group's arrival history, for predictive warm-up. */
  readonly history: Readonly<Record<string, ArrivalHistory | undefined>>;
  /** The environment's IANA time zone, for the forecast's local days. @default 'UTC' */
  readonly timeZone?: string;
}

export interface Snapshot {
  readonly plan: PlanSnapshot;
  /** Each group's resolved scaling settings, by name: plan()'s `settings.groups`. */
  readonly settings: Record<string, PlanScaling>;
}

export function buildSnapshot(input: SnapshotInput): Snapshot {
  const counts = new Map(input.counts.map((c) => [c.group, c]));
  const settings: Record<string, PlanScaling> = {};
  // In name order, as both stores list groups, so ties in fair shares break the same way wherever
  // the snapshot comes from.
  const states = [...input.states].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const groups = states.map((s): PlanGroup => {
    const declared = input.declared.get(s.name);
    const status: GroupStatus = !declared || !s.declared ? 'removed' : s.expired ? 'expired' : s.paused ? 'paused' : 'active';
    const scaling = declared?.scaling ?? input.undeclaredScaling;
    if (!scaling) throw new Error(`group "${s.name}" is not declared, and no scaling settings were given for undeclared groups`);
    settings[s.name] = scaling;
    return {
      name: s.name,
      maxBots: declared?.maxBots ?? 0,
      committedBots: declared?.committedBots ?? 0,
      status,
      queued: Math.min(DEMAND_CAP, counts.get(s.name)?.queued ?? 0),
      running: Math.min(DEMAND_CAP, counts.get(s.name)?.running ?? 0),
      lastActivityAt: s.lastActivityAt,
      oldestQueuedAt: counts.get(s.name)?.oldestQueuedAt,
      backoffUntil: s.backoffUntil,
      imageKey: declared?.imageKey ?? '',
      history: input.history[s.name],
    };
  });
  return {
    plan: {
      capacity: input.capacity,
      enabled: input.enabled,
      groups,
      bots: input.bots.map((b) => ({ id: b.id, group: b.group, state: b.state, createdAt: b.createdAt, stateChangedAt: b.stateChangedAt, imageKey: b.imageKey, runsCompleted: b.runsCompleted })),
      ...(input.timeZone !== undefined ? { timeZone: input.timeZone } : {}),
    },
    settings,
  };
}
