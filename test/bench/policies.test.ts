import * as fs from 'fs';
import * as path from 'path';
import {
  BENCH_TRACES,
  betterBeyondSpread,
  dominates,
  elasticRatio,
  FLEET_OF_TRACE,
  FLEET_SPECS,
  markPareto,
  paretoFront,
  parsePoliciesArgs,
  PolicyRow,
  quantile,
  rowOf,
  seedSpread,
  tailByDay,
  tailVerdict,
  targetVerdicts,
  traceDescription,
  traceGroups,
  warmUpLine,
  worstGroup,
  worstGroupFigure,
  worstGroupP95,
} from '../../bench/policies';
import { median } from '../../bench/report';
import type { RunWait, SimReport } from '../../runtime/sim/simulate';
import { REAL_TRACE_NAMES, REAL_TRACES } from '../../bench/real-traces';
import { WORKLOAD_GROUPS, WORKLOADS } from '../../runtime/sim/workloads';

const FLEETS_DIR = path.resolve(__dirname, '..', '..', 'bench', 'fleets');

/** A row measured with one seed: no spread, so its fronts are plain Pareto fronts. */
function row(policy: string, p95: number, botMinutes: number, groupP95: Record<string, number>): PolicyRow {
  const seeds = { p95: [p95], botMinutes: [botMinutes], groupP95: Object.fromEntries(Object.entries(groupP95).map(([g, v]) => [g, [v]])) };
  return { policy, p50: 0, p95, mean: 0, max: 0, botMinutes, busy: 0, idle: 0, booting: 0, boots: 0, peak: 0, bound: 0, neverStarted: 0, groupP95, seeds };
}

/** A row from per-seed figures, its medians taken as rowOf takes them. */
function seededRow(policy: string, p95: number[], botMinutes: number[], groupP95: Record<string, number[]>): PolicyRow {
  const medians = Object.fromEntries(Object.entries(groupP95).map(([g, v]) => [g, median(v)]));
  return { ...row(policy, median(p95), median(botMinutes), medians), seeds: { p95, botMinutes, groupP95 } };
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

describe('quantile and seedSpread', () => {
  test('quantile interpolates between the two nearest ranks, and at 0.5 is the median', () => {
    expect(quantile([10, 20, 30, 40], 0.25)).toBe(17.5);
    expect(quantile([40, 10, 30, 20], 0.5)).toBe(median([10, 20, 30, 40]));
    expect(quantile([7], 0.75)).toBe(7);
  });

  test('quantile refuses no values and a quantile outside 0 to 1', () => {
    expect(() => quantile([], 0.5)).toThrow(/quantile of no values/);
    expect(() => quantile([1, 2], 1.5)).toThrow(/quantile 1.5 is not between 0 and 1/);
  });

  test('the spread of the seeds is the interquartile range: one odd seed does not widen it', () => {
    expect(seedSpread([1, 2, 3, 4, 5, 6, 7, 8, 9])).toBe(4);
    expect(seedSpread([1, 2, 3, 4, 5, 6, 7, 8, 900])).toBe(4);
  });

  test('one seed has no spread', () => {
    expect(seedSpread([1234])).toBe(0);
  });
});

describe('dominance beyond the seeds\' spread', () => {
  test('a difference within the wider of the two spreads is a tie; beyond it, the lower is better', () => {
    expect(betterBeyondSpread({ value: 100, spread: 5 }, { value: 110, spread: 10 })).toBe(false);
    expect(betterBeyondSpread({ value: 100, spread: 10 }, { value: 110, spread: 5 })).toBe(false);
    expect(betterBeyondSpread({ value: 100, spread: 5 }, { value: 111, spread: 10 })).toBe(true);
    expect(betterBeyondSpread({ value: 111, spread: 5 }, { value: 100, spread: 10 })).toBe(false);
  });

  test('with no spread it is plain dominance: at least as good on both axes and better on one', () => {
    const at = (wait: number, minutes: number) => [{ value: wait, spread: 0 }, { value: minutes, spread: 0 }];
    expect(dominates(at(10, 10), at(10, 11))).toBe(true);
    expect(dominates(at(10, 10), at(10, 10))).toBe(false);
    expect(dominates(at(9, 12), at(10, 11))).toBe(false);
  });

  test('refuses rows compared on different axes', () => {
    expect(() => dominates([{ value: 1, spread: 0 }], [{ value: 1, spread: 0 }, { value: 2, spread: 0 }])).toThrow(/on 1 and 2 axes/);
  });
});

describe('paretoFront', () => {
  const axes = (r: { wait: number; waitSpread?: number; botMinutes: number; minutesSpread?: number }) => [
    { value: r.wait, spread: r.waitSpread ?? 0 },
    { value: r.botMinutes, spread: r.minutesSpread ?? 0 },
  ];

  test('keeps the rows no other row beats on both axes', () => {
    const rows = [
      { name: 'cheap and slow', wait: 100, botMinutes: 10 },
      { name: 'dear and fast', wait: 10, botMinutes: 100 },
      { name: 'dominated', wait: 100, botMinutes: 100 },
      { name: 'middle', wait: 50, botMinutes: 50 },
    ];
    const front = paretoFront(rows, axes);
    expect([...front].map((r) => r.name).sort()).toEqual(['cheap and slow', 'dear and fast', 'middle']);
  });

  test('a row equal to another on both axes stays on the front; one worse on one axis only does not', () => {
    const rows = [
      { name: 'a', wait: 10, botMinutes: 10 },
      { name: 'b', wait: 10, botMinutes: 10 },
      { name: 'c', wait: 10, botMinutes: 11 },
    ];
    expect([...paretoFront(rows, axes)].map((r) => r.name)).toEqual(['a', 'b']);
  });

  test('ties: a row worse on both axes, but within the seeds\' spread on each, stays on the front', () => {
    const rows = [
      { name: 'better medians', wait: 100, waitSpread: 30, botMinutes: 1000, minutesSpread: 50 },
      { name: 'worse within the spread', wait: 120, waitSpread: 25, botMinutes: 1040, minutesSpread: 40 },
    ];
    expect([...paretoFront(rows, axes)].map((r) => r.name)).toEqual(['better medians', 'worse within the spread']);
  });

  test('clear domination: a row worse beyond the spread on both axes is off the front', () => {
    const rows = [
      { name: 'better', wait: 100, waitSpread: 30, botMinutes: 1000, minutesSpread: 50 },
      { name: 'worse beyond the spread', wait: 200, waitSpread: 30, botMinutes: 1200, minutesSpread: 50 },
    ];
    expect([...paretoFront(rows, axes)].map((r) => r.name)).toEqual(['better']);
  });

  test('a tie on one axis and worse beyond the spread on the other is off the front', () => {
    const rows = [
      { name: 'cheaper', wait: 100, waitSpread: 30, botMinutes: 1000, minutesSpread: 50 },
      { name: 'tied wait, dearer', wait: 95, waitSpread: 30, botMinutes: 1200, minutesSpread: 50 },
    ];
    expect([...paretoFront(rows, axes)].map((r) => r.name)).toEqual(['cheaper']);
  });

  test('better beyond the spread on one axis and worse beyond it on the other: both stay on the front', () => {
    const rows = [
      { name: 'fast and dear', wait: 50, waitSpread: 10, botMinutes: 1500, minutesSpread: 50 },
      { name: 'slow and cheap', wait: 200, waitSpread: 10, botMinutes: 1000, minutesSpread: 50 },
    ];
    expect(paretoFront(rows, axes).size).toBe(2);
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

  // Issue 25's case, with the medians of contention's table (worst group sales: 1,728 s on 21,464
  // bot-minutes under "ours (defaults)", 1,716 s on 20,360 with predictive off) and nine
  // illustrative seeds around them whose spreads hold both differences.
  const defaults = seededRow(
    'ours (defaults)',
    [1500, 1550, 1580, 1600, 1602, 1610, 1640, 1660, 1700],
    [20100, 20500, 20800, 21300, 21464, 21700, 22000, 22300, 22900],
    { finance: [1100, 1150, 1200, 1220, 1229, 1240, 1260, 1300, 1350], sales: [1550, 1600, 1650, 1700, 1728, 1750, 1800, 1850, 1900] },
  );
  const predictiveOff = (minutes: number[]) =>
    seededRow('ours, predictive off', [1500, 1540, 1590, 1605, 1612, 1620, 1650, 1680, 1720], minutes, {
      finance: [1200, 1250, 1300, 1330, 1345, 1360, 1380, 1400, 1450],
      sales: [1560, 1600, 1640, 1690, 1716, 1740, 1790, 1840, 1900],
    });

  test('the contention case from issue 25: "ours (defaults)" ties "ours, predictive off" within the seeds\' spread and stays on the worst-group front', () => {
    const rows = [defaults, predictiveOff([19000, 19500, 19800, 20200, 20360, 20600, 20900, 21200, 21700])];
    markPareto(rows);
    expect(rows.map((r) => [r.policy, r.paretoWorst])).toEqual([
      ['ours (defaults)', true],
      ['ours, predictive off', true],
    ]);
    // Judged on the medians alone, as before, predictive off took defaults off that front.
    const medians = rows.map((r) => row(r.policy, r.p95, r.botMinutes, r.groupP95));
    markPareto(medians);
    expect(medians.map((r) => r.paretoWorst)).toEqual([false, true]);
  });

  test('the same case with predictive off cheaper beyond the spread takes "ours (defaults)" off the worst-group front', () => {
    const rows = [defaults, predictiveOff([17600, 17700, 17800, 17900, 18000, 18100, 18200, 18300, 18400])];
    markPareto(rows);
    expect(rows.map((r) => r.paretoWorst)).toEqual([false, true]);
  });

  test('the worst group\'s spread is that of the group worstGroup names', () => {
    expect(worstGroupFigure(defaults)).toEqual({ value: 1728, spread: seedSpread(defaults.seeds.groupP95.sales) });
  });
});

describe('rowOf', () => {
  test('takes each figure\'s median over the seeds and keeps the per-seed figures the spreads come from', () => {
    const report = (p95: number, botMinutes: number, sales: number) =>
      ({
        policy: 'x',
        total: { wait: { p50: 0, p95, mean: 0, max: 0 }, botMinutes: { total: botMinutes, busy: 0, idle: 0, booting: 0 }, boots: 0, peakBots: 0, capacityBoundMinutes: 0 },
        groups: [{ group: 'sales', wait: { p95: sales } }],
      }) as unknown as SimReport;
    const r = rowOf('x', [report(300, 900, 310), report(100, 1100, 120), report(200, 1000, 250)]);
    expect([r.p95, r.botMinutes, r.groupP95.sales]).toEqual([200, 1000, 250]);
    expect(r.seeds).toEqual({ p95: [300, 100, 200], botMinutes: [900, 1100, 1000], groupP95: { sales: [310, 120, 250] } });
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

  test('across traces: the median p95 ratio at most 0.5 on a median bot-minutes ratio at most 0.7', () => {
    const met = targetVerdicts([elasticRatio('a', rows(30, 500)), elasticRatio('b', rows(50, 700)), elasticRatio('c', rows(200, 2000))]);
    expect(met).toHaveLength(1);
    expect(met[0]).toMatch(/across all 3 traces: .*at most 0\.50× on p95 and at most 0\.70× on bot-minutes: 0\.50× p95 .*, 0\.70× bot-minutes .*, met\.$/);
    expect(targetVerdicts([elasticRatio('a', rows(30, 500)), elasticRatio('b', rows(51, 600)), elasticRatio('c', rows(200, 2000))])[0]).toMatch(/0\.51× p95 .*\*\*not met\*\*/);
    expect(targetVerdicts([elasticRatio('a', rows(30, 500)), elasticRatio('b', rows(40, 710)), elasticRatio('c', rows(200, 2000))])[0]).toMatch(/0\.71× bot-minutes .*\*\*not met\*\*/);
  });
});

describe('bench fleets', () => {
  test('the benchmark runs every synthetic workload and every real trace', () => {
    expect(BENCH_TRACES).toEqual([...WORKLOADS, ...REAL_TRACE_NAMES]);
  });

  test.each(BENCH_TRACES)('%s: its fleet has a group, with the flow, for every group of the trace', (kind) => {
    const spec = FLEET_SPECS[FLEET_OF_TRACE[kind]];
    for (const { group, flow } of traceGroups(kind)) {
      expect(spec.groups.find((g) => g.name === group)?.flow).toBe(flow);
    }
  });

  test('a synthetic trace\'s groups are its workload\'s; a real trace\'s are its conversion\'s', () => {
    expect(traceGroups('office-hours')).toBe(WORKLOAD_GROUPS['office-hours']);
    expect(traceGroups('lanl-cm5')).toBe(REAL_TRACES['lanl-cm5'].groups);
  });

  test.each(REAL_TRACE_NAMES)('%s: its description gives its source and licence', (name) => {
    expect(traceDescription(name)).toContain(`Source: ${REAL_TRACES[name].citation}`);
    expect(traceDescription(name)).toContain(`Licence: ${REAL_TRACES[name].licence}`);
  });

  test.each(REAL_TRACE_NAMES)('%s: its fleet\'s flows allow runs of 4 hours, the longest the conversion writes', (name) => {
    for (const g of FLEET_SPECS[FLEET_OF_TRACE[name]].groups) expect(g.timeoutMinutes).toBe(240);
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

describe('parsePoliciesArgs', () => {
  test('runs every trace with 9 seeds and rewrites BENCHMARKS.md by default', () => {
    expect(parsePoliciesArgs([])).toEqual({ help: false, seeds: 9, traces: BENCH_TRACES, write: true });
  });

  test('--trace runs only the traces named, in the benchmark\'s order, and leaves BENCHMARKS.md alone', () => {
    expect(parsePoliciesArgs(['--trace', 'lanl-cm5', '--seeds', '3', '--trace', 'kth-sp2'])).toEqual({ help: false, seeds: 3, traces: ['kth-sp2', 'lanl-cm5'], write: false });
  });

  test('refuses a trace the benchmark does not have, naming those it has', () => {
    expect(() => parsePoliciesArgs(['--trace', 'sdsc'])).toThrow(/--trace "sdsc" is not a trace of the benchmark; the traces are office-hours, .*, kth-sp2, lanl-cm5/);
  });

  test('refuses seeds outside 1 to 20, an unknown argument, and an option without its value', () => {
    expect(() => parsePoliciesArgs(['--seeds', '0'])).toThrow('--seeds must be an integer from 1 to 20, got "0"');
    expect(() => parsePoliciesArgs(['--seeds', '2.5'])).toThrow('--seeds must be an integer from 1 to 20, got "2.5"');
    expect(() => parsePoliciesArgs(['--fast'])).toThrow('unknown argument "--fast"; see --help');
    expect(() => parsePoliciesArgs(['--trace'])).toThrow('--trace needs a value; see --help');
  });
});

describe('the warm-up account line under a trace', () => {
  const figures = (warmed: number, used: number, displaced: number, botMinutes: number, savedMinutes: number, pausedShare: number) =>
    ({ warmed, used, displaced, botMinutes, savedMinutes, mode: pausedShare > 0.5 ? 'paused' : 'warming', pausedShare }) as const;
  const report = (warmUp?: Record<string, ReturnType<typeof figures>>) => ({ warmUp }) as unknown as Parameters<typeof warmUpLine>[1][number];

  test('sums the groups of each seed and takes the medians over the seeds, with each group\'s share paused', () => {
    const line = warmUpLine('ours (defaults)', [
      report({ finance: figures(10, 4, 1, 100, 20, 0), sales: figures(2, 0, 0, 30, 0, 0.5) }),
      report({ finance: figures(20, 8, 2, 200, 40, 0.1), sales: figures(4, 1, 0, 40, 5, 0.7) }),
      report({ finance: figures(30, 12, 3, 300, 60, 0.2), sales: figures(6, 2, 0, 50, 10, 0.9) }),
    ]);
    expect(line).toBe(
      'Warm-up account of "ours (defaults)" (medians over the seeds): 24 bots warmed, 9 used by a run (2 of them while the capacity was bound), costing 240 bot-minutes and saving 45 minutes of waiting; share of the trace paused: finance 10%, sales 70%.',
    );
  });

  test('says nothing for a policy that keeps no account', () => {
    expect(warmUpLine('elastic-pool', [report(), report()])).toBeUndefined();
  });
});

describe('parsePoliciesArgs with other default traces', () => {
  test('runs the defaults given when no trace is named, and still rewrites its section', () => {
    expect(parsePoliciesArgs([], ['kth-sp2', 'lanl-cm5'])).toEqual({ help: false, seeds: 9, traces: ['kth-sp2', 'lanl-cm5'], write: true });
  });
});
