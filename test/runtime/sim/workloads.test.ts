import * as fs from 'fs';
import * as path from 'path';
import { formatTrace, parseTrace, type TraceRun } from '../../../runtime/sim/trace';
import { generateWorkload, WORKLOAD_DAYS, WORKLOAD_DESCRIPTIONS, WORKLOADS } from '../../../runtime/sim/workloads';

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
      expect(Number.isInteger(run.durationSeconds) && run.durationSeconds >= 30 && run.durationSeconds <= 45 * 60).toBe(true);
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

  test('holds exactly one file per workload', () => {
    expect(fs.readdirSync(TRACES_DIR).sort()).toEqual(WORKLOADS.map((k) => `${k}.csv`).sort());
  });
});
