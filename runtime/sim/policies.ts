/**
 * Scaling policies for the simulator: ours, which is the runtime's real plan(), and the baselines
 * a team would otherwise get.
 *
 * - hosted-default: a bot is created for each run that waits and no booting bot will take, and a
 *   bot is deleted as soon as it is idle.
 * - elastic-pool: Azure DevOps scale-set agent pools as documented: the pool is sampled every
 *   5 minutes; it grows when idle bots fall below the standby count or runs wait with no idle bot,
 *   by at most a step (a quarter of the maximum, at least one) per sample; bots idle beyond the
 *   standby count for 30 minutes are deleted.
 * - fixed: a constant pool per group, started at the beginning and never deleted.
 */
import { plan, PlanScaling } from '../scaler/plan';
import { buildSnapshot } from '../scaler/snapshot';
import type { Policy, PolicyDecision, PolicyView } from './simulate';

const MINUTE = 60_000;
/** Every simulated bot runs the image its group declares: none is ever outdated. */
const SIM_IMAGE = 'sim';

/**
 * The runtime's scaler: plan() on every arrival and completion, and on its 15-second tick, given
 * the snapshot the scaler loop builds, from the simulator's groups, bots and queues.
 */
export function oursPolicy(name = 'ours', overrides: Partial<PlanScaling> = {}): Policy {
  return {
    name,
    tickSeconds: 15,
    eventDriven: true,
    decide(view: PolicyView, now: number): PolicyDecision {
      const snapshot = buildSnapshot({
        capacity: view.capacity,
        // An environment that is off would leave the trace's runs waiting for ever.
        enabled: true,
        declared: new Map(view.groups.map(({ config: g }) => [g.name, { name: g.name, maxBots: g.maxBots, committedBots: g.committedBots, imageKey: SIM_IMAGE, scaling: { ...g.scaling, ...overrides } }])),
        states: view.groups.map((g) => ({ name: g.config.name, paused: false, expired: false, declared: true, lastActivityAt: g.lastActivityAt })),
        bots: view.bots.map((b) => ({ ...b, imageKey: SIM_IMAGE })),
        counts: view.groups.map((g) => ({ group: g.config.name, queued: g.queued, running: g.running, oldestQueuedAt: g.oldestQueuedAt })),
        history: Object.fromEntries(view.groups.map((g) => [g.config.name, g.history])),
        timeZone: view.timeZone,
      });
      const result = plan(snapshot.plan, { groups: snapshot.settings }, now);
      const decision = { create: [] as Array<{ group: string; count: number }>, delete: [] as string[], fail: [] as string[] };
      for (const action of result.actions) {
        if (action.kind === 'create') decision.create.push({ group: action.group, count: action.count });
        else if (action.kind === 'delete') decision.delete.push(...action.botIds);
        else decision.fail.push(...action.botIds);
      }
      const claimLimits = Object.fromEntries(Object.entries(result.groups).map(([name, g]) => [name, g.claimLimit]));
      return { ...decision, claimLimits };
    },
  };
}

export function hostedDefaultPolicy(): Policy {
  return {
    name: 'hosted-default',
    tickSeconds: 15,
    eventDriven: true,
    decide(view: PolicyView): PolicyDecision {
      const create: Array<{ group: string; count: number }> = [];
      let free = view.capacity - view.bots.length;
      const remove: string[] = [];
      for (const g of view.groups) {
        const bots = view.bots.filter((b) => b.group === g.config.name);
        const booting = bots.filter((b) => b.state === 'provisioning').length;
        const count = Math.min(g.queued - booting, g.config.maxBots - bots.length, free);
        if (count > 0) {
          create.push({ group: g.config.name, count });
          free -= count;
        }
        remove.push(...bots.filter((b) => b.state === 'idle' && g.queued === 0).map((b) => b.id));
      }
      return { create, delete: remove };
    },
  };
}

export interface ElasticPoolSettings {
  /** Idle bots kept per group. @default 1 */
  readonly standby: number;
  /** @default 5 */
  readonly sampleMinutes: number;
  /** Delay before deleting excess idle bots. @default 30 */
  readonly idleMinutes: number;
  /** The most bots added per sample, as a share of the maximum. @default 0.25 */
  readonly step: number;
}

export function elasticPoolPolicy(settings: Partial<ElasticPoolSettings> = {}): Policy {
  const s: ElasticPoolSettings = { standby: 1, sampleMinutes: 5, idleMinutes: 30, step: 0.25, ...settings };
  return {
    name: s.standby === 1 ? 'elastic-pool' : `elastic-pool, standby ${s.standby}`,
    tickSeconds: s.sampleMinutes * 60,
    eventDriven: false,
    decide(view: PolicyView, now: number): PolicyDecision {
      const create: Array<{ group: string; count: number }> = [];
      const remove: string[] = [];
      let free = view.capacity - view.bots.length;
      for (const g of view.groups) {
        const bots = view.bots.filter((b) => b.group === g.config.name);
        const idle = bots.filter((b) => b.state === 'idle').sort((a, b) => a.stateChangedAt - b.stateChangedAt);
        const booting = bots.filter((b) => b.state === 'provisioning').length;
        const short = Math.max(s.standby - idle.length, g.queued - idle.length) - booting;
        if ((idle.length < s.standby || (g.queued > 0 && idle.length === 0)) && short > 0) {
          const step = Math.max(1, Math.ceil(s.step * g.config.maxBots));
          const count = Math.min(short, step, g.config.maxBots - bots.length, free);
          if (count > 0) {
            create.push({ group: g.config.name, count });
            free -= count;
          }
        }
        const excess = idle.slice(0, Math.max(0, idle.length - s.standby));
        remove.push(...excess.filter((b) => now - b.stateChangedAt >= s.idleMinutes * MINUTE).map((b) => b.id));
      }
      return { create, delete: remove };
    },
  };
}

/** A constant pool: `bots` per group (or per group name), never scaled. */
export function fixedPolicy(bots: number | Readonly<Record<string, number>>): Policy {
  const size = (group: string) => (typeof bots === 'number' ? bots : bots[group] ?? 0);
  const label = typeof bots === 'number' ? `${bots}` : Object.values(bots).join('+');
  return {
    name: `fixed ${label}`,
    tickSeconds: 60,
    eventDriven: false,
    decide(view: PolicyView): PolicyDecision {
      const create: Array<{ group: string; count: number }> = [];
      for (const g of view.groups) {
        const have = view.bots.filter((b) => b.group === g.config.name).length;
        const want = Math.min(size(g.config.name), g.config.maxBots);
        if (want > have) create.push({ group: g.config.name, count: want - have });
      }
      return { create };
    },
  };
}
