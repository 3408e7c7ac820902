/**
 * A discrete-event simulator of one environment in virtual time. Runs arrive from a trace, wait in
 * their group's queue (high priority first, then in order of arrival), and are claimed by idle
 * bots; bots boot after a sampled provisioning delay and are deleted after a fixed delay.
 *
 * What decides when bots are created and deleted is a Policy. The "ours" policy calls the real
 * plan() of the runtime's scaler, with the same snapshot the runtime builds from its store, so the
 * simulator measures the scaler itself, not a model of it. The baselines are in policies.ts.
 *
 * Deterministic: the same trace, fleet, policy and seed give the same report.
 */
import { DEFAULTS } from '../config/fleet-schema';
import type { PlanScaling } from '../scaler/plan';
import type { WarmUpFigures } from '../scaler/warm-up-account';
import { HistoryRecorder } from '../scaler/history';
import type { ArrivalHistory } from '../domain/history';
import type { BotState } from '../domain/bot';
import type { Priority } from '../domain/run';
import { Random } from './random';
import type { TraceRun } from './trace';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export interface SimGroup {
  readonly name: string;
  readonly maxBots: number;
  readonly committedBots: number;
  readonly scaling: PlanScaling;
  /**
   * A run that waits longer ends as `expired` in the runtime. The simulation ends, at the latest,
   * this long after the trace's last run (the longest of the groups'), and the runs no bot has taken
   * by then are reported as never started. @default 6 (the manifest's default)
   */
  readonly queueTimeoutHours?: number;
}

/** The environment being simulated: its capacity and groups, as the manifest declares them. */
export interface SimFleet {
  readonly capacity: number;
  /** The environment's IANA time zone, for the forecast's local days. @default 'UTC' */
  readonly timeZone?: string;
  readonly groups: readonly SimGroup[];
}

/**
 * Provisioning delay, from create to a registered bot: log-normal. The default has a median of
 * 4 minutes, 5% of boots past 10 minutes and about 1% past 15 (Windows VMs on Azure).
 */
export interface BootModel {
  readonly medianSeconds: number;
  readonly sigma: number;
  /** No boot takes longer. */
  readonly maxSeconds: number;
}

export const DEFAULT_BOOT: BootModel = { medianSeconds: 240, sigma: 0.6, maxSeconds: 40 * 60 };

export interface SimOptions {
  /** Seeds the provisioning delays. @default 1 */
  readonly seed?: number;
  readonly boot?: BootModel;
  /** From delete to ARM confirming it; the bot counts against the caps meanwhile. @default 60 */
  readonly deleteSeconds?: number;
  /** Called now and then with the share of the trace's runs that have arrived. */
  readonly onProgress?: (arrived: number, total: number) => void;
  /**
   * Also record each group's demand and bots by state over time (for `simulate --html`). Off by
   * default: the benchmarks and the what-if runs need only the totals.
   */
  readonly series?: SeriesOptions;
  /** Also return every run's wait with its arrival time, per group (SimReport.runWaits). @default false */
  readonly runWaits?: boolean;
  /**
   * Ask the policy at every tick, even while Policy.quietUntil says its answer cannot change. The
   * report is the same either way (test/runtime/sim/simulate.test.ts holds them equal); this is
   * the slow reference. @default false
   */
  readonly everyTick?: boolean;
}

/** One run's wait, for SimReport.runWaits. */
export interface RunWait {
  /** Epoch ms. */
  readonly arrivedAt: number;
  readonly waitSeconds: number;
}

export interface SeriesOptions {
  /** Seconds between samples; widened so a series never holds more than maxPoints. @default 60 */
  readonly everySeconds?: number;
  /** @default 1500 */
  readonly maxPoints?: number;
}

/** A group's state sampled over the simulation: parallel arrays, one entry per sample time. */
export interface GroupSeries {
  readonly group: string;
  /** Sample times, epoch ms. */
  readonly at: number[];
  readonly queued: number[];
  readonly running: number[];
  readonly bots: Record<SimBotState, number[]>;
  /** Wait in seconds at percentiles 0, 1, ..., 100 (nearest rank): the wait distribution as a CDF. */
  readonly waitPercentiles: number[];
}

/** A simulated bot is forgotten once deleted, so it is in one of the live states. */
export type SimBotState = Exclude<BotState, 'deleted'>;

export interface SimBotView {
  readonly id: string;
  readonly group: string;
  readonly state: SimBotState;
  readonly createdAt: number;
  readonly stateChangedAt: number;
  readonly runsCompleted: number;
}

export interface SimGroupView {
  readonly config: SimGroup;
  readonly queued: number;
  readonly running: number;
  readonly lastActivityAt: number;
  readonly history: ArrivalHistory;
  /** When the group's longest-waiting queued run arrived; undefined when none waits. */
  readonly oldestQueuedAt?: number;
}

/** What a policy sees: the same facts the runtime's store holds. Valid during the call it is given to. */
export interface PolicyView {
  readonly capacity: number;
  /** The environment's IANA time zone. @default 'UTC' */
  readonly timeZone?: string;
  readonly groups: readonly SimGroupView[];
  readonly bots: readonly SimBotView[];
}

export interface PolicyDecision {
  readonly create?: ReadonlyArray<{ readonly group: string; readonly count: number }>;
  /** Idle or failed bots to delete. */
  readonly delete?: readonly string[];
  /** Provisioning bots to mark failed (boot time-out). */
  readonly fail?: readonly string[];
  /** Most busy bots per group; groups left out have no limit. */
  readonly claimLimits?: Readonly<Record<string, number | undefined>>;
}

export interface Policy {
  readonly name: string;
  /** Minutes between periodic decisions. */
  readonly tickSeconds: number;
  /** Also decides after every arrival and completion, as the runtime does. */
  readonly eventDriven: boolean;
  decide(view: PolicyView, now: number): PolicyDecision;
  /**
   * After a decision that changed nothing, the earliest time at which, with no arrival, completion,
   * boot or delete in between, decide() could answer differently: the simulator skips the ticks
   * before it. It must never be late; returning `now` skips nothing. @default no ticks are skipped
   */
  quietUntil?(view: PolicyView, now: number): number;
  /** Called as a simulation starts: a policy that learns (ours: the warm-up account) starts afresh. */
  begin?(start: number): void;
  /** What the policy learned, per group, when the simulation ends (ours: the warm-up account). */
  warmUp?(end: number): Readonly<Record<string, WarmUpFigures>>;
}

export interface WaitStats {
  /** Seconds. */
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

export interface BotMinutes {
  readonly busy: number;
  readonly idle: number;
  readonly booting: number;
  readonly total: number;
}

export interface GroupReport {
  readonly group: string;
  /** Runs a bot took; their waits are `wait`. */
  readonly runs: number;
  /**
   * Runs still queued when the simulation ended, at the trace's last arrival plus the longest queue
   * time-out: no bot would ever have taken them (a pool that leaves the group no bot, maxBots 0, the
   * capacity held by other groups). Their waits are not in `wait`.
   */
  readonly neverStarted: number;
  readonly wait: WaitStats;
  readonly botMinutes: BotMinutes;
  readonly boots: number;
  readonly peakBots: number;
  /** Minutes during which runs of the group waited while the environment's bots were at capacity. */
  readonly capacityBoundMinutes: number;
}

export interface SimReport {
  readonly policy: string;
  readonly start: number;
  readonly end: number;
  readonly groups: readonly GroupReport[];
  readonly total: GroupReport;
  /** Present when options.series asked for it. */
  readonly series?: readonly GroupSeries[];
  /** Present when options.runWaits asked for it: each group's runs in the order they started. */
  readonly runWaits?: Readonly<Record<string, readonly RunWait[]>>;
  /** Each group's warm-up account at the end, for a policy that keeps one (Policy.warmUp). */
  readonly warmUp?: Readonly<Record<string, WarmUpFigures>>;
}

interface SimRun {
  readonly group: string;
  readonly priority: Priority;
  readonly arrivedAt: number;
  readonly durationMs: number;
}

interface SimBot {
  readonly id: string;
  readonly group: string;
  state: SimBotState;
  readonly createdAt: number;
  stateChangedAt: number;
  runsCompleted: number;
}

type SimEvent =
  | { readonly at: number; readonly seq: number; readonly kind: 'booted'; readonly bot: SimBot }
  | { readonly at: number; readonly seq: number; readonly kind: 'finished'; readonly bot: SimBot; readonly run: SimRun }
  | { readonly at: number; readonly seq: number; readonly kind: 'deleted'; readonly bot: SimBot };

/** A binary min-heap on (at, seq): ties resolve in scheduling order. */
class EventHeap {
  private readonly items: SimEvent[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): SimEvent | undefined {
    return this.items[0];
  }
  push(e: SimEvent): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): SimEvent | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A simulated group's queue of runs in claim order: high priority first, then by arrival. */
class SimQueue {
  private readonly high: SimRun[] = [];
  private readonly normal: SimRun[] = [];
  private highHead = 0;
  private normalHead = 0;
  get length(): number {
    return this.high.length - this.highHead + this.normal.length - this.normalHead;
  }

  push(run: SimRun): void {
    (run.priority === 'high' ? this.high : this.normal).push(run);
  }
  /** When the longest-waiting queued run arrived; undefined when none waits. */
  get oldestArrivedAt(): number | undefined {
    const high = this.high[this.highHead]?.arrivedAt;
    const normal = this.normal[this.normalHead]?.arrivedAt;
    return high === undefined ? normal : normal === undefined ? high : Math.min(high, normal);
  }
  shift(): SimRun | undefined {
    if (this.highHead < this.high.length) return this.high[this.highHead++];
    if (this.normalHead < this.normal.length) return this.normal[this.normalHead++];
    return undefined;
  }
}

/** A group being simulated: its queue and bots, and what its report tallies. */
interface SimulatedGroup {
  readonly config: SimGroup;
  readonly queue: SimQueue;
  running: number;
  lastActivityAt: number;
  readonly history: HistoryRecorder;
  readonly bots: Map<string, SimBot>;
  readonly counts: Record<SimBotState, number>;
  readonly waits: number[];
  /** Arrival times, parallel to waits. */
  readonly arrivals: number[];
  busyMs: number;
  idleMs: number;
  bootingMs: number;
  boundMs: number;
  boots: number;
  peak: number;
  neverStarted: number;
  claimLimit?: number;
}

/** The longest of the groups' queue time-outs: after the trace's last run plus this, no run starts. */
export function longestQueueTimeoutHours(fleet: SimFleet): number {
  return Math.max(...fleet.groups.map((g) => g.queueTimeoutHours ?? DEFAULTS.scaling.queueTimeoutHours));
}

/** Simulates `trace` on `fleet` under `policy`. The trace must be sorted by arrival. */
export function simulate(trace: readonly TraceRun[], fleet: SimFleet, policy: Policy, options: SimOptions = {}): SimReport {
  const random = new Random(options.seed ?? 1);
  const boot = options.boot ?? DEFAULT_BOOT;
  const deleteMs = (options.deleteSeconds ?? 60) * SECOND;
  if (trace.length === 0) throw new Error('the trace holds no runs');
  const groups = new Map<string, SimulatedGroup>();
  // The clock starts at midnight UTC of the first run's day, so every policy starts cold.
  const start = Math.floor(trace[0].at / (24 * 60 * MINUTE)) * 24 * 60 * MINUTE;
  policy.begin?.(start);
  for (const config of fleet.groups) {
    groups.set(config.name, {
      config,
      queue: new SimQueue(),
      running: 0,
      lastActivityAt: Number.NEGATIVE_INFINITY,
      history: new HistoryRecorder(start),
      bots: new Map(),
      counts: { provisioning: 0, idle: 0, busy: 0, failed: 0, deleting: 0 },
      waits: [],
      arrivals: [],
      busyMs: 0,
      idleMs: 0,
      bootingMs: 0,
      boundMs: 0,
      boots: 0,
      peak: 0,
      neverStarted: 0,
    });
  }
  for (const run of trace) {
    if (!groups.has(run.group)) throw new Error(`the trace has runs for group "${run.group}", which the fleet does not declare (groups: ${[...groups.keys()].join(', ')})`);
  }

  const events = new EventHeap();
  let seq = 0;
  let nextBot = 1;
  let live = 0;
  let peakTotal = 0;
  let boundTotalMs = 0;
  let now = start;
  let clock = start;
  let nextArrival = 0;
  let outstanding = 0;
  let lastEnd = start;
  const tickMs = policy.tickSeconds * SECOND;
  let nextTick = start;
  // Ticks before this are skipped: the policy said its answer cannot change until then.
  let quietUntil = start;
  const progressEvery = Math.max(1, Math.floor(trace.length / 100));
  // No run can start after this: every queued run has waited out its group's time-out by then.
  const lastArrival = trace[trace.length - 1].at;
  const horizon = lastArrival + longestQueueTimeoutHours(fleet) * 60 * MINUTE;
  let beforeHorizon = true;
  const series = options.series ? new SeriesRecorder([...groups.values()], start, trace[trace.length - 1].at, options.series) : undefined;

  const setState = (g: SimulatedGroup, bot: SimBot, state: SimBotState) => {
    g.counts[bot.state]--;
    g.counts[state]++;
    bot.state = state;
    bot.stateChangedAt = now;
  };

  const advance = (to: number) => {
    const dt = to - clock;
    if (dt <= 0) return;
    const atCapacity = live >= fleet.capacity;
    let anyQueued = false;
    for (const g of groups.values()) {
      g.busyMs += g.counts.busy * dt;
      g.idleMs += (g.counts.idle + g.counts.failed + g.counts.deleting) * dt;
      g.bootingMs += g.counts.provisioning * dt;
      if (g.queue.length > 0) {
        anyQueued = true;
        if (atCapacity) g.boundMs += dt;
      }
    }
    if (anyQueued && atCapacity) boundTotalMs += dt;
    clock = to;
  };

  /** Starts queued runs on idle bots; the number started. */
  const dispatch = (): number => {
    let started = 0;
    for (const g of groups.values()) {
      if (g.queue.length === 0 || g.counts.idle === 0) continue;
      // Longest idle first, as the store hands out claims to the bots that asked first.
      const idle = [...g.bots.values()].filter((b) => b.state === 'idle').sort((a, b) => a.stateChangedAt - b.stateChangedAt);
      for (const bot of idle) {
        if (g.queue.length === 0) break;
        if (g.claimLimit !== undefined && g.counts.busy >= g.claimLimit) break;
        const run = g.queue.shift()!;
        setState(g, bot, 'busy');
        g.running++;
        g.lastActivityAt = now;
        g.waits.push((now - run.arrivedAt) / SECOND);
        g.arrivals.push(run.arrivedAt);
        events.push({ at: now + run.durationMs, seq: seq++, kind: 'finished', bot, run });
        started++;
      }
    }
    return started;
  };

  const view = (): PolicyView => {
    const bots: SimBotView[] = [];
    // The simulator's own bots, not copies: a view is read during decide() and never kept.
    for (const g of groups.values()) for (const b of g.bots.values()) bots.push(b);
    return {
      capacity: fleet.capacity,
      ...(fleet.timeZone !== undefined ? { timeZone: fleet.timeZone } : {}),
      groups: [...groups.values()].map((g) => ({ config: g.config, queued: g.queue.length, oldestQueuedAt: g.queue.oldestArrivedAt, running: g.running, lastActivityAt: g.lastActivityAt, history: g.history })),
      bots,
    };
  };

  /** Applies a decision; true when it changed anything. */
  const apply = (decision: PolicyDecision): boolean => {
    let changed = false;
    for (const id of decision.fail ?? []) {
      const bot = findBot(groups, id);
      if (bot && bot.bot.state === 'provisioning') {
        setState(bot.g, bot.bot, 'failed');
        changed = true;
      }
    }
    for (const id of decision.delete ?? []) {
      const bot = findBot(groups, id);
      if (!bot || (bot.bot.state !== 'idle' && bot.bot.state !== 'failed')) continue;
      setState(bot.g, bot.bot, 'deleting');
      events.push({ at: now + deleteMs, seq: seq++, kind: 'deleted', bot: bot.bot });
      changed = true;
    }
    for (const { group, count } of decision.create ?? []) {
      const g = groups.get(group);
      if (!g) continue;
      // The caps hold whatever the policy asks.
      const n = Math.min(count, g.config.maxBots - g.bots.size, fleet.capacity - live);
      for (let i = 0; i < n; i++) {
        const bot: SimBot = { id: `bot-${nextBot++}`, group, state: 'provisioning', createdAt: now, stateChangedAt: now, runsCompleted: 0 };
        g.bots.set(bot.id, bot);
        g.counts.provisioning++;
        g.boots++;
        live++;
        const delay = Math.min(boot.maxSeconds, random.logNormal(boot.medianSeconds, boot.sigma)) * SECOND;
        events.push({ at: now + Math.round(delay), seq: seq++, kind: 'booted', bot });
        changed = true;
      }
      g.peak = Math.max(g.peak, g.bots.size);
    }
    peakTotal = Math.max(peakTotal, live);
    if (decision.claimLimits) {
      for (const g of groups.values()) {
        const limit = decision.claimLimits[g.config.name];
        if (limit !== g.claimLimit) changed = true;
        g.claimLimit = limit;
      }
    }
    return changed;
  };

  for (;;) {
    const pending = events.peek();
    const arrivalAt = nextArrival < trace.length ? trace[nextArrival].at : Number.POSITIVE_INFINITY;
    if (arrivalAt === Number.POSITIVE_INFINITY && outstanding === 0) break;
    now = Math.min(arrivalAt, pending?.at ?? Number.POSITIVE_INFINITY, nextTick, beforeHorizon ? horizon : Number.POSITIVE_INFINITY);
    advance(now);
    // Sample times passed by now: the state has held since the last event, whose changes they include.
    if (series && now >= series.next) series.sample(now);

    let changed = false;
    while (nextArrival < trace.length && trace[nextArrival].at === now) {
      const t = trace[nextArrival++];
      const g = groups.get(t.group)!;
      g.queue.push({ group: t.group, priority: t.priority, arrivedAt: t.at, durationMs: Math.round(t.durationSeconds * SECOND) });
      g.history.arrival(t.at);
      g.lastActivityAt = now;
      outstanding++;
      changed = true;
      if (options.onProgress && nextArrival % progressEvery === 0) options.onProgress(nextArrival, trace.length);
    }
    while (events.peek() && events.peek()!.at === now) {
      const e = events.pop()!;
      const g = groups.get(e.bot.group)!;
      if (e.kind === 'booted') {
        if (e.bot.state === 'provisioning') setState(g, e.bot, 'idle');
      } else if (e.kind === 'finished') {
        e.bot.runsCompleted++;
        g.running--;
        outstanding--;
        lastEnd = now;
        g.history.busy(now - e.run.durationMs, now);
        g.lastActivityAt = now;
        setState(g, e.bot, 'idle');
      } else {
        g.counts.deleting--;
        g.bots.delete(e.bot.id);
        live--;
      }
      changed = true;
    }
    const ticked = now === nextTick;
    if (ticked) {
      nextTick += tickMs;
      for (const g of groups.values()) g.history.prune(now);
    }

    if (changed) quietUntil = now;
    dispatch();
    if ((ticked && now >= quietUntil) || (changed && policy.eventDriven)) {
      const seen = view();
      const acted = apply(policy.decide(seen, now));
      const started = dispatch();
      // Nothing changed since `seen`: the policy may say how long its answer holds.
      quietUntil = !acted && started === 0 && policy.quietUntil && !options.everyTick ? policy.quietUntil(seen, now) : now;
    }
    if (beforeHorizon && now >= horizon) {
      // Runs still queued now would never start: the runtime would end them expired. Runs still
      // running finish, and the simulation ends with them.
      beforeHorizon = false;
      for (const g of groups.values()) {
        while (g.queue.shift()) {
          g.neverStarted++;
          outstanding--;
        }
      }
      if (sum([...groups.values()].map((g) => g.neverStarted)) > 0) lastEnd = Math.max(lastEnd, now);
    }
  }
  advance(lastEnd);
  options.onProgress?.(trace.length, trace.length);

  const reports = [...groups.values()].map((g) => groupReport(g.config.name, g.waits, g.neverStarted, g.busyMs, g.idleMs, g.bootingMs, g.boots, g.peak, g.boundMs));
  const all = [...groups.values()];
  const total = groupReport(
    'total',
    all.flatMap((g) => g.waits),
    sum(all.map((g) => g.neverStarted)),
    sum(all.map((g) => g.busyMs)),
    sum(all.map((g) => g.idleMs)),
    sum(all.map((g) => g.bootingMs)),
    sum(all.map((g) => g.boots)),
    peakTotal,
    boundTotalMs,
  );
  if (series) series.sample(lastEnd + 1);
  const runWaits = options.runWaits
    ? Object.fromEntries(all.map((g) => [g.config.name, g.waits.map((waitSeconds, i) => ({ arrivedAt: g.arrivals[i], waitSeconds }))]))
    : undefined;
  const warmUp = policy.warmUp?.(lastEnd);
  return { policy: policy.name, start, end: lastEnd, groups: reports, total, ...(series ? { series: series.finish() } : {}), ...(runWaits ? { runWaits } : {}), ...(warmUp ? { warmUp } : {}) };
}

/** Samples each group's queue, running runs and bots by state at a fixed step of virtual time. */
class SeriesRecorder {
  next: number;
  private readonly stepMs: number;
  private readonly maxPoints: number;
  private readonly out: Array<{ g: SimulatedGroup; s: GroupSeries }>;

  constructor(groups: readonly SimulatedGroup[], start: number, lastArrival: number, options: SeriesOptions) {
    const maxPoints = (this.maxPoints = options.maxPoints ?? 1500);
    // The runs end some time after the last arrival: leave a quarter of the room for that tail.
    const span = Math.max(MINUTE, lastArrival - start);
    const minStep = Math.ceil(span / (maxPoints * 0.75) / MINUTE) * MINUTE;
    this.stepMs = Math.max((options.everySeconds ?? 60) * SECOND, minStep);
    this.next = start;
    this.out = groups.map((g) => ({
      g,
      s: { group: g.config.name, at: [], queued: [], running: [], bots: { provisioning: [], idle: [], busy: [], failed: [], deleting: [] }, waitPercentiles: [] },
    }));
  }

  /** Records one sample per step passed by `now` (the state held constant since the last event). */
  sample(now: number): void {
    while (this.next < now) {
      // A tail far longer than the trace (a run of days at its end) stops at the bound.
      if (this.out[0] && this.out[0].s.at.length >= this.maxPoints) {
        this.next = Number.POSITIVE_INFINITY;
        return;
      }
      for (const { g, s } of this.out) {
        s.at.push(this.next);
        s.queued.push(g.queue.length);
        s.running.push(g.running);
        for (const state of Object.keys(s.bots) as SimBotState[]) s.bots[state].push(g.counts[state]);
      }
      this.next += this.stepMs;
    }
  }

  finish(): GroupSeries[] {
    return this.out.map(({ g, s }) => {
      const sorted = [...g.waits].sort((a, b) => a - b);
      const waitPercentiles = Array.from({ length: 101 }, (_, p) => percentile(sorted, p));
      return { ...s, waitPercentiles };
    });
  }
}

function findBot(groups: ReadonlyMap<string, SimulatedGroup>, id: string): { g: SimulatedGroup; bot: SimBot } | undefined {
  for (const g of groups.values()) {
    const bot = g.bots.get(id);
    if (bot) return { g, bot };
  }
  return undefined;
}

function sum(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0);
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function groupReport(group: string, waits: readonly number[], neverStarted: number, busyMs: number, idleMs: number, bootingMs: number, boots: number, peakBots: number, boundMs: number): GroupReport {
  const sorted = [...waits].sort((a, b) => a - b);
  const botMinutes = { busy: busyMs / MINUTE, idle: idleMs / MINUTE, booting: bootingMs / MINUTE, total: (busyMs + idleMs + bootingMs) / MINUTE };
  return {
    group,
    runs: waits.length,
    neverStarted,
    wait: { mean: waits.length ? sum(waits) / waits.length : 0, p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] ?? 0 },
    botMinutes,
    boots,
    peakBots,
    capacityBoundMinutes: boundMs / MINUTE,
  };
}
