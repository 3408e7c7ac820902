/**
 * Seeded workload traces for the run simulator. Each kind is a non-homogeneous Poisson process
 * evaluated minute by minute (a Poisson-distributed count of arrivals per minute, each at a
 * uniform second of it), drawn only from the seeded Random, so the same seed and options give
 * the same trace on every machine. Groups and flows match the demo manifest (finance runs
 * invoice-entry, sales runs lead-sync) except in the workloads of three groups, whose groups and
 * flows are listed in WORKLOAD_GROUPS.
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

/**
 * Calendar: the office weekday curve at this scale, weekends nearly idle, and finance at
 * CALENDAR_MONTH_END_FACTOR times its usual rate on the last three weekdays of a month (closing
 * the books). Four weeks from Monday 2026-01-05 take in four weekends and the end of January.
 */
const CALENDAR_SCALE = 0.4;
const CALENDAR_WEEKEND: readonly Window[] = [{ from: hm(9), to: hm(17), rate: 0.02 }];
const CALENDAR_MONTH_END_FACTOR = 2.5;
const CALENDAR_MONTH_END_WEEKDAYS = 3;

/**
 * Time zones: three groups on one fleet, each on the office weekday curve at this scale in its
 * own local time (weekdays counted locally too), so the peaks fall at 00:00-08:00 UTC (UTC+9),
 * 08:00-16:00 UTC (UTC+1) and 14:00-22:00 UTC (UTC-5).
 */
const TIME_ZONE_SCALE = 0.35;

/**
 * Growth: the office weekday curve (70% finance) at GROWTH_SCALE, rising continuously by
 * GROWTH_PER_WEEK a week, the whole day drifting GROWTH_DRIFT_MINUTES later each week.
 */
const GROWTH_SCALE = 0.3;
const GROWTH_PER_WEEK = 0.1;
const GROWTH_DRIFT_MINUTES = 20;

/**
 * Run lengths: three groups with 2-, 10- and 40-minute runs, 08:00-18:00 on weekdays. Busy bots
 * wanted on average (rate × length): 6 + 8 + 8 = 22, just under the contended fleet's 24, and
 * 34 during the short group's 11:00 and 15:00 bursts, so the groups contend at the bursts and
 * the backlog can clear between them.
 */
const RUN_LENGTH_WINDOWS: Readonly<Record<'quick' | 'reports' | 'batch', readonly Window[]>> = {
  quick: [
    { from: hm(8), to: hm(18), rate: 3 },
    { from: hm(11), to: hm(11, 20), rate: 6 },
    { from: hm(15), to: hm(15, 20), rate: 6 },
  ],
  reports: [{ from: hm(8), to: hm(18), rate: 0.8 }],
  batch: [{ from: hm(8), to: hm(18), rate: 0.2 }],
};

const HIGH_PRIORITY_SHARE = 0.1;

interface Profile {
  readonly group: string;
  readonly flow: string;
  readonly medianSeconds: number;
  readonly sigma: number;
  /** Defaults to MAX_DURATION_SECONDS; longer only where the flow's timeout allows it. */
  readonly maxSeconds?: number;
}
const FINANCE: Profile = { group: 'finance', flow: 'invoice-entry', medianSeconds: 6 * 60, sigma: 0.5 };
const SALES: Profile = { group: 'sales', flow: 'lead-sync', medianSeconds: 4 * 60, sigma: 0.5 };
/** Time-zone groups, with their UTC offsets in hours. */
const TIME_ZONE_GROUPS: ReadonlyArray<{ profile: Profile; utcOffsetHours: number }> = [
  { profile: { group: 'apac', flow: 'order-intake', medianSeconds: 5 * 60, sigma: 0.5 }, utcOffsetHours: 9 },
  { profile: { group: 'emea', flow: 'invoice-entry', medianSeconds: 6 * 60, sigma: 0.5 }, utcOffsetHours: 1 },
  { profile: { group: 'americas', flow: 'lead-sync', medianSeconds: 4 * 60, sigma: 0.5 }, utcOffsetHours: -5 },
];
const RUN_LENGTH_PROFILES: Readonly<Record<keyof typeof RUN_LENGTH_WINDOWS, Profile>> = {
  quick: { group: 'quick', flow: 'stock-check', medianSeconds: 2 * 60, sigma: 0.3 },
  reports: { group: 'reports', flow: 'monthly-report', medianSeconds: 10 * 60, sigma: 0.3 },
  batch: { group: 'batch', flow: 'ledger-batch', medianSeconds: 40 * 60, sigma: 0.2, maxSeconds: 55 * 60 },
};
const MIN_DURATION_SECONDS = 30;
const MAX_DURATION_SECONDS = 45 * 60;

export type WorkloadKind = 'office-hours' | 'steady' | 'spiky' | 'contention' | 'calendar' | 'time-zones' | 'growth' | 'run-lengths';
export const WORKLOADS: readonly WorkloadKind[] = ['office-hours', 'steady', 'spiky', 'contention', 'calendar', 'time-zones', 'growth', 'run-lengths'];

/** The groups each workload's runs belong to, with the flow each runs. */
export const WORKLOAD_GROUPS: Readonly<Record<WorkloadKind, ReadonlyArray<{ group: string; flow: string }>>> = {
  'office-hours': [FINANCE, SALES],
  steady: [FINANCE],
  spiky: [FINANCE],
  contention: [FINANCE, SALES],
  calendar: [FINANCE, SALES],
  'time-zones': TIME_ZONE_GROUPS.map((g) => g.profile),
  growth: [FINANCE, SALES],
  'run-lengths': Object.values(RUN_LENGTH_PROFILES),
};

export const WORKLOAD_DAYS: Readonly<Record<WorkloadKind, number>> = {
  'office-hours': 7,
  steady: 2,
  spiky: 2,
  contention: 2,
  calendar: 28,
  'time-zones': 7,
  growth: 21,
  'run-lengths': 2,
};

export const WORKLOAD_DESCRIPTIONS: Readonly<Record<WorkloadKind, string>> = {
  'office-hours': 'A working week from Monday: morning ramp, a burst of scheduled jobs at 09:00, lunch dip, evening fall-off, near-idle weekend; 70% finance, 30% sales, about 5,000 runs.',
  steady: 'Round-the-clock Poisson arrivals at 0.5 runs a minute, all finance.',
  spiky: 'A trickle of 0.1 runs a minute plus, about every three hours, a spike of 15-40 runs within two minutes; all finance.',
  contention: 'Monday and Tuesday, two groups competing: finance on the office-hours curve at 60%, sales at 0.6 runs a minute 09:00-17:00 with 6-a-minute bursts 10:00-10:30 and 14:00-14:30.',
  calendar: 'Four weeks from Monday 2026-01-05: the office-hours weekday curve at 40% (70% finance), weekends at 0.02 runs a minute 09:00-17:00, and finance at 2.5× on the last three weekdays of January (month-end close).',
  'time-zones': 'A week, three groups on one fleet, each on the office-hours weekday curve at 35% in its own local time and local weekdays: apac (UTC+9), emea (UTC+1), americas (UTC-5).',
  growth: 'Three weeks of the office-hours curve (70% finance) starting at 30% and growing 10% a week, continuously, with the whole day drifting 20 minutes later each week.',
  'run-lengths': 'Monday and Tuesday, 08:00-18:00 UTC, three groups contending: quick (2-minute runs, 3 a minute, 6 more a minute 11:00-11:20 and 15:00-15:20), reports (10-minute runs, 0.8 a minute), batch (40-minute runs, 0.2 a minute): about 22 busy bots wanted on average, 34 during the bursts, on a capacity of 24.',
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
    case 'calendar': {
      const office = (day: number, minute: number) => (isWeekday(day) ? CALENDAR_SCALE * rateIn(OFFICE_WEEKDAY, minute) : rateIn(CALENDAR_WEEKEND, minute));
      arrivals(rng, span, office, (time) => add(time, rng.chance(OFFICE_FINANCE_SHARE) ? FINANCE : SALES));
      // The surge is extra finance demand on top, so the rest of the month stays as above.
      arrivals(
        rng,
        span,
        (day, minute, time) => (isWeekday(day) && isMonthEnd(time) ? (CALENDAR_MONTH_END_FACTOR - 1) * OFFICE_FINANCE_SHARE * CALENDAR_SCALE * rateIn(OFFICE_WEEKDAY, minute) : 0),
        (time) => add(time, FINANCE),
      );
      break;
    }
    case 'time-zones':
      for (const { profile, utcOffsetHours } of TIME_ZONE_GROUPS) {
        const shift = utcOffsetHours * 60;
        arrivals(
          rng,
          span,
          (_day, _minute, time) => {
            const local = localTime(time + shift * 60_000);
            return isWeekday(local.day) ? TIME_ZONE_SCALE * rateIn(OFFICE_WEEKDAY, local.minute) : 0;
          },
          (time) => add(time, profile),
        );
      }
      break;
    case 'growth':
      arrivals(
        rng,
        span,
        (_day, _minute, time) => {
          const weeks = (time - start) / (7 * 86_400_000);
          const local = localTime(time - Math.round(weeks * GROWTH_DRIFT_MINUTES) * 60_000);
          return isWeekday(local.day) ? GROWTH_SCALE * (1 + GROWTH_PER_WEEK) ** weeks * rateIn(OFFICE_WEEKDAY, local.minute) : rateIn(OFFICE_WEEKEND, local.minute);
        },
        (time) => add(time, rng.chance(OFFICE_FINANCE_SHARE) ? FINANCE : SALES),
      );
      break;
    case 'run-lengths':
      for (const key of Object.keys(RUN_LENGTH_WINDOWS) as Array<keyof typeof RUN_LENGTH_WINDOWS>) {
        arrivals(rng, span, (day, minute) => (isWeekday(day) ? rateIn(RUN_LENGTH_WINDOWS[key], minute) : 0), (time) => add(time, RUN_LENGTH_PROFILES[key]));
      }
      break;
  }
  return runs.sort((a, b) => a.at - b.at);
}

/**
 * Walks the span minute by minute: `rate(dayOfWeek, minuteOfDay, epochMs)` arrivals expected in
 * each (day 0 is Sunday, UTC), each emitted at a uniform whole second within its minute.
 */
function arrivals(
  rng: Random,
  span: { start: number; minutes: number },
  rate: (day: number, minute: number, time: number) => number,
  emit: (time: number) => void,
): void {
  for (let m = 0; m < span.minutes; m++) {
    const time = span.start + m * 60_000;
    const { day, minute } = localTime(time);
    for (let n = rng.poisson(rate(day, minute, time)); n > 0; n--) emit(time + rng.int(0, 59) * 1000);
  }
}

/** Day of week (0 = Sunday) and minute of day of an epoch-ms instant, read as UTC. */
function localTime(time: number): { day: number; minute: number } {
  const dayNumber = Math.floor(time / 86_400_000);
  const day = (((dayNumber + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  return { day, minute: Math.floor((time - dayNumber * 86_400_000) / 60_000) };
}

/** Whether the UTC day of `time` is one of the last CALENDAR_MONTH_END_WEEKDAYS weekdays of its month. */
function isMonthEnd(time: number): boolean {
  const date = new Date(time);
  let later = 0;
  for (let d = date.getUTCDate() + 1; ; d++) {
    const next = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), d));
    if (next.getUTCMonth() !== date.getUTCMonth()) break;
    if (isWeekday(next.getUTCDay())) later++;
  }
  return later < CALENDAR_MONTH_END_WEEKDAYS;
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
    durationSeconds: Math.min(profile.maxSeconds ?? MAX_DURATION_SECONDS, Math.max(MIN_DURATION_SECONDS, seconds)),
    priority,
  };
}
