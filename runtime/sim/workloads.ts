/**
 * Seeded workload traces for the run simulator. Each kind is a non-homogeneous Poisson process
 * evaluated minute by minute (a Poisson-distributed count of arrivals per minute, each at a
 * uniform second of it), drawn only from the seeded Random, so the same seed and options give
 * the same trace on every machine. Groups and flows match the demo manifest: finance runs
 * invoice-entry, sales runs lead-sync.
 *
 * Office-hours arrival rates, runs per minute for both groups together (70% finance, 30% sales).
 * "a → b" ramps linearly across the window. The rates are tuned so a week comes to about 5,000
 * runs: 985 expected per weekday, 30 per weekend day, 4,986 for Monday to Sunday.
 *
 *   window (UTC)    weekday        expected runs
 *   00:00-07:00     0.02           8.4
 *   07:00-08:45     0.25 → 0.75    52.5   people arriving
 *   08:45-08:55     0.75           7.5
 *   08:55-09:20     8              200    scheduled jobs
 *   09:20-12:00     1.5            240
 *   12:00-13:00     0.9            54     lunch
 *   13:00-17:00     1.5            360
 *   17:00-18:30     1.1 → 0.15     56.25  people leaving
 *   18:30-24:00     0.02           6.6
 *
 *   window (UTC)    weekend
 *   08:00-18:00     0.05           30
 */
import { Random } from './random';
import type { TraceRun } from './trace';

interface Window {
  /** Minutes after midnight UTC, from included, to excluded. */
  readonly from: number;
  readonly to: number;
  /** Runs per minute at the start of the window, ramping linearly to `end` if given. */
  readonly rate: number;
  readonly end?: number;
}

/** Minutes after midnight. */
const hm = (hh: number, mm = 0) => hh * 60 + mm;

const OFFICE_WEEKDAY: readonly Window[] = [
  { from: hm(0), to: hm(7), rate: 0.02 },
  { from: hm(7), to: hm(8, 45), rate: 0.25, end: 0.75 },
  { from: hm(8, 45), to: hm(8, 55), rate: 0.75 },
  { from: hm(8, 55), to: hm(9, 20), rate: 8 },
  { from: hm(9, 20), to: hm(12), rate: 1.5 },
  { from: hm(12), to: hm(13), rate: 0.9 },
  { from: hm(13), to: hm(17), rate: 1.5 },
  { from: hm(17), to: hm(18, 30), rate: 1.1, end: 0.15 },
  { from: hm(18, 30), to: hm(24), rate: 0.02 },
];
const OFFICE_WEEKEND: readonly Window[] = [{ from: hm(8), to: hm(18), rate: 0.05 }];
const OFFICE_FINANCE_SHARE = 0.7;

const STEADY_RATE = 0.5;

const SPIKY_BASE_RATE = 0.1;
const SPIKY_MEAN_GAP_MS = 3 * 3600_000;
const SPIKE_MS = 2 * 60_000;

/** Contention: finance on the office weekday curve at this scale; sales as below. */
const CONTENTION_FINANCE_SCALE = 0.6;
const CONTENTION_SALES: readonly Window[] = [
  { from: hm(9), to: hm(17), rate: 0.6 },
  { from: hm(10), to: hm(10, 30), rate: 6 }, // bursts add to the 0.6 base
  { from: hm(14), to: hm(14, 30), rate: 6 },
];

const HIGH_PRIORITY_SHARE = 0.1;

interface Profile {
  readonly group: string;
  readonly flow: string;
  readonly medianSeconds: number;
  readonly sigma: number;
}
const FINANCE: Profile = { group: 'finance', flow: 'invoice-entry', medianSeconds: 6 * 60, sigma: 0.5 };
const SALES: Profile = { group: 'sales', flow: 'lead-sync', medianSeconds: 4 * 60, sigma: 0.5 };
const MIN_DURATION_SECONDS = 30;
const MAX_DURATION_SECONDS = 45 * 60;

export type WorkloadKind = 'office-hours' | 'steady' | 'spiky' | 'contention';
export const WORKLOADS: readonly WorkloadKind[] = ['office-hours', 'steady', 'spiky', 'contention'];

export const WORKLOAD_DAYS: Readonly<Record<WorkloadKind, number>> = { 'office-hours': 7, steady: 2, spiky: 2, contention: 2 };

export const WORKLOAD_DESCRIPTIONS: Readonly<Record<WorkloadKind, string>> = {
  'office-hours': 'A working week from Monday: morning ramp, a burst of scheduled jobs at 09:00, lunch dip, evening fall-off, near-idle weekend; 70% finance, 30% sales, about 5,000 runs.',
  steady: 'Round-the-clock Poisson arrivals at 0.5 runs a minute, all finance.',
  spiky: 'A trickle of 0.1 runs a minute plus, about every three hours, a spike of 15-40 runs within two minutes; all finance.',
  contention: 'Weekdays from Monday with two groups competing: finance on the office-hours curve at 60%, sales at 0.6 runs a minute 09:00-17:00 with 6-a-minute bursts 10:00-10:30 and 14:00-14:30.',
};

export interface WorkloadOptions {
  readonly seed: number;
  /** Defaults to WORKLOAD_DAYS[kind]. */
  readonly days?: number;
  /** Epoch ms; defaults to Monday 2026-01-05T00:00Z. */
  readonly start?: number;
}

export const DEFAULT_WORKLOAD_START = Date.UTC(2026, 0, 5);

/** The runs of one workload, sorted by `at`, with `at` and durations in whole seconds. */
export function generateWorkload(kind: WorkloadKind, options: WorkloadOptions): TraceRun[] {
  const days = options.days ?? WORKLOAD_DAYS[kind];
  const start = options.start ?? DEFAULT_WORKLOAD_START;
  if (!Number.isInteger(days) || days < 1) throw new Error(`days ${days} must be a whole number of at least 1`);
  if (!Number.isInteger(start)) throw new Error(`start ${start} must be epoch milliseconds`);
  const rng = new Random(options.seed);
  const span = { start, minutes: days * 1440 };
  const runs: TraceRun[] = [];
  const add = (time: number, profile: Profile) => runs.push(makeRun(rng, time, profile));
  switch (kind) {
    case 'office-hours':
      arrivals(rng, span, (day, minute) => rateIn(isWeekday(day) ? OFFICE_WEEKDAY : OFFICE_WEEKEND, minute), (time) =>
        add(time, rng.chance(OFFICE_FINANCE_SHARE) ? FINANCE : SALES),
      );
      break;
    case 'steady':
      arrivals(rng, span, () => STEADY_RATE, (time) => add(time, FINANCE));
      break;
    case 'spiky': {
      arrivals(rng, span, () => SPIKY_BASE_RATE, (time) => add(time, FINANCE));
      const end = start + span.minutes * 60_000;
      for (let spike = start + rng.exponential(SPIKY_MEAN_GAP_MS); spike < end - SPIKE_MS; spike += rng.exponential(SPIKY_MEAN_GAP_MS)) {
        const first = Math.floor(spike / 1000) * 1000;
        for (let n = rng.int(15, 40); n > 0; n--) add(first + rng.int(0, SPIKE_MS / 1000 - 1) * 1000, FINANCE);
      }
      break;
    }
    case 'contention':
      arrivals(rng, span, (day, minute) => (isWeekday(day) ? CONTENTION_FINANCE_SCALE * rateIn(OFFICE_WEEKDAY, minute) : 0), (time) => add(time, FINANCE));
      arrivals(rng, span, (day, minute) => (isWeekday(day) ? rateIn(CONTENTION_SALES, minute) : 0), (time) => add(time, SALES));
      break;
  }
  return runs.sort((a, b) => a.at - b.at);
}

/**
 * Walks the span minute by minute: `rate(dayOfWeek, minuteOfDay)` arrivals expected in each
 * (day 0 is Sunday, UTC), each emitted at a uniform whole second within its minute.
 */
function arrivals(rng: Random, span: { start: number; minutes: number }, rate: (day: number, minute: number) => number, emit: (time: number) => void): void {
  for (let m = 0; m < span.minutes; m++) {
    const time = span.start + m * 60_000;
    const dayNumber = Math.floor(time / 86_400_000);
    const day = (((dayNumber + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
    const minute = Math.floor((time - dayNumber * 86_400_000) / 60_000);
    for (let n = rng.poisson(rate(day, minute)); n > 0; n--) emit(time + rng.int(0, 59) * 1000);
  }
}

/** Sum of the rates of the windows covering a minute, ramps taken at the middle of the minute. */
function rateIn(windows: readonly Window[], minute: number): number {
  let rate = 0;
  for (const w of windows) {
    if (minute < w.from || minute >= w.to) continue;
    rate += w.end === undefined ? w.rate : w.rate + ((w.end - w.rate) * (minute - w.from + 0.5)) / (w.to - w.from);
  }
  return rate;
}

function isWeekday(day: number): boolean {
  return day >= 1 && day <= 5;
}

function makeRun(rng: Random, time: number, profile: Profile): TraceRun {
  const priority = rng.chance(HIGH_PRIORITY_SHARE) ? 'high' : 'normal';
  const seconds = Math.round(rng.logNormal(profile.medianSeconds, profile.sigma));
  return {
    at: Math.round(time / 1000) * 1000,
    group: profile.group,
    flow: profile.flow,
    durationSeconds: Math.min(MAX_DURATION_SECONDS, Math.max(MIN_DURATION_SECONDS, seconds)),
    priority,
  };
}
