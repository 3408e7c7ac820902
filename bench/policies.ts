/**
 * The policy comparison: every trace in bench/traces simulated under ours (the runtime's plan())
 * and the baselines, on fleets synthesized for real. Rewrites the "policies" section of
 * BENCHMARKS.md with a table per trace (total and worst-group p95, each with its Pareto front
 * against bot-minutes), the targets against elastic-pool, and the simulator's speed.
 *
 * The traces are the synthetic workloads (bench/traces.ts) and the weeks converted from real job
 * logs (bench/real-traces.ts).
 *
 *   node dist/bench/policies.js [--seeds 9] [--trace NAME]... (see --help)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformVariable } from 'cdktf';
import { HostedBotsStack } from '../index';
import { parseManifest } from '../runtime/config/manifest';
import { fleetOf } from '../runtime/sim/planner';
import { elasticPoolPolicy, fixedPolicy, hostedDefaultPolicy, oursPolicy } from '../runtime/sim/policies';
import { Policy, SimFleet, simulate, SimReport } from '../runtime/sim/simulate';
import { parseTrace, TraceRun } from '../runtime/sim/trace';
import { WORKLOAD_DESCRIPTIONS, WORKLOAD_GROUPS, WorkloadKind, WORKLOADS } from '../runtime/sim/workloads';
import { REAL_TRACE_NAMES, REAL_TRACES, RealTraceName } from './real-traces';
import { machine, median, runScript, table, writeSection } from './report';

const ROOT = path.resolve(__dirname, '..', '..');
const TRACES = path.join(ROOT, 'bench', 'traces');
const FLEETS = path.join(ROOT, 'bench', 'fleets');

export interface FleetGroupSpec {
  readonly name: string;
  readonly maxBots: number;
  /** The one flow the group runs; its name matches the trace's flow column. */
  readonly flow: string;
  readonly timeoutMinutes?: number;
}

export interface FleetSpec {
  readonly name: string;
  readonly capacity: number;
  readonly groups: readonly FleetGroupSpec[];
  readonly why: string;
}

export type FleetName = 'standard' | 'contended' | 'regions' | 'contended-three' | 'kth-sp2' | 'lanl-cm5';

export const FLEET_SPECS: Readonly<Record<FleetName, FleetSpec>> = {
  standard: {
    name: 'standard',
    capacity: 60,
    groups: [
      { name: 'finance', maxBots: 40, flow: 'invoice-entry' },
      { name: 'sales', maxBots: 20, flow: 'lead-sync' },
    ],
    why: 'room for the busiest hour',
  },
  contended: {
    name: 'contended',
    capacity: 24,
    groups: [
      { name: 'finance', maxBots: 16, flow: 'invoice-entry' },
      { name: 'sales', maxBots: 16, flow: 'lead-sync' },
    ],
    why: 'the two groups together want more than the capacity',
  },
  regions: {
    name: 'regions',
    capacity: 40,
    groups: [
      { name: 'apac', maxBots: 20, flow: 'order-intake' },
      { name: 'emea', maxBots: 20, flow: 'invoice-entry' },
      { name: 'americas', maxBots: 20, flow: 'lead-sync' },
    ],
    why: 'each group alone fits; where two working days overlap they share the capacity',
  },
  'contended-three': {
    name: 'contended-three',
    capacity: 24,
    groups: [
      { name: 'quick', maxBots: 16, flow: 'stock-check' },
      { name: 'reports', maxBots: 16, flow: 'monthly-report' },
      { name: 'batch', maxBots: 16, flow: 'ledger-batch' },
    ],
    why: 'the three groups together want more than the capacity',
  },
  // The real traces' fleets: each group's maxBots near its busiest hours, their sum well above a
  // capacity that binds for some hours of the week (the tables' capacity-bound minutes) and not for
  // most of it. Runs last up to 4 hours (bench/real-traces.ts), the flows' time-out.
  'kth-sp2': {
    name: 'kth-sp2',
    capacity: 28,
    groups: [
      { name: 'short', maxBots: 12, flow: 'short-job', timeoutMinutes: 240 },
      { name: 'long', maxBots: 24, flow: 'long-job', timeoutMinutes: 240 },
    ],
    why: 'the busiest hours of the week want more bots than the capacity',
  },
  'lanl-cm5': {
    name: 'lanl-cm5',
    capacity: 18,
    groups: [
      { name: 'development', maxBots: 12, flow: 'dev-job', timeoutMinutes: 240 },
      { name: 'production', maxBots: 8, flow: 'prod-job', timeoutMinutes: 240 },
      { name: 'other', maxBots: 10, flow: 'other-job', timeoutMinutes: 240 },
    ],
    why: 'the busiest hours of the week want more bots than the capacity',
  },
};

/** Every trace the benchmark runs: the synthetic workloads, then the real ones. */
export type BenchTraceName = WorkloadKind | RealTraceName;
export const BENCH_TRACES: readonly BenchTraceName[] = [...WORKLOADS, ...REAL_TRACE_NAMES];

/** The groups of a trace's runs, with the flow each runs. */
export function traceGroups(name: BenchTraceName): ReadonlyArray<{ readonly group: string; readonly flow: string }> {
  return isRealTrace(name) ? REAL_TRACES[name].groups : WORKLOAD_GROUPS[name];
}

/** What a trace is, one paragraph for its section; a real trace's with its source and licence. */
export function traceDescription(name: BenchTraceName): string {
  if (!isRealTrace(name)) return WORKLOAD_DESCRIPTIONS[name];
  const real = REAL_TRACES[name];
  return `${real.description} Source: ${real.citation} Licence: ${real.licence} Converted by \`bench/real-traces.ts\`.`;
}

function isRealTrace(name: BenchTraceName): name is RealTraceName {
  return (REAL_TRACE_NAMES as readonly string[]).includes(name);
}

export const FLEET_OF_TRACE: Readonly<Record<BenchTraceName, FleetName>> = {
  'office-hours': 'standard',
  steady: 'standard',
  spiky: 'standard',
  contention: 'contended',
  calendar: 'standard',
  'time-zones': 'regions',
  growth: 'standard',
  'run-lengths': 'contended-three',
  'kth-sp2': 'kth-sp2',
  'lanl-cm5': 'lanl-cm5',
};

/** Synthesizes the fleet with the construct library and keeps its fleet.json in bench/fleets. */
export function synthesizeBenchFleet(spec: FleetSpec, outFile: string): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-fleet-${spec.name}-`));
  try {
    const app = new App({ outdir: dir, stackTraces: false });
    const stack = new HostedBotsStack(app, spec.name, { geography: 'Europe', environment: { name: spec.name, botCapacity: spec.capacity, admins: ['ops-admin'] } });
    const password = new TerraformVariable(stack, 'bot_admin_password', { type: 'string', sensitive: true }).stringValue;
    for (const group of spec.groups) {
      stack.environment.addGroup(group.name, {
        name: group.name,
        maxBots: group.maxBots,
        adminUsername: 'botadmin',
        adminPassword: password,
        flows: { [group.flow]: { command: `powershell.exe -NoProfile -File C:\\flows\\${group.flow}.ps1`, timeoutMinutes: group.timeoutMinutes ?? 60 } },
      });
    }
    app.synth();
    const text = fs.readFileSync(path.join(dir, 'stacks', spec.name, 'fleet.json'), 'utf8');
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, text.endsWith('\n') ? text : `${text}\n`);
    return JSON.parse(text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The policies compared on a fleet. */
export function policiesFor(fleet: SimFleet): Policy[] {
  const quarter = Object.fromEntries(fleet.groups.map((g) => [g.name, Math.ceil(g.maxBots / 4)]));
  const half = Object.fromEntries(fleet.groups.map((g) => [g.name, Math.ceil(g.maxBots / 2)]));
  return [
    hostedDefaultPolicy(),
    elasticPoolPolicy(),
    elasticPoolPolicy({ standby: 4 }),
    fixedPolicy(quarter),
    fixedPolicy(half),
    oursPolicy('ours (defaults)'),
    oursPolicy('ours, predictive off', { predictive: false }),
    oursPolicy('ours, tuned: standby 1, idle 5 min', { standbyBots: 1, idleMinutes: 5 }),
  ];
}

/**
 * One row's figures seed by seed, in seed order: the fronts read the spread of the seeds from
 * them (seedSpread).
 */
export interface SeedFigures {
  readonly p95: readonly number[];
  readonly botMinutes: readonly number[];
  /** Per group, its p95 wait in each seed. */
  readonly groupP95: Readonly<Record<string, readonly number[]>>;
}

export interface PolicyRow {
  readonly policy: string;
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
  readonly max: number;
  readonly botMinutes: number;
  readonly busy: number;
  readonly idle: number;
  readonly booting: number;
  readonly boots: number;
  readonly peak: number;
  readonly bound: number;
  /** Runs no bot ever took (the simulation's end came first), median over the seeds. */
  readonly neverStarted: number;
  /** p95 wait per group, in seconds. */
  readonly groupP95: Readonly<Record<string, number>>;
  /** The figures the medians above were taken over. */
  readonly seeds: SeedFigures;
  /** On the front of total p95 against bot-minutes. */
  pareto?: boolean;
  /** On the front of the worst group's p95 against bot-minutes. */
  paretoWorst?: boolean;
}

/**
 * The warm-up account of a policy that keeps one, as a line under its trace's table: the warmed
 * bots, how many a run used (and of those, how many while the capacity was bound), the bot-minutes
 * they cost against the wait they saved, and each group's share of the trace spent paused; medians
 * over the seeds. Undefined for a policy without an account.
 */
export function warmUpLine(policy: string, reports: readonly SimReport[]): string | undefined {
  const accounts = reports.map((r) => r.warmUp).filter((w): w is NonNullable<SimReport['warmUp']> => w !== undefined);
  if (accounts.length === 0) return undefined;
  const total = (f: (w: NonNullable<SimReport['warmUp']>[string]) => number) => median(accounts.map((a) => Object.values(a).reduce((sum, g) => sum + f(g), 0)));
  const groups = Object.keys(accounts[0]);
  const paused = groups.map((g) => `${g} ${(100 * median(accounts.map((a) => a[g]?.pausedShare ?? 0))).toFixed(0)}%`).join(', ');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  return `Warm-up account of "${policy}" (medians over the seeds): ${fmt(total((g) => g.warmed))} bots warmed, ${fmt(total((g) => g.used))} used by a run (${fmt(total((g) => g.displaced))} of them while the capacity was bound), costing ${fmt(total((g) => g.botMinutes))} bot-minutes and saving ${fmt(total((g) => g.savedMinutes))} minutes of waiting; share of the trace paused: ${paused}.`;
}

/** The group the policy serves worst: the one with the highest p95 wait (the first named, on a tie). */
export function worstGroup(row: Pick<PolicyRow, 'groupP95'>): string {
  const entries = Object.entries(row.groupP95);
  if (!entries.length) throw new Error('groupP95 is empty: a row needs at least one group to have a worst group');
  return entries.reduce((worst, entry) => (entry[1] > worst[1] ? entry : worst))[0];
}

/** The highest of a row's per-group p95 waits: that of the group the policy serves worst. */
export function worstGroupP95(row: Pick<PolicyRow, 'groupP95'>): number {
  return row.groupP95[worstGroup(row)];
}

/** Medians over the seeds of each figure. */
export function rowOf(policy: string, reports: readonly SimReport[]): PolicyRow {
  const m = (f: (r: SimReport) => number) => median(reports.map(f));
  return {
    policy,
    p50: m((r) => r.total.wait.p50),
    p95: m((r) => r.total.wait.p95),
    mean: m((r) => r.total.wait.mean),
    max: m((r) => r.total.wait.max),
    botMinutes: m((r) => r.total.botMinutes.total),
    busy: m((r) => r.total.botMinutes.busy),
    idle: m((r) => r.total.botMinutes.idle),
    booting: m((r) => r.total.botMinutes.booting),
    boots: m((r) => r.total.boots),
    peak: m((r) => r.total.peakBots),
    bound: m((r) => r.total.capacityBoundMinutes),
    neverStarted: m((r) => r.total.neverStarted),
    groupP95: Object.fromEntries(reports[0].groups.map((g, i) => [g.group, m((r) => r.groups[i].wait.p95)])),
    seeds: {
      p95: reports.map((r) => r.total.wait.p95),
      botMinutes: reports.map((r) => r.total.botMinutes.total),
      groupP95: Object.fromEntries(reports[0].groups.map((g, i) => [g.group, reports.map((r) => r.groups[i].wait.p95)])),
    },
  };
}

/**
 * The value at quantile q (0 to 1) of values, interpolating linearly between the two nearest
 * ranks: at 0.5 it is `median`.
 */
export function quantile(values: readonly number[], q: number): number {
  if (!values.length) throw new Error('quantile of no values: a row needs at least one seed');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile ${q} is not between 0 and 1`);
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * q;
  const below = Math.floor(h);
  return below + 1 < sorted.length ? sorted[below] + (h - below) * (sorted[below + 1] - sorted[below]) : sorted[below];
}

/**
 * The spread of one figure over the seeds: its interquartile range (upper quartile minus lower,
 * by quantile). Not the full range, which widens with every seed added and with one odd seed;
 * a single seed has no spread.
 */
export function seedSpread(values: readonly number[]): number {
  return quantile(values, 0.75) - quantile(values, 0.25);
}

/** Where a row stands on one axis of a front (lower is better): its median over the seeds, and their spread. */
export interface AxisFigure {
  readonly value: number;
  readonly spread: number;
}

/**
 * Whether a is better than b beyond the seeds' spread: lower by more than the wider of the two
 * spreads. A difference within it is a tie.
 */
export function betterBeyondSpread(a: AxisFigure, b: AxisFigure): boolean {
  return a.value < b.value - Math.max(a.spread, b.spread);
}

/**
 * Whether other takes row off a front: no worse beyond the spread on every axis (row is better
 * beyond it on none) and better beyond it on at least one. With no spread this is plain Pareto
 * dominance: at least as good on both, better on one.
 */
export function dominates(other: readonly AxisFigure[], row: readonly AxisFigure[]): boolean {
  if (other.length !== row.length) throw new Error(`rows compared on ${other.length} and ${row.length} axes; a front compares rows on the same axes`);
  return other.every((o, i) => !betterBeyondSpread(row[i], o)) && other.some((o, i) => betterBeyondSpread(o, row[i]));
}

/** The rows no other row dominates (see dominates), on the axes `axes` gives for each row. */
export function paretoFront<T>(rows: readonly T[], axes: (row: T) => readonly AxisFigure[]): Set<T> {
  const figures = new Map(rows.map((r) => [r, axes(r)]));
  return new Set(rows.filter((r) => !rows.some((o) => o !== r && dominates(figures.get(o)!, figures.get(r)!))));
}

/** A row's total p95 wait with the seeds' spread. */
export function totalP95Figure(row: Pick<PolicyRow, 'p95' | 'seeds'>): AxisFigure {
  return { value: row.p95, spread: seedSpread(row.seeds.p95) };
}

/** A row's worst group's p95 wait (the group worstGroup names) with the seeds' spread of that group's p95. */
export function worstGroupFigure(row: Pick<PolicyRow, 'groupP95' | 'seeds'>): AxisFigure {
  const group = worstGroup(row);
  const perSeed = row.seeds.groupP95[group];
  if (!perSeed) throw new Error(`the seeds' figures have no p95 for group "${group}"; they must cover the row's groups`);
  return { value: row.groupP95[group], spread: seedSpread(perSeed) };
}

/** A row's bot-minutes with the seeds' spread. */
export function botMinutesFigure(row: Pick<PolicyRow, 'botMinutes' | 'seeds'>): AxisFigure {
  return { value: row.botMinutes, spread: seedSpread(row.seeds.botMinutes) };
}

/**
 * Marks both fronts, total p95 against bot-minutes and the worst group's p95 against
 * bot-minutes, counting differences within the seeds' spread as ties.
 */
export function markPareto(rows: PolicyRow[]): void {
  const total = paretoFront(rows, (r) => [totalP95Figure(r), botMinutesFigure(r)]);
  const worst = paretoFront(rows, (r) => [worstGroupFigure(r), botMinutesFigure(r)]);
  for (const r of rows) {
    r.pareto = total.has(r);
    r.paretoWorst = worst.has(r);
  }
}

/** Where a group's p95 wait comes from, one day of the trace (UTC). */
export interface TailDay {
  /** YYYY-MM-DD. */
  readonly day: string;
  /** Of the group's slowest 5% of runs, over all the seeds, the share that arrived this day. */
  readonly tailShare: number;
  /** The day's longest wait, seconds: the median over the seeds. */
  readonly maxWait: number;
}

/**
 * A group's slowest 5% of runs (the runs at and above its p95) by the day they arrived, from
 * reports simulated with runWaits, one per seed; days in order, including days with none of them.
 */
export function tailByDay(reports: readonly SimReport[], group: string): TailDay[] {
  const tail = new Map<string, number>();
  const maxima = new Map<string, number[]>();
  let tailRuns = 0;
  for (const r of reports) {
    const waits = r.runWaits?.[group];
    if (!waits) throw new Error(`report "${r.policy}" has no run waits for group "${group}": simulate it with runWaits: true`);
    const dayOf = (at: number) => new Date(at).toISOString().slice(0, 10);
    const most = new Map<string, number>();
    for (const w of waits) most.set(dayOf(w.arrivedAt), Math.max(most.get(dayOf(w.arrivedAt)) ?? 0, w.waitSeconds));
    for (const [day, wait] of most) maxima.set(day, [...(maxima.get(day) ?? []), wait]);
    const slowest = [...waits].sort((a, b) => b.waitSeconds - a.waitSeconds).slice(0, Math.ceil(waits.length * 0.05));
    for (const w of slowest) tail.set(dayOf(w.arrivedAt), (tail.get(dayOf(w.arrivedAt)) ?? 0) + 1);
    tailRuns += slowest.length;
  }
  return [...maxima.keys()].sort().map((day) => ({ day, tailShare: tailRuns ? (tail.get(day) ?? 0) / tailRuns : 0, maxWait: median(maxima.get(day)!) }));
}

/**
 * Why "ours (defaults)" is off a front of a trace, as a verdict line: on which days the worst
 * group's slowest 5% of runs arrived under it and under "ours, predictive off", and each day's
 * longest wait under both. Predictive warm-up reads past days, so a p95 made on a trace's first
 * day is one it could not act on.
 */
export function tailVerdict(kind: string, defaults: PolicyRow, onReports: readonly SimReport[], offReports: readonly SimReport[]): string {
  const group = worstGroup(defaults);
  const on = tailByDay(onReports, group);
  const off = tailByDay(offReports, group);
  const weekday = (day: string) => new Date(`${day}T00:00:00Z`).toLocaleDateString('en-US', { weekday: 'short', timeZone: 'UTC' });
  const shares = (days: readonly TailDay[]) =>
    days
      .filter((d) => d.tailShare > 0)
      .map((d) => `${weekday(d.day)} ${d.day} (${Math.round(d.tailShare * 100)}%)`)
      .join(', ');
  const maxima = (days: readonly TailDay[]) => days.map((d) => `${weekday(d.day)} ${d.maxWait.toFixed(0)} s`).join(', ');
  const first = on[0];
  const firstOnly = first && first.tailShare === 1 ? ` All of them arrived on the trace's first day, when the history holds no past day for predictive warm-up to read.` : '';
  return `- ${kind}, where the worst group's p95 comes from: ${group}'s slowest 5% of runs arrived on ${shares(on)} under "ours (defaults)", and on ${shares(off)} under "ours, predictive off".${firstOnly} Its longest wait by day: ${maxima(on)} under "ours (defaults)"; ${maxima(off)} with predictive off.`;
}

/** A figure and its spread over the seeds, for a table cell. */
function withSpread(figure: AxisFigure): string {
  return `${figure.value.toFixed(0)} (IQR ${figure.spread.toFixed(0)})`;
}

/** "ours (defaults)" against elastic-pool on one trace. */
export interface ElasticRatio {
  readonly trace: string;
  readonly p95: number;
  readonly botMinutes: number;
}

/** a / b, where 0 / 0 counts as equal (1) rather than undefined, and a / 0 as Infinity. */
function ratio(a: number, b: number): number {
  if (b === 0) return a === 0 ? 1 : Infinity;
  return a / b;
}

/** The ratios of "ours (defaults)" to elastic-pool on one trace's rows. */
export function elasticRatio(trace: string, rows: readonly PolicyRow[]): ElasticRatio {
  const find = (name: string) => {
    const row = rows.find((r) => r.policy === name);
    if (!row) throw new Error(`trace ${trace} has no "${name}" row; the ratios need both "ours (defaults)" and "elastic-pool"`);
    return row;
  };
  const ours = find('ours (defaults)');
  const elastic = find('elastic-pool');
  return { trace, p95: ratio(ours.p95, elastic.p95), botMinutes: ratio(ours.botMinutes, elastic.botMinutes) };
}

/**
 * The targets as verdict lines: on office-hours at most 0.5× elastic-pool's p95 on at most 1.0× its
 * bot-minutes; across all traces, the median p95 ratio at most ACROSS_TARGET.p95 on a median
 * bot-minutes ratio at most ACROSS_TARGET.botMinutes.
 */
export const ACROSS_TARGET = { p95: 0.5, botMinutes: 0.7 } as const;

export function targetVerdicts(ratios: readonly ElasticRatio[]): string[] {
  const lines: string[] = [];
  // elastic-pool can wait 0 s where ours waits a little: an infinite ratio, still ordered for the median.
  const x = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '∞');
  const office = ratios.find((r) => r.trace === 'office-hours');
  if (office) {
    const met = office.p95 <= 0.5 && office.botMinutes <= 1;
    lines.push(
      `- target on office-hours: "ours (defaults)" at most 0.50× elastic-pool's p95 on at most 1.00× its bot-minutes: ${x(office.p95)}× p95 on ${x(office.botMinutes)}× bot-minutes, ${met ? 'met' : '**not met**'}.`,
    );
  }
  if (ratios.length) {
    const p95 = median(ratios.map((r) => r.p95));
    const minutes = median(ratios.map((r) => r.botMinutes));
    const met = p95 <= ACROSS_TARGET.p95 && minutes <= ACROSS_TARGET.botMinutes;
    lines.push(
      `- target across all ${ratios.length} traces: median of "ours (defaults)"/elastic-pool at most ${ACROSS_TARGET.p95.toFixed(2)}× on p95 and at most ${ACROSS_TARGET.botMinutes.toFixed(2)}× on bot-minutes: ${x(p95)}× p95 (${ratios.map((r) => `${r.trace} ${x(r.p95)}`).join(', ')}), ${x(minutes)}× bot-minutes (${ratios.map((r) => `${r.trace} ${x(r.botMinutes)}`).join(', ')}), ${met ? 'met' : '**not met**'}.`,
    );
  }
  return lines;
}

const HELP = `Usage: node dist/bench/policies.js [--seeds N] [--trace NAME]...

Simulates every trace in bench/traces under each scaling policy and rewrites the "policies"
section of BENCHMARKS.md. With --trace, runs only the traces named and prints their tables
without touching BENCHMARKS.md.

  --seeds N      boot-time seeds per policy and trace, an integer from 1 to 20 (default 9)
  --trace NAME   run only this trace; repeat for more
  --help         show this text

Traces: ${BENCH_TRACES.join(', ')}
`;

export interface PoliciesArgs {
  readonly help: boolean;
  readonly seeds: number;
  /** The traces to run; all of them unless some were named. */
  readonly traces: readonly BenchTraceName[];
  /** Whether to rewrite BENCHMARKS.md: only on a run of every trace. */
  readonly write: boolean;
}

/** The benchmark's arguments; `defaults` are the traces run when none is named (bench/idle-sweep.ts runs fewer). */
export function parsePoliciesArgs(args: readonly string[], defaults: readonly BenchTraceName[] = BENCH_TRACES): PoliciesArgs {
  let seeds = 9;
  const traces: BenchTraceName[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') return { help: true, seeds, traces: defaults, write: false };
    if (arg !== '--seeds' && arg !== '--trace') throw new Error(`unknown argument "${arg}"; see --help`);
    const value = args[++i];
    if (value === undefined) throw new Error(`${arg} needs a value; see --help`);
    if (arg === '--seeds') {
      seeds = Number(value);
      if (!/^\d+$/.test(value) || seeds < 1 || seeds > 20) throw new Error(`--seeds must be an integer from 1 to 20, got "${value}"`);
    } else if ((BENCH_TRACES as readonly string[]).includes(value)) {
      if (!traces.includes(value as BenchTraceName)) traces.push(value as BenchTraceName);
    } else {
      throw new Error(`--trace "${value}" is not a trace of the benchmark; the traces are ${BENCH_TRACES.join(', ')}`);
    }
  }
  return { help: false, seeds, traces: traces.length ? BENCH_TRACES.filter((t) => traces.includes(t)) : defaults, write: traces.length === 0 };
}

function main(argv: readonly string[]): void {
  const args = parsePoliciesArgs(argv);
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  const { seeds } = args;

  const fleets: Record<string, SimFleet> = {};
  for (const spec of Object.values(FLEET_SPECS)) {
    const file = path.join(FLEETS, `${spec.name}.json`);
    console.log(`synthesizing the ${spec.name} fleet → ${path.relative(ROOT, file)}`);
    fleets[spec.name] = fleetOf(parseManifest(synthesizeBenchFleet(spec, file), { source: file, requireResolved: false }));
  }

  const sections: string[] = [];
  const verdicts: string[] = [];
  let speed: number[] = [];
  let officeRuns = 0;
  const ratios: ElasticRatio[] = [];
  for (const kind of args.traces) {
    const file = path.join(TRACES, `${kind}.csv`);
    const trace: TraceRun[] = parseTrace(fs.readFileSync(file, 'utf8'), file);
    const spec = FLEET_SPECS[FLEET_OF_TRACE[kind]];
    const fleet = fleets[spec.name];
    const rows: PolicyRow[] = [];
    // The two rows whose runs' waits explain a front "ours (defaults)" is off (tailVerdict).
    const kept: Record<string, SimReport[]> = {};
    for (const policy of policiesFor(fleet)) {
      const reports: SimReport[] = [];
      const keep = policy.name === 'ours (defaults)' || policy.name === 'ours, predictive off';
      for (let seed = 1; seed <= seeds; seed++) {
        const started = process.hrtime.bigint();
        reports.push(simulate(trace, fleet, policy, { seed, runWaits: keep }));
        if (kind === 'office-hours' && policy.name === 'ours (defaults)') speed.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      rows.push(rowOf(policy.name, reports));
      if (keep) kept[policy.name] = reports;
      process.stdout.write(`  ${kind}: ${policy.name}: p95 ${rows[rows.length - 1].p95.toFixed(0)} s, ${rows[rows.length - 1].botMinutes.toFixed(0)} bot-minutes\n`);
    }
    if (kind === 'office-hours') officeRuns = trace.length;
    markPareto(rows);
    ratios.push(elasticRatio(kind, rows));
    const ours = rows.filter((r) => r.policy.startsWith('ours'));
    const onFront = (flag: (r: PolicyRow) => boolean | undefined) => {
      const names = ours.filter(flag).map((r) => r.policy);
      return names.length ? names.join('; ') : '**no "ours" row**';
    };
    const defaults = rows.find((r) => r.policy === 'ours (defaults)');
    verdicts.push(
      `- ${kind}: on the front of total p95: ${onFront((r) => r.pareto)}; on the front of the worst group's p95: ${onFront((r) => r.paretoWorst)}${defaults && (!defaults.pareto || !defaults.paretoWorst) ? ` (**"ours (defaults)" is off the ${[defaults.pareto ? '' : 'total', defaults.paretoWorst ? '' : 'worst-group'].filter(Boolean).join(' and ')} front**)` : ''}.`,
    );
    if (defaults && (!defaults.pareto || !defaults.paretoWorst)) verdicts.push(tailVerdict(kind, defaults, kept['ours (defaults)'], kept['ours, predictive off']));
    if (kind === 'office-hours') {
      const elastic = rows.find((r) => r.policy === 'elastic-pool')!;
      const cheaper = ours.filter((r) => r.botMinutes <= elastic.botMinutes).sort((a, b) => a.p95 - b.p95)[0];
      if (cheaper) {
        const p95Ratio = elastic.p95 > 0 ? cheaper.p95 / elastic.p95 : 0;
        verdicts.push(
          `- office-hours against elastic-pool: "${cheaper.policy}" waits ${p95Ratio.toFixed(2)}× elastic-pool's p95 (${cheaper.p95.toFixed(0)} s against ${elastic.p95.toFixed(0)} s) on ${(cheaper.botMinutes / elastic.botMinutes).toFixed(2)}× its bot-minutes; the target is at most 0.50× on at most 1.00×${p95Ratio <= 0.5 ? ', met' : ', **missed**'}.`,
        );
      } else verdicts.push('- office-hours against elastic-pool: **no "ours" row uses as few bot-minutes as elastic-pool**.');
      const on = rows.find((r) => r.policy === 'ours (defaults)')!;
      const off = rows.find((r) => r.policy === 'ours, predictive off')!;
      verdicts.push(
        `- predictive warm-up on office-hours: p95 ${off.p95.toFixed(0)} s → ${on.p95.toFixed(0)} s (${(on.p95 / Math.max(1, off.p95)).toFixed(2)}×) for ${(on.botMinutes / off.botMinutes).toFixed(2)}× the bot-minutes.`,
      );
    }
    sections.push(
      [
        `### ${kind} (${trace.length.toLocaleString('en-US')} runs; fleet "${spec.name}": capacity ${spec.capacity}, ${spec.groups.map((g) => `${g.name} maxBots ${g.maxBots}`).join(', ')}; ${spec.why})`,
        '',
        traceDescription(kind),
        '',
        table(
          ['policy', 'p50 wait s', 'p95 wait s', 'worst group p95 s', 'p95 by group s', 'mean s', 'max s', 'bot-minutes', 'busy', 'idle', 'booting', 'boots', 'peak bots', 'capacity-bound min', 'never started', 'front (total)', 'front (worst group)'],
          rows.map((r) => [
            r.policy,
            r.p50.toFixed(0),
            withSpread(totalP95Figure(r)),
            withSpread(worstGroupFigure(r)),
            Object.entries(r.groupP95).map(([g, v]) => `${g} ${v.toFixed(0)}`).join(', '),
            r.mean.toFixed(0),
            r.max.toFixed(0),
            withSpread(botMinutesFigure(r)),
            r.busy.toFixed(0),
            r.idle.toFixed(0),
            r.booting.toFixed(0),
            r.boots.toFixed(0),
            r.peak.toFixed(0),
            r.bound.toFixed(0),
            r.neverStarted.toFixed(0),
            r.pareto ? 'yes' : '',
            r.paretoWorst ? 'yes' : '',
          ]),
        ),
        ...(kept['ours (defaults)'] ? ['', warmUpLine('ours (defaults)', kept['ours (defaults)']) ?? ''] : []),
      ].join('\n'),
    );
  }
  if (!args.write) {
    process.stdout.write(`\n${[...verdicts, ...targetVerdicts(ratios), '', ...sections.flatMap((s) => [s, ''])].join('\n')}`);
    return;
  }
  speed = speed.sort((a, b) => a - b);
  const body = [
    '## Scaling policies compared in simulation',
    '',
    `Command: \`npm run build && node dist/bench/policies.js --seeds ${seeds}\``,
    `Machine: ${machine()}`,
    '',
    `Each trace in \`bench/traces/\` (seed 42) runs through the discrete-event simulator (\`runtime/sim/\`) under each policy. "ours" is the runtime's own \`plan()\`, called on every arrival and completion and on a 15-second tick, exactly as the runtime calls it. Boots take a sampled provisioning time (log-normal, median 4 minutes, 1% past 15 minutes); deletes take 60 s and count against the caps until done. Every figure is the median over ${seeds} boot-time seeds: on the contended traces a p95 moves more from one seed to the next than the \"ours\" rows differ by, so the fronts count differences within the seeds\' spread as ties (below). Waits are in seconds, from arrival to a bot claiming the run; bot-minutes count every minute a VM exists (booting, idle, busy, or being deleted, which counts as idle). The fleets are synthesized by the construct library and kept in \`bench/fleets/\`.`,
    '',
    'Baselines: **hosted-default** creates a bot for each waiting run and deletes a bot as soon as it is idle; **elastic-pool** is Azure DevOps scale-set agent pools as documented (sample every 5 minutes, grow by at most a quarter of the maximum per sample when idle bots fall below the standby count or runs wait with no idle bot, delete bots idle beyond the standby count for 30 minutes); **fixed** keeps a constant pool (a quarter and a half of each group\'s maxBots). "ours (defaults)" uses the default settings, predictive warm-up included; "ours, tuned" changes the settings named.',
    '',
    `Simulating one week of office-hours (${officeRuns.toLocaleString('en-US')} runs) with "ours (defaults)": median ${(median(speed) / 1000).toFixed(2)} s over ${speed.length} runs (target < 10 s).`,
    '',
    'The worst group p95 is the highest of the per-group p95 waits: the total p95 is weighted by run count and can look good while a small group starves. Each table marks two Pareto fronts against bot-minutes: on the total p95, and on the worst group\'s p95. The p95s and bot-minutes are given with their spread over the seeds, the interquartile range (IQR) of the per-seed figures, and a difference within the wider of two rows\' spreads is a tie: a row is off a front only when another row is no worse beyond the spread on either axis and better beyond it on one.',
    '',
    'Verdicts, computed from the tables below:',
    '',
    ...verdicts,
    ...targetVerdicts(ratios),
    '',
    ...sections.flatMap((s) => [s, '']),
  ].join('\n');
  writeSection('policies', body);
  console.log(verdicts.join('\n'));
}

if (require.main === module) runScript(main);
