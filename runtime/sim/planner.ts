/**
 * The capacity planner: a manifest's declared settings simulated on a trace, then the changes
 * worth knowing about. Each what-if changes one setting: the environment's botCapacity, or one
 * group's committedBots, maxBots, standbyBots or idleMinutes. It is kept when it moves the p95 wait
 * of all runs or of the group whose setting it changes, the bot-hours or the cost by more than 10%,
 * or changes how many runs never start.
 *
 * Every figure a team budgets with is given per month: the trace's bot-hours scaled from the whole
 * days it spans to a month of HOURS_PER_MONTH, and priced per VM-hour of each group's VM size in
 * the environment's region (prices.ts).
 */
import type { FleetManifest } from '../config/manifest';
import { planScaling } from '../scaler/loop';
import { formatDuration } from '../cli/terminal';
import { oursPolicy } from './policies';
import { GroupPrice, monthFactor, traceDays } from './prices';
import { BootModel, GroupReport, longestQueueTimeoutHours, simulate, SimFleet, SimGroup, SimReport } from './simulate';
import type { TraceRun } from './trace';

/** The simulator's view of a manifest: the capacity, and each group's caps and settings as the runtime reads them. */
export function fleetOf(manifest: FleetManifest): SimFleet {
  return {
    capacity: manifest.environment.botCapacity,
    timeZone: manifest.environment.timeZone,
    groups: manifest.groups.map((g) => ({ name: g.name, maxBots: g.maxBots, committedBots: g.committedBots, scaling: planScaling(g.scaling), queueTimeoutHours: g.scaling.queueTimeoutHours })),
  };
}

/** The most bots a group may declare (fleet-schema.ts), so the most a what-if gives it. */
const MAX_BOTS_PER_GROUP = 50;

export type WhatIfSetting = 'botCapacity' | 'committedBots' | 'maxBots' | 'standbyBots' | 'idleMinutes';

export interface WhatIf {
  /** The group whose setting changes; absent for the environment's botCapacity. */
  readonly group?: string;
  readonly setting: WhatIfSetting;
  readonly from: number;
  readonly to: number;
}

/** The figures of one simulation, as every result row shows them. */
export interface PlanFigures {
  /** Seconds, over the runs that started. */
  readonly p95: number;
  /** Over the trace. */
  readonly botHours: number;
  readonly botHoursPerMonth: number;
  /** In the prices' currency; absent when a group's VM size has no price. */
  readonly costPerMonth?: number;
  readonly neverStarted: number;
}

export interface WhatIfResult extends WhatIf, PlanFigures {
  /** Relative changes against the declared settings; Infinity when the declared figure is 0. */
  readonly p95Change: number;
  readonly botHoursChange: number;
  readonly costChange?: number;
  /**
   * For a group's setting, that group's own p95 wait (seconds) before and after: committed bots,
   * above all, move which group waits more than how long all runs wait.
   */
  readonly groupP95?: { readonly from: number; readonly to: number; readonly change: number };
}

/** One row of the per-group summary: what a group's runs waited and what its bots cost a month. */
export interface GroupSummary {
  readonly group: string;
  /** Runs a bot took. */
  readonly runs: number;
  readonly neverStarted: number;
  /** Seconds. */
  readonly p50: number;
  readonly p95: number;
  readonly botHoursPerMonth: number;
  /** Absent for a group without a price, and in the total when any group has none. */
  readonly costPerMonth?: number;
  /** The price of one of its VM-hours; absent in the total. */
  readonly price?: GroupPrice;
}

export interface PlannerSummary {
  readonly groups: readonly GroupSummary[];
  readonly total: GroupSummary;
  /** The currency of every cost, when any group has a price. */
  readonly currency?: string;
  /** Bot-hours over the trace times this are bot-hours per month. */
  readonly monthFactor: number;
  /** The whole days the trace spans, from midnight UTC of its first run's day. */
  readonly traceDays: number;
}

/** The one-setting changes tried, and sentences on those not tried because they could change nothing. */
export function whatIfCandidates(fleet: SimFleet): { readonly candidates: WhatIf[]; readonly notes: string[] } {
  const out: WhatIf[] = [];
  const notes: string[] = [];
  const add = (group: string | undefined, setting: WhatIfSetting, from: number, values: number[]) => {
    for (const to of [...new Set(values)].sort((a, b) => a - b)) if (to !== from) out.push({ ...(group !== undefined ? { group } : {}), setting, from, to });
  };
  const c = fleet.capacity;
  const sumMax = fleet.groups.reduce((s, g) => s + g.maxBots, 0);
  const sumCommitted = fleet.groups.reduce((s, g) => s + g.committedBots, 0);
  // Capacity beyond every group's maxBots at once is never used.
  add(
    undefined,
    'botCapacity',
    c,
    [Math.round(c * 0.5), Math.round(c * 0.75), Math.round(c * 1.25), Math.round(c * 1.5), sumMax].filter((v) => v >= Math.max(1, sumCommitted) && v <= sumMax),
  );
  // Committed bots are taken first from the capacity; while it holds every group's maxBots at
  // once, every group gets all it wants whatever is committed.
  const committedMatters = c < sumMax;
  if (!committedMatters) notes.push(`committedBots is not tried: the capacity (${c} bots) holds every group's maxBots at once (${sumMax}), so committed bots change nothing.`);
  for (const g of fleet.groups) {
    const m = g.maxBots;
    if (committedMatters) {
      const others = sumCommitted - g.committedBots;
      add(g.name, 'committedBots', g.committedBots, [0, Math.ceil(m / 4), Math.ceil(m / 2)].filter((v) => v <= m && v + others <= c));
    }
    add(g.name, 'maxBots', m, [Math.round(m * 0.5), Math.round(m * 0.75), Math.round(m * 1.5)].filter((v) => v >= Math.max(1, g.committedBots) && v <= MAX_BOTS_PER_GROUP));
    const s = g.scaling.standbyBots;
    add(g.name, 'standbyBots', s, [s + 1, s + 2, ...(s > 0 ? [0] : [])].filter((v) => v <= m));
    const i = g.scaling.idleMinutes;
    add(g.name, 'idleMinutes', i, [Math.floor(i / 2), i * 2, 30].filter((v) => v >= 0 && v <= 24 * 60));
  }
  return { candidates: out, notes };
}

export function applyWhatIf(fleet: SimFleet, change: WhatIf): SimFleet {
  if (change.setting === 'botCapacity') return { ...fleet, capacity: change.to };
  return {
    ...fleet,
    groups: fleet.groups.map((g): SimGroup => {
      if (g.name !== change.group) return g;
      if (change.setting === 'maxBots' || change.setting === 'committedBots') return { ...g, [change.setting]: change.to };
      return { ...g, scaling: { ...g.scaling, [change.setting]: change.to } };
    }),
  };
}

function relative(from: number, to: number): number {
  if (from === to) return 0;
  if (from === 0) return Number.POSITIVE_INFINITY;
  return (to - from) / from;
}

export interface PlannerOptions {
  readonly seed?: number;
  readonly boot?: BootModel;
  /** Only changes that move a figure by more than this share (or change the runs never started) are reported. @default 0.1 */
  readonly threshold?: number;
  readonly whatIf?: boolean;
  /** Each group's price per VM-hour; groups left out, or all without this, have no cost. All in one currency. */
  readonly prices?: Readonly<Record<string, GroupPrice | undefined>>;
  /** Progress over all the simulations, as a share from 0 to 1. */
  readonly onProgress?: (share: number, label: string) => void;
  /** Record the declared run's time series (SimReport.series), for the HTML report. */
  readonly series?: boolean;
}

export interface PlannerResult {
  readonly declared: SimReport;
  readonly figures: PlanFigures;
  readonly summary: PlannerSummary;
  readonly whatIfs: readonly WhatIfResult[];
  readonly tried: number;
  /** Settings not tried, and why. */
  readonly notes: readonly string[];
}

/** A label for a what-if: "finance maxBots 40 → 20", "botCapacity 60 → 45". */
export function whatIfLabel(w: WhatIf): string {
  return `${w.group !== undefined ? `${w.group} ` : ''}${w.setting} ${w.from} → ${w.to}`;
}

/** The simulations a planner run needs: the declared settings (index 0), then each what-if. */
export interface PlannerJobs {
  readonly candidates: readonly WhatIf[];
  readonly notes: readonly string[];
  /** The fleet of simulation `index`. */
  fleetOf(index: number): SimFleet;
  /** What progress calls simulation `index`. */
  labelOf(index: number): string;
  readonly count: number;
}

export function plannerJobs(fleet: SimFleet, options: Pick<PlannerOptions, 'whatIf'> = {}): PlannerJobs {
  const { candidates, notes } = options.whatIf === false ? { candidates: [], notes: [] } : whatIfCandidates(fleet);
  return {
    candidates,
    notes,
    count: 1 + candidates.length,
    fleetOf: (index) => (index === 0 ? fleet : applyWhatIf(fleet, candidates[index - 1])),
    labelOf: (index) => (index === 0 ? 'declared settings' : whatIfLabel(candidates[index - 1])),
  };
}

/** Runs simulation `index` of a planner run; `onProgress` gets the share of its trace's runs that have arrived. */
export function runPlannerJob(trace: readonly TraceRun[], jobs: PlannerJobs, index: number, options: Pick<PlannerOptions, 'seed' | 'boot' | 'series'>, onProgress?: (share: number) => void): SimReport {
  return simulate(trace, jobs.fleetOf(index), oursPolicy('declared settings'), {
    seed: options.seed,
    boot: options.boot,
    ...(options.series && index === 0 ? { series: {} } : {}),
    onProgress: onProgress ? (arrived, all) => onProgress(arrived / all) : undefined,
  });
}

/** Simulates the declared settings and every what-if, one after the other (planner-pool.ts runs them side by side). */
export function runPlanner(trace: readonly TraceRun[], fleet: SimFleet, options: PlannerOptions = {}): PlannerResult {
  const jobs = plannerJobs(fleet, options);
  const reports: SimReport[] = [];
  for (let index = 0; index < jobs.count; index++) {
    const label = jobs.labelOf(index);
    reports.push(runPlannerJob(trace, jobs, index, options, options.onProgress ? (share) => options.onProgress!((index + share) / jobs.count, label) : undefined));
  }
  options.onProgress?.(1, 'done');
  return plannerResult(trace, jobs, reports, options);
}

/** The planner's result from the reports of its simulations, in the order of plannerJobs. */
export function plannerResult(trace: readonly TraceRun[], jobs: PlannerJobs, reports: readonly SimReport[], options: Pick<PlannerOptions, 'threshold' | 'prices'> = {}): PlannerResult {
  const threshold = options.threshold ?? 0.1;
  const declared = reports[0];
  const days = traceDays(declared.start, trace[trace.length - 1].at);
  const factor = monthFactor(days);
  const prices = options.prices ?? {};
  const figuresOf = (report: SimReport): PlanFigures => {
    const botHours = report.total.botMinutes.total / 60;
    const cost = costOf(report.groups, factor, prices);
    return { p95: report.total.wait.p95, botHours, botHoursPerMonth: botHours * factor, ...(cost !== undefined ? { costPerMonth: cost } : {}), neverStarted: report.total.neverStarted };
  };
  const base = figuresOf(declared);
  const whatIfs: WhatIfResult[] = [];
  jobs.candidates.forEach((change, i) => {
    const report = reports[i + 1];
    const figures = figuresOf(report);
    const groupP95 = change.group === undefined ? undefined : groupP95Of(declared, report, change.group);
    const costChange = base.costPerMonth !== undefined && figures.costPerMonth !== undefined ? relative(base.costPerMonth, figures.costPerMonth) : undefined;
    const result: WhatIfResult = {
      ...change,
      ...figures,
      p95Change: relative(base.p95, figures.p95),
      botHoursChange: relative(base.botHours, figures.botHours),
      ...(costChange !== undefined ? { costChange } : {}),
      ...(groupP95 ? { groupP95 } : {}),
    };
    const moved = [result.p95Change, result.botHoursChange, costChange ?? 0, groupP95?.change ?? 0].some((c) => Math.abs(c) > threshold);
    if (moved || figures.neverStarted !== base.neverStarted) whatIfs.push(result);
  });
  return { declared, figures: base, summary: summaryOf(declared, days, prices), whatIfs, tried: jobs.candidates.length, notes: jobs.notes };
}

function groupP95Of(before: SimReport, after: SimReport, group: string): NonNullable<WhatIfResult['groupP95']> {
  const from = before.groups.find((g) => g.group === group)?.wait.p95 ?? 0;
  const to = after.groups.find((g) => g.group === group)?.wait.p95 ?? 0;
  return { from, to, change: relative(from, to) };
}

/** The month's cost of the groups' bot-hours; undefined when a group that ran bots has no price. */
function costOf(groups: readonly GroupReport[], factor: number, prices: Readonly<Record<string, GroupPrice | undefined>>): number | undefined {
  let cost = 0;
  for (const g of groups) {
    if (g.botMinutes.total === 0) continue;
    const price = prices[g.group];
    if (!price) return undefined;
    cost += (g.botMinutes.total / 60) * factor * price.perHour;
  }
  return cost;
}

/** The per-group summary of a simulation of `days` days. */
export function summaryOf(report: SimReport, days: number, prices: Readonly<Record<string, GroupPrice | undefined>> = {}): PlannerSummary {
  const factor = monthFactor(days);
  const row = (g: GroupReport, price?: GroupPrice): GroupSummary => {
    const botHoursPerMonth = (g.botMinutes.total / 60) * factor;
    return {
      group: g.group,
      runs: g.runs,
      neverStarted: g.neverStarted,
      p50: g.wait.p50,
      p95: g.wait.p95,
      botHoursPerMonth,
      ...(price ? { costPerMonth: botHoursPerMonth * price.perHour, price } : {}),
    };
  };
  const groups = report.groups.map((g) => row(g, prices[g.group]));
  const cost = costOf(report.groups, factor, prices);
  const total = { ...row(report.total), ...(cost !== undefined ? { costPerMonth: cost } : {}) };
  const currency = Object.values(prices).find((p) => p !== undefined)?.currency;
  return { groups, total, ...(currency ? { currency } : {}), monthFactor: factor, traceDays: days };
}

// ---- text

/** A wait in seconds, in whole seconds below a minute, else minutes and seconds or hours and minutes. */
export function seconds(value: number): string {
  return value < 60 ? `${Math.round(value)} s` : formatDuration(value * 1000);
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** An amount of money: whole units from 100 up, else cents. */
export function money(amount: number, currency: string): string {
  const text = amount >= 100 ? int(amount) : amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${text} ${currency}`;
}

export function change(value: number): string {
  if (!Number.isFinite(value)) return 'from 0';
  const pct = Math.round(value * 100);
  return `${pct > 0 ? '+' : ''}${pct}%`;
}

/** The report's detailed table over the trace: one row per group and a total. */
export function reportRows(report: SimReport): string[][] {
  const row = (g: GroupReport) => [
    g.group,
    int(g.runs),
    seconds(g.wait.mean),
    seconds(g.wait.p50),
    seconds(g.wait.p95),
    seconds(g.wait.max),
    int(g.botMinutes.busy),
    int(g.botMinutes.idle),
    int(g.botMinutes.booting),
    int(g.botMinutes.total),
    int(g.boots),
    String(g.peakBots),
    int(g.capacityBoundMinutes),
    int(g.neverStarted),
  ];
  return [...report.groups.map(row), row(report.total)];
}

export const REPORT_HEADER = ['group', 'runs', 'wait mean', 'p50', 'p95', 'max', 'bot-min busy', 'idle', 'booting', 'total', 'boots', 'peak bots', 'capacity-bound min', 'never started'];

/** The per-group summary: runs, waits, and a month's bot-hours and cost. */
export function summaryRows(summary: PlannerSummary): string[][] {
  const row = (g: GroupSummary) => [
    g.group,
    int(g.runs),
    int(g.neverStarted),
    seconds(g.p50),
    seconds(g.p95),
    int(g.botHoursPerMonth),
    g.price ? `${g.price.perHour} ${g.price.currency}${g.price.from === 'built-in' ? ' (built-in)' : ''}` : g.group === 'total' ? '' : 'no price',
    g.costPerMonth !== undefined && summary.currency ? money(g.costPerMonth, summary.currency) : '-',
  ];
  return [...summary.groups.map(row), row(summary.total)];
}

export const SUMMARY_HEADER = ['group', 'runs', 'never started', 'p50 wait', 'p95 wait', 'bot-hours/month', 'price/VM-hour', 'cost/month'];

/** A sentence on the runs no bot ever took, or undefined when every run started. */
export function neverStartedLine(report: SimReport, fleet: SimFleet): string | undefined {
  const n = report.total.neverStarted;
  if (n === 0) return undefined;
  const hours = longestQueueTimeoutHours(fleet);
  const by = report.groups.filter((g) => g.neverStarted > 0).map((g) => `${g.group} ${int(g.neverStarted)}`);
  return `${int(n)} run${n === 1 ? '' : 's'} never started (${by.join(', ')}): still queued ${formatDuration(hours * 3_600_000)} after the trace's last run (the longest queue time-out), with no bot that could take them; the runtime would end them expired. Their waits are not in the figures above.`;
}

export function whatIfRows(result: PlannerResult): string[][] {
  const base = result.figures;
  const currency = result.summary.currency;
  return result.whatIfs.map((r) => [
    r.group ?? 'environment',
    `${r.setting} ${r.from} → ${r.to}`,
    `${seconds(base.p95)} → ${seconds(r.p95)} (${change(r.p95Change)})`,
    r.groupP95 ? `${seconds(r.groupP95.from)} → ${seconds(r.groupP95.to)} (${change(r.groupP95.change)})` : '-',
    `${int(base.botHoursPerMonth)} → ${int(r.botHoursPerMonth)} (${change(r.botHoursChange)})`,
    base.costPerMonth !== undefined && r.costPerMonth !== undefined && currency ? `${money(base.costPerMonth, currency)} → ${money(r.costPerMonth, currency)} (${change(r.costChange ?? 0)})` : '-',
    base.neverStarted === r.neverStarted ? int(r.neverStarted) : `${int(base.neverStarted)} → ${int(r.neverStarted)}`,
  ]);
}

export const WHAT_IF_HEADER = ['group', 'change', 'p95 wait', "the group's p95", 'bot-hours/month', 'cost/month', 'never started'];
