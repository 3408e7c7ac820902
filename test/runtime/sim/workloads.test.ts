import * as fs from 'fs';
import * as path from 'path';
import { formatTrace, parseTrace, type TraceRun } from '../../../runtime/sim/trace';
import { REAL_TRACE_NAMES } from '../../../bench/real-traces';
import { generateWorkload, WORKLOAD_DAYS, WORKLOAD_DESCRIPTIONS, WORKLOAD_GROUPS, WORKLOADS } from '../../../runtime/sim/workloads';

const TRACES_DIR = path.resolve(__dirname, '..', '..', '..', 'bench', 'traces');
const MONDAY = Date.UTC(2026, 0, 5);

const cache = new Map<string, TraceRun[]>();
/** Workloads are generated once per kind and seed; the tests only read them. */
function workload(kind: (typeof WORKLOADS)[number], seed = 42): TraceRun[] {
  const key = `${kind}/${seed}`;
  if (!cache.has(key)) cache.set(key, generateWorkload(kind, { seed }));
  return cache.get(key)!;
}

/** Minutes after midnight UTC and day of week (0 = Sunday) of a run. */
function when(run: TraceRun): { day: number; minute: number } {
  const d = new Date(run.at);
  return { day: d.getUTCDay(), minute: d.getUTCHours() * 60 + d.getUTCMinutes() };
}

/** Runs per minute in [from, to) minutes of the day on weekdays, over the office-hours week. */
function weekdayRate(runs: readonly TraceRun[], from: number, to: number): number {
  const inWindow = runs.filter((r) => {
    const { day, minute } = when(r);
    return day >= 1 && day <= 5 && minute >= from && minute < to;
  });
  return inWindow.length / (5 * (to - from));
}

describe('generateWorkload', () => {
  test.each(WORKLOADS)('%s: the same seed gives the same trace, byte for byte', (kind) => {
    expect(formatTrace(generateWorkload(kind, { seed: 7 }))).toBe(formatTrace(generateWorkload(kind, { seed: 7 })));
  });

  test.each(WORKLOADS)('%s: a different seed gives a different trace', (kind) => {
    expect(formatTrace(generateWorkload(kind, { seed: 8 }))).not.toBe(formatTrace(generateWorkload(kind, { seed: 7 })));
  });

  test.each(WORKLOADS)('%s: passes parseTrace(formatTrace(...)) unchanged, sorted, whole seconds, within its days', (kind) => {
    const runs = workload(kind);
    expect(parseTrace(formatTrace(runs), `${kind}.csv`)).toEqual(runs);
    for (const run of runs) {
      expect(run.at % 1000).toBe(0);
      // Only the 40-minute batch group may run past 45 minutes, within its 60-minute timeout.
      const max = run.group === 'batch' ? 55 * 60 : 45 * 60;
      expect(Number.isInteger(run.durationSeconds) && run.durationSeconds >= 30 && run.durationSeconds <= max).toBe(true);
    }
    expect(runs[0].at).toBeGreaterThanOrEqual(MONDAY);
    expect(runs[runs.length - 1].at).toBeLessThan(MONDAY + WORKLOAD_DAYS[kind] * 86_400_000);
  });

  test.each(WORKLOADS)('%s has a one-line description', (kind) => {
    expect(WORKLOAD_DESCRIPTIONS[kind]).toMatch(/^[^\n]{20,}$/);
  });

  test('office-hours: a week lands at 4,500 to 5,500 runs', () => {
    for (const seed of [1, 42, 1000]) {
      const runs = workload('office-hours', seed);
      expect(runs.length).toBeGreaterThanOrEqual(4500);
      expect(runs.length).toBeLessThanOrEqual(5500);
    }
  });

  test('office-hours: the 08:55-09:20 burst is busier per minute than 10:00-12:00', () => {
    const runs = workload('office-hours');
    expect(weekdayRate(runs, 8 * 60 + 55, 9 * 60 + 20)).toBeGreaterThan(2 * weekdayRate(runs, 10 * 60, 12 * 60));
  });

  test('office-hours: weekday nights stay quiet', () => {
    const runs = workload('office-hours');
    const night = (weekdayRate(runs, 0, 7 * 60) * 7 * 60 + weekdayRate(runs, 18 * 60 + 30, 24 * 60) * 330) / (7 * 60 + 330);
    expect(night).toBeLessThan(0.1);
    const perNightHour = new Map<number, number>();
    for (const r of runs) {
      const { day, minute } = when(r);
      if (day >= 1 && day <= 5 && (minute < 7 * 60 || minute >= 19 * 60)) {
        const hour = Math.floor(r.at / 3_600_000);
        perNightHour.set(hour, (perNightHour.get(hour) ?? 0) + 1);
      }
    }
    expect(Math.max(0, ...perNightHour.values())).toBeLessThanOrEqual(6);
  });

  test('office-hours: both groups, mostly finance, about 10% high priority', () => {
    const runs = workload('office-hours');
    const finance = runs.filter((r) => r.group === 'finance');
    expect(finance.every((r) => r.flow === 'invoice-entry')).toBe(true);
    expect(runs.filter((r) => r.group === 'sales').every((r) => r.flow === 'lead-sync')).toBe(true);
    expect(finance.length / runs.length).toBeCloseTo(0.7, 1);
    expect(runs.filter((r) => r.priority === 'high').length / runs.length).toBeCloseTo(0.1, 1);
  });

  test('contention: both groups contend on Monday and Tuesday', () => {
    const runs = workload('contention');
    for (const group of ['finance', 'sales']) {
      const days = new Set(runs.filter((r) => r.group === group).map((r) => when(r).day));
      expect([...days].sort()).toEqual([1, 2]);
    }
    const salesBurst = runs.filter((r) => r.group === 'sales' && when(r).minute >= 10 * 60 && when(r).minute < 10 * 60 + 30);
    expect(salesBurst.length / 60).toBeGreaterThan(4);
  });

  test('steady and spiky are all finance', () => {
    for (const kind of ['steady', 'spiky'] as const) expect(new Set(workload(kind).map((r) => r.group))).toEqual(new Set(['finance']));
  });

  test.each(WORKLOADS)('%s: its runs use exactly the groups and flows WORKLOAD_GROUPS lists', (kind) => {
    const seen = new Set(workload(kind).map((r) => `${r.group}/${r.flow}`));
    expect([...seen].sort()).toEqual(WORKLOAD_GROUPS[kind].map((g) => `${g.group}/${g.flow}`).sort());
  });

  test('calendar: four weekends, each day a small fraction of a weekday', () => {
    const runs = workload('calendar');
    const perDay = new Map<number, number>();
    for (const r of runs) perDay.set(Math.floor(r.at / 86_400_000), (perDay.get(Math.floor(r.at / 86_400_000)) ?? 0) + 1);
    const weekend = [...perDay].filter(([d]) => [0, 6].includes(new Date(d * 86_400_000).getUTCDay()));
    const weekday = [...perDay].filter(([d]) => ![0, 6].includes(new Date(d * 86_400_000).getUTCDay()));
    expect(weekend.length).toBe(8);
    const mean = (xs: Array<[number, number]>) => xs.reduce((a, [, n]) => a + n, 0) / xs.length;
    expect(mean(weekend)).toBeLessThan(0.05 * mean(weekday));
  });

  test('calendar: finance surges on the last three weekdays of January, not before', () => {
    const runs = workload('calendar').filter((r) => r.group === 'finance');
    const financeOn = (date: number) => runs.filter((r) => new Date(r.at).getUTCDate() === date && new Date(r.at).getUTCMonth() === 0).length;
    const monthEnd = [28, 29, 30].map(financeOn); // Wednesday to Friday; the 31st is a Saturday
    const usual = [19, 20, 21, 22, 23, 26, 27].map(financeOn);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.min(...monthEnd)).toBeGreaterThan(1.8 * mean(usual));
    expect(Math.max(...usual)).toBeLessThan(1.3 * mean(usual));
  });

  test.each([
    ['apac', 9],
    ['emea', 1],
    ['americas', -5],
  ] as const)('time-zones: %s peaks at its local office hours (UTC%+d) on its local weekdays', (group, offset) => {
    const runs = workload('time-zones').filter((r) => r.group === group);
    const local = runs.map((r) => new Date(r.at + offset * 3_600_000));
    const byHour = new Array<number>(24).fill(0);
    for (const d of local) byHour[d.getUTCHours()]++;
    // The 08:55-09:20 scheduled burst makes local 09:00 the busiest hour.
    expect(byHour.indexOf(Math.max(...byHour))).toBe(9);
    const office = local.filter((d) => d.getUTCHours() >= 7 && d.getUTCHours() < 19).length;
    expect(office / runs.length).toBeGreaterThan(0.9);
    const weekendDays = local.filter((d) => [0, 6].includes(d.getUTCDay())).length;
    expect(weekendDays).toBe(0);
  });

  test('time-zones: the three peaks fall at different UTC hours', () => {
    const runs = workload('time-zones');
    const peakHour = (group: string) => {
      const byHour = new Array<number>(24).fill(0);
      for (const r of runs) if (r.group === group) byHour[new Date(r.at).getUTCHours()]++;
      return byHour.indexOf(Math.max(...byHour));
    };
    expect([peakHour('apac'), peakHour('emea'), peakHour('americas')]).toEqual([0, 8, 14]);
  });

  test('growth: each week busier than the last, the last about 20% above the first', () => {
    const runs = workload('growth');
    const weeks = [0, 1, 2].map((w) => runs.filter((r) => Math.floor((r.at - MONDAY) / (7 * 86_400_000)) === w).length);
    expect(weeks[1]).toBeGreaterThan(weeks[0]);
    expect(weeks[2]).toBeGreaterThan(weeks[1]);
    expect(weeks[2] / weeks[0]).toBeGreaterThan(1.12);
    expect(weeks[2] / weeks[0]).toBeLessThan(1.3);
  });

  test('growth: the morning burst drifts later week by week', () => {
    const runs = workload('growth');
    // Mean minute of day of weekday runs in 08:30-10:30 UTC, where the burst sits.
    const burstCentre = (week: number) => {
      const minutes = runs
        .filter((r) => Math.floor((r.at - MONDAY) / (7 * 86_400_000)) === week && when(r).day >= 1 && when(r).day <= 5)
        .map((r) => when(r).minute)
        .filter((m) => m >= 8 * 60 + 30 && m < 10 * 60 + 30);
      return minutes.reduce((a, b) => a + b, 0) / minutes.length;
    };
    expect(burstCentre(2) - burstCentre(0)).toBeGreaterThan(20);
  });

  test('run-lengths: three groups of 2-, 10- and 40-minute runs that want more than 24 bots during the bursts', () => {
    const runs = workload('run-lengths');
    const medianMinutes = (group: string) => {
      const d = runs.filter((r) => r.group === group).map((r) => r.durationSeconds).sort((a, b) => a - b);
      return d[Math.floor(d.length / 2)] / 60;
    };
    expect(medianMinutes('quick')).toBeCloseTo(2, 0);
    expect(medianMinutes('reports')).toBeCloseTo(10, 0);
    expect(Math.abs(medianMinutes('batch') - 40)).toBeLessThan(2);
    // Bot-minutes of work arriving per minute (the busy bots it asks for): over the 08:00-18:00
    // windows of both days, and over the 11:00-11:20 bursts.
    const work = (from: number, to: number) =>
      runs.filter((r) => when(r).minute >= from && when(r).minute < to).reduce((a, r) => a + r.durationSeconds / 60, 0) / (2 * (to - from));
    expect(work(8 * 60, 18 * 60)).toBeGreaterThan(19);
    expect(work(8 * 60, 18 * 60)).toBeLessThan(24);
    expect(work(11 * 60, 11 * 60 + 20)).toBeGreaterThan(24);
  });

  test('options: days and start move the window', () => {
    const start = Date.UTC(2026, 2, 2);
    const runs = generateWorkload('steady', { seed: 3, days: 1, start });
    expect(runs[0].at).toBeGreaterThanOrEqual(start);
    expect(runs[runs.length - 1].at).toBeLessThan(start + 86_400_000);
    expect(() => generateWorkload('steady', { seed: 3, days: 0 })).toThrow(/days 0/);
    expect(() => generateWorkload('steady', { seed: -1 })).toThrow(/seed -1/);
  });
});

describe('bench/traces', () => {
  test.each(WORKLOADS)('%s.csv matches the generator with seed 42 (regenerate: npm run build && node dist/bench/traces.js)', (kind) => {
    const file = path.join(TRACES_DIR, `${kind}.csv`);
    expect(fs.readFileSync(file, 'utf8')).toBe(formatTrace(workload(kind, 42)));
  });

  test('holds exactly one file per workload, and one per real trace (bench/real-traces.ts)', () => {
    expect(fs.readdirSync(TRACES_DIR).sort()).toEqual([...WORKLOADS, ...REAL_TRACE_NAMES].map((k) => `${k}.csv`).sort());
  });
});
