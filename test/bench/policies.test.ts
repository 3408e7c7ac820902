import * as fs from 'fs';
import * as path from 'path';
import { elasticRatio, FLEET_OF_TRACE, FLEET_SPECS, markPareto, paretoFront, PolicyRow, tailByDay, tailVerdict, targetVerdicts, worstGroup, worstGroupP95 } from '../../bench/policies';
import type { RunWait, SimReport } from '../../runtime/sim/simulate';
import { WORKLOAD_GROUPS, WORKLOADS } from '../../runtime/sim/workloads';

const FLEETS_DIR = path.resolve(__dirname, '..', '..', 'bench', 'fleets');

function row(policy: string, p95: number, botMinutes: number, groupP95: Record<string, number>): PolicyRow {
  return { policy, p50: 0, p95, mean: 0, max: 0, botMinutes, busy: 0, idle: 0, booting: 0, boots: 0, peak: 0, bound: 0, groupP95 };
}

describe('worstGroupP95', () => {
  test('is the highest group p95', () => {
    expect(worstGroupP95({ groupP95: { finance: 40, sales: 900, ops: 10 } })).toBe(900);
  });

  test('refuses a row with no groups', () => {
    expect(() => worstGroupP95({ groupP95: {} })).toThrow(/groupP95 is empty/);
  });
});

describe('worstGroup', () => {
  test('names the group with the highest p95, the first named on a tie', () => {
    expect(worstGroup({ groupP95: { finance: 40, sales: 900, ops: 10 } })).toBe('sales');
    expect(worstGroup({ groupP95: { finance: 900, sales: 900 } })).toBe('finance');
  });

  test('refuses a row with no groups', () => {
    expect(() => worstGroup({ groupP95: {} })).toThrow(/groupP95 is empty/);
  });
});

describe('paretoFront', () => {
  test('keeps the rows no other row beats on both axes', () => {
    const rows = [
      { name: 'cheap and slow', wait: 100, botMinutes: 10 },
      { name: 'dear and fast', wait: 10, botMinutes: 100 },
      { name: 'dominated', wait: 100, botMinutes: 100 },
      { name: 'middle', wait: 50, botMinutes: 50 },
    ];
    const front = paretoFront(rows, (r) => r.wait);
    expect([...front].map((r) => r.name).sort()).toEqual(['cheap and slow', 'dear and fast', 'middle']);
  });

  test('a row equal to another on both axes stays on the front; one worse on one axis only does not', () => {
    const rows = [
      { name: 'a', wait: 10, botMinutes: 10 },
      { name: 'b', wait: 10, botMinutes: 10 },
      { name: 'c', wait: 10, botMinutes: 11 },
    ];
    expect([...paretoFront(rows, (r) => r.wait)].map((r) => r.name)).toEqual(['a', 'b']);
  });
});

describe('markPareto', () => {
  test('marks the total and the worst-group fronts separately', () => {
    // "starves sales" has the best total p95 for its cost, but its worst group waits longest.
    const rows = [
      row('starves sales', 100, 50, { finance: 60, sales: 2000 }),
      row('fair', 150, 50, { finance: 150, sales: 160 }),
      row('dear', 50, 200, { finance: 50, sales: 70 }),
      row('bad', 300, 300, { finance: 300, sales: 300 }),
    ];
    markPareto(rows);
    expect(rows.map((r) => [r.policy, r.pareto, r.paretoWorst])).toEqual([
      ['starves sales', true, false],
      ['fair', false, true],
      ['dear', true, true],
      ['bad', false, false],
    ]);
  });
});

describe('elasticRatio and targetVerdicts', () => {
  const rows = (oursP95: number, oursMinutes: number) => [row('elastic-pool', 100, 1000, { finance: 100 }), row('ours (defaults)', oursP95, oursMinutes, { finance: oursP95 })];

  test('ratios of "ours (defaults)" to elastic-pool', () => {
    expect(elasticRatio('steady', rows(40, 700))).toEqual({ trace: 'steady', p95: 0.4, botMinutes: 0.7 });
  });

  test('zero against zero counts as equal', () => {
    const zero = [row('elastic-pool', 0, 1000, { finance: 0 }), row('ours (defaults)', 0, 500, { finance: 0 })];
    expect(elasticRatio('quiet', zero).p95).toBe(1);
  });

  test('a wait against elastic-pool\'s zero is infinite, shown as ∞, and still counts in the median', () => {
    const zero = [row('elastic-pool', 0, 1000, { finance: 0 }), row('ours (defaults)', 5, 500, { finance: 5 })];
    const lines = targetVerdicts([elasticRatio('steady', zero), elasticRatio('b', rows(50, 500)), elasticRatio('c', rows(60, 500))]);
    expect(lines[0]).toMatch(/: 0\.60× p95 \(steady ∞, b 0\.50, c 0\.60\)/);
  });

  test('names the missing row', () => {
    expect(() => elasticRatio('steady', [row('elastic-pool', 1, 1, { finance: 1 })])).toThrow(/steady has no "ours \(defaults\)" row/);
  });

  test('office-hours met at 0.5× p95 on 1.0× bot-minutes; not met just above', () => {
    expect(targetVerdicts([elasticRatio('office-hours', rows(50, 1000))])[0]).toMatch(/0\.50× p95 on 1\.00× bot-minutes, met/);
    expect(targetVerdicts([elasticRatio('office-hours', rows(50, 1010))])[0]).toMatch(/not met/);
    expect(targetVerdicts([elasticRatio('office-hours', rows(51, 900))])[0]).toMatch(/not met/);
  });

  test('across traces: the medians of both ratios must be at most 0.8', () => {
    const met = targetVerdicts([elasticRatio('a', rows(50, 500)), elasticRatio('b', rows(80, 800)), elasticRatio('c', rows(200, 2000))]);
    expect(met).toHaveLength(1);
    expect(met[0]).toMatch(/across all 3 traces: .*: 0\.80× p95 .*, 0\.80× bot-minutes .*, met\.$/);
    const missed = targetVerdicts([elasticRatio('a', rows(50, 500)), elasticRatio('b', rows(90, 700)), elasticRatio('c', rows(200, 2000))]);
    expect(missed[0]).toMatch(/0\.90× p95 .*\*\*not met\*\*/);
  });
});

describe('bench fleets', () => {
  test.each(WORKLOADS)('%s: its fleet has a group, with the flow, for every group of the trace', (kind) => {
    const spec = FLEET_SPECS[FLEET_OF_TRACE[kind]];
    for (const { group, flow } of WORKLOAD_GROUPS[kind]) {
      expect(spec.groups.find((g) => g.name === group)?.flow).toBe(flow);
    }
  });

  test.each(Object.values(FLEET_SPECS))('bench/fleets/$name.json was synthesized from its spec', (spec) => {
    const fleet = JSON.parse(fs.readFileSync(path.join(FLEETS_DIR, `${spec.name}.json`), 'utf8'));
    expect(fleet.environment.botCapacity).toBe(spec.capacity);
    expect(fleet.groups.map((g: { name: string; maxBots: number; flows: object }) => [g.name, g.maxBots, Object.keys(g.flows)])).toEqual(
      spec.groups.map((g) => [g.name, g.maxBots, [g.flow]]),
    );
  });
});

describe('where the worst group\'s p95 comes from', () => {
  const MON = Date.UTC(2026, 0, 5, 10);
  const TUE = MON + 24 * 3600_000;
  /** A report with only what tailByDay reads: the run waits of one group. */
  const report = (policy: string, waits: RunWait[]): SimReport => ({ policy, runWaits: { sales: waits } }) as unknown as SimReport;
  // 20 runs a day: Monday's waits 100..2,000 s, Tuesday's 50..1,000 s. The slowest 5% of 40 runs are the 2 slowest: both Monday's.
  const day = (at: number, step: number) => Array.from({ length: 20 }, (_, i) => ({ arrivedAt: at + i * 60_000, waitSeconds: (i + 1) * step }));
  const on = [report('ours (defaults)', [...day(MON, 100), ...day(TUE, 50)])];
  const off = [report('ours, predictive off', [...day(MON, 100), ...day(TUE, 120)])];

  test('tailByDay counts the slowest 5% of runs by the day they arrived, and each day\'s longest wait', () => {
    expect(tailByDay(on, 'sales')).toEqual([
      { day: '2026-01-05', tailShare: 1, maxWait: 2000 },
      { day: '2026-01-06', tailShare: 0, maxWait: 1000 },
    ]);
    // Tuesday's slowest now beat Monday's: the 2 slowest are both Tuesday's.
    expect(tailByDay(off, 'sales').map((d) => d.tailShare)).toEqual([0, 1]);
  });

  test('tailByDay takes the median of each day\'s longest wait over the seeds', () => {
    const seeds = [100, 300, 200].map((step) => report('ours (defaults)', day(MON, step)));
    expect(tailByDay(seeds, 'sales')).toEqual([{ day: '2026-01-05', tailShare: 1, maxWait: 4000 }]);
  });

  test('tailByDay refuses reports simulated without run waits, naming the group', () => {
    expect(() => tailByDay([{ policy: 'x' } as unknown as SimReport], 'sales')).toThrow('report "x" has no run waits for group "sales": simulate it with runWaits: true');
  });

  test('tailVerdict names the worst group, the days of its slowest runs under both rows, and says when all were on the first day', () => {
    const defaults = { policy: 'ours (defaults)', groupP95: { finance: 1200, sales: 1900 } } as unknown as PolicyRow;
    expect(tailVerdict('contention', defaults, on, off)).toBe(
      '- contention, where the worst group\'s p95 comes from: sales\'s slowest 5% of runs arrived on Mon 2026-01-05 (100%) under "ours (defaults)", and on Tue 2026-01-06 (100%) under "ours, predictive off". ' +
        "All of them arrived on the trace's first day, when the history holds no past day for predictive warm-up to read. " +
        'Its longest wait by day: Mon 2000 s, Tue 1000 s under "ours (defaults)"; Mon 2000 s, Tue 2400 s with predictive off.',
    );
  });
});
