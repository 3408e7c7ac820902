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
import { SLOT_MS, slotOf } from '../domain/history';
import { EARLY_IDLE_MINUTES, PlanScaling } from '../scaler/plan';
import { buildSnapshot, GroupDeclaration, SnapshotInput } from '../scaler/snapshot';
import { accountedPlan, AccountBook, EMPTY_BOOK, lifetime } from '../scaler/warm-up-account';
import type { QueueCounts } from '../store/types';
import type { Policy, PolicyDecision, PolicyView, SimGroup, SimGroupView } from './simulate';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Time zones change offset on quarter-hour boundaries (runtime/scaler/time-zone.ts). */
const QUARTER_HOUR = 15 * MINUTE;
/** Every simulated bot runs the image its group declares: none is ever outdated. */
const SIM_IMAGE = 'sim';

/**
 * The runtime's scaler: plan() on every arrival and completion, and on its 15-second tick, given
 * the snapshot the scaler loop builds, from the simulator's groups, bots and queues, and with the
 * warm-up account the loop keeps (accountedPlan).
 */
export function oursPolicy(name = 'ours', overrides: Partial<PlanScaling> = {}): Policy {
  // The declared groups change only with the fleet: built once per fleet, not on every decision.
  let declaredFor: readonly SimGroup[] = [];
  let declared = new Map<string, GroupDeclaration>();
  let scaling = new Map<string, PlanScaling>();
  const declarations = (view: PolicyView) => {
    if (view.groups.length !== declaredFor.length || view.groups.some((g, i) => g.config !== declaredFor[i])) {
      declaredFor = view.groups.map((g) => g.config);
      declared = new Map(declaredFor.map((g) => [g.name, { name: g.name, maxBots: g.maxBots, committedBots: g.committedBots, imageKey: SIM_IMAGE, scaling: { ...g.scaling, ...overrides } }]));
      scaling = new Map([...declared.values()].map((d) => [d.name, d.scaling]));
    }
    return declared;
  };
  let book: AccountBook = EMPTY_BOOK;
  let opened = 0;
  return {
    name,
    tickSeconds: 15,
    eventDriven: true,
    begin(start: number) {
      book = EMPTY_BOOK;
      opened = start;
    },
    warmUp(end: number) {
      return Object.fromEntries(Object.entries(book.groups).map(([group, account]) => [group, lifetime(account, opened, end)]));
    },
    decide(view: PolicyView, now: number): PolicyDecision {
      // Plain loops: this runs on every arrival, completion and unskipped tick of every what-if.
      const states: SnapshotInput['states'][number][] = [];
      const counts: QueueCounts[] = [];
      const history: Record<string, SimGroupView['history']> = {};
      for (const g of view.groups) {
        const name = g.config.name;
        states.push({ name, paused: false, expired: false, declared: true, lastActivityAt: g.lastActivityAt });
        counts.push({ group: name, queued: g.queued, running: g.running, oldestQueuedAt: g.oldestQueuedAt });
        history[name] = g.history;
      }
      const snapshot = buildSnapshot({
        capacity: view.capacity,
        // An environment that is off would leave the trace's runs waiting for ever.
        enabled: true,
        declared: declarations(view),
        states,
        bots: view.bots.map((b) => ({ id: b.id, group: b.group, state: b.state, createdAt: b.createdAt, stateChangedAt: b.stateChangedAt, runsCompleted: b.runsCompleted, imageKey: SIM_IMAGE })),
        counts,
        history,
        timeZone: view.timeZone,
      });
      // With the warm-up account the runtime's scaler loop keeps (accountedPlan).
      const accounted = accountedPlan(snapshot.plan, { groups: snapshot.settings }, now, book);
      book = accounted.book;
      const result = accounted.plan;
      const create: Array<{ group: string; count: number }> = [];
      const remove: string[] = [];
      const fail: string[] = [];
      for (const action of result.actions) {
        if (action.kind === 'create') create.push({ group: action.group, count: action.count });
        else if (action.kind === 'delete') remove.push(...action.botIds);
        else fail.push(...action.botIds);
      }
      const claimLimits: Record<string, number | undefined> = {};
      for (const name in result.groups) claimLimits[name] = result.groups[name].claimLimit;
      return { create, delete: remove, fail, claimLimits };
    },
    quietUntil: (view, now) => {
      declarations(view);
      return quietUntil(view, now, scaling);
    },
  };
}

/**
 * How long plan()'s answer holds while nothing happens (no arrival, completion, boot or delete):
 * the first instant after `now` at which one of its inputs that moves with the clock alone could
 * change. Those are, from runtime/scaler/plan.ts and history.ts:
 * - a queued run's wait, which weighs its group's share of the capacity for runs: no answer holds
 *   while runs are queued and the groups' runs (each up to its maxBots, or its committed bots when
 *   more) could want more than the capacity; when they cannot, every group gets all it wants for
 *   its runs whatever the weights;
 * - a failed bot, deleted at the next plan: none holds either;
 * - a provisioning bot's boot time-out, and an idle bot's idleMinutes and EARLY_IDLE_MINUTES;
 * - a group going cold (coldAfterHours after its last activity), which drops its standby bots;
 * - predictive warm-up's forecast and likelyReuse, which read whole 10-minute slots of now and of
 *   now + the lead time, and days and wall-clock times in the environment's time zone, whose
 *   offsets change on quarter hours.
 * The simulator checks this against asking at every tick (SimOptions.everyTick) in
 * test/runtime/sim/simulate.test.ts; a change to what plan() reads from the clock belongs here too.
 */
export function planQuietUntil(view: PolicyView, now: number, overrides: Partial<PlanScaling> = {}): number {
  return quietUntil(view, now, new Map(view.groups.map((g) => [g.config.name, { ...g.config.scaling, ...overrides }])));
}

/** planQuietUntil with each group's scaling settings, overrides applied, by name. */
function quietUntil(view: PolicyView, now: number, scaling: ReadonlyMap<string, PlanScaling>): number {
  let until = Number.POSITIVE_INFINITY;
  const after = (t: number) => {
    if (t > now && t < until) until = t;
  };
  let runsWant = 0;
  for (const g of view.groups) runsWant += Math.max(Math.min(g.queued + g.running, g.config.maxBots), g.config.committedBots);
  if (runsWant > view.capacity && view.groups.some((g) => g.queued > 0)) return now;
  for (const g of view.groups) {
    const s = scaling.get(g.config.name)!;
    after(g.lastActivityAt + s.coldAfterHours * HOUR);
    if (s.predictive) {
      after(slotOf(now) + SLOT_MS);
      const lead = s.predictiveLeadMinutes * MINUTE;
      after(slotOf(now + lead) + SLOT_MS - lead);
      const timeZone = view.timeZone ?? 'UTC';
      if (timeZone !== 'UTC' && timeZone !== 'Etc/UTC') after((Math.floor(now / QUARTER_HOUR) + 1) * QUARTER_HOUR);
    }
  }
  for (const b of view.bots) {
    const s = scaling.get(b.group);
    if (!s || b.state === 'failed') return now;
    if (b.state === 'provisioning') after(b.createdAt + s.bootTimeoutMinutes * MINUTE + 1);
    if (b.state === 'idle') {
      after(b.stateChangedAt + Math.min(EARLY_IDLE_MINUTES, s.idleMinutes) * MINUTE);
      after(b.stateChangedAt + s.idleMinutes * MINUTE);
    }
  }
  return until;
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
