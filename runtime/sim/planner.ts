/**
 * The capacity planner: a manifest's declared settings simulated on a trace, then the changes
 * worth knowing about. Each what-if changes one setting of one group (maxBots, standbyBots or
 * idleMinutes) and is kept when it moves the p95 wait or the bot-hours by more than 10%.
 */
import type { FleetManifest } from '../config/manifest';
import { planScaling } from '../scaler/loop';
import { formatDuration } from '../cli/terminal';
import { oursPolicy } from './policies';
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

export type WhatIfSetting = 'maxBots' | 'standbyBots' | 'idleMinutes';

export interface WhatIf {
  readonly group: string;
  readonly setting: WhatIfSetting;
  readonly from: number;
  readonly to: number;
}

export interface WhatIfResult extends WhatIf {
  readonly p95: number;
  readonly botHours: number;
  /** Relative changes against the declared settings; Infinity when the declared figure is 0. */
  readonly p95Change: number;
  readonly botHoursChange: number;
}

/** The one-setting changes tried for each group. */
function whatIfCandidates(fleet: SimFleet): WhatIf[] {
  const out: WhatIf[] = [];
  for (const g of fleet.groups) {
    const m = g.maxBots;
    const maxBots = [Math.round(m * 0.5), Math.round(m * 0.75), Math.round(m * 1.5)].filter((v) => v >= Math.max(1, g.committedBots) && v <= 50);
    const s = g.scaling.standbyBots;
    const standby = [s + 1, s + 2, ...(s > 0 ? [0] : [])].filter((v) => v <= m);
    const i = g.scaling.idleMinutes;
    const idle = [Math.floor(i / 2), i * 2, 30].filter((v) => v >= 0 && v <= 24 * 60);
    const add = (setting: WhatIfSetting, from: number, values: number[]) => {
      for (const to of [...new Set(values)].sort((a, b) => a - b)) if (to !== from) out.push({ group: g.name, setting, from, to });
    };
    add('maxBots', m, maxBots);
    add('standbyBots', s, standby);
    add('idleMinutes', i, idle);
  }
  return out;
}

function applyWhatIf(fleet: SimFleet, change: WhatIf): SimFleet {
  return {
    ...fleet,
    groups: fleet.groups.map((g): SimGroup => {
      if (g.name !== change.group) return g;
      if (change.setting === 'maxBots') return { ...g, maxBots: change.to };
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
  /** Only changes that move either figure by more than this share are reported. @default 0.1 */
  readonly threshold?: number;
  readonly whatIf?: boolean;
  /** Progress over all the simulations, as a share from 0 to 1. */
  readonly onProgress?: (share: number, label: string) => void;
  /** Record the declared run's time series (SimReport.series), for the HTML report. */
  readonly series?: boolean;
}

export interface PlannerResult {
  readonly declared: SimReport;
  readonly whatIfs: readonly WhatIfResult[];
  readonly tried: number;
}

export function runPlanner(trace: readonly TraceRun[], fleet: SimFleet, options: PlannerOptions = {}): PlannerResult {
  const threshold = options.threshold ?? 0.1;
  const candidates = options.whatIf === false ? [] : whatIfCandidates(fleet);
  const total = 1 + candidates.length;
  const sim = (f: SimFleet, index: number, label: string) =>
    simulate(trace, f, oursPolicy('declared settings'), {
      seed: options.seed,
      boot: options.boot,
      ...(options.series && index === 0 ? { series: {} } : {}),
      onProgress: options.onProgress ? (arrived, all) => options.onProgress!((index + arrived / all) / total, label) : undefined,
    });
  const declared = sim(fleet, 0, 'declared settings');
  const base = { p95: declared.total.wait.p95, botHours: declared.total.botMinutes.total / 60 };
  const whatIfs: WhatIfResult[] = [];
  candidates.forEach((change, i) => {
    const report = sim(applyWhatIf(fleet, change), i + 1, `${change.group} ${change.setting} ${change.to}`);
    const p95 = report.total.wait.p95;
    const botHours = report.total.botMinutes.total / 60;
    const result = { ...change, p95, botHours, p95Change: relative(base.p95, p95), botHoursChange: relative(base.botHours, botHours) };
    if (Math.abs(result.p95Change) > threshold || Math.abs(result.botHoursChange) > threshold) whatIfs.push(result);
  });
  options.onProgress?.(1, 'done');
  return { declared, whatIfs, tried: candidates.length };
}

// ---- text

/** A wait in seconds, in whole seconds below a minute (formatDuration gives tenths below 10 s). */
export function seconds(value: number): string {
  return value < 60 ? `${Math.round(value)} s` : formatDuration(value * 1000);
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function change(value: number): string {
  if (!Number.isFinite(value)) return 'from 0';
  const pct = Math.round(value * 100);
  return `${pct > 0 ? '+' : ''}${pct}%`;
}

/** The report's table: one row per group and a total. */
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

/** A sentence on the runs no bot ever took, or undefined when every run started. */
export function neverStartedLine(report: SimReport, fleet: SimFleet): string | undefined {
  const n = report.total.neverStarted;
  if (n === 0) return undefined;
  const hours = longestQueueTimeoutHours(fleet);
  const by = report.groups.filter((g) => g.neverStarted > 0).map((g) => `${g.group} ${int(g.neverStarted)}`);
  return `${int(n)} run${n === 1 ? '' : 's'} never started (${by.join(', ')}): still queued ${formatDuration(hours * 3_600_000)} after the trace's last run (the longest queue time-out), with no bot that could take them; the runtime would end them expired. Their waits are not in the figures above.`;
}

export const REPORT_HEADER = ['group', 'runs', 'wait mean', 'p50', 'p95', 'max', 'bot-min busy', 'idle', 'booting', 'total', 'boots', 'peak bots', 'capacity-bound min', 'never started'];

export function whatIfRows(results: readonly WhatIfResult[], declared: SimReport): string[][] {
  const p95 = declared.total.wait.p95;
  const hours = declared.total.botMinutes.total / 60;
  return results.map((r) => [
    r.group,
    `${r.setting} ${r.from} → ${r.to}`,
    `${seconds(p95)} → ${seconds(r.p95)} (${change(r.p95Change)})`,
    `${int(hours)} → ${int(r.botHours)} (${change(r.botHoursChange)})`,
  ]);
}

export const WHAT_IF_HEADER = ['group', 'change', 'p95 wait', 'bot-hours'];
