import { PlanScaling } from '../../../runtime/scaler/plan';
import { elasticPoolPolicy, fixedPolicy, hostedDefaultPolicy, oursPolicy } from '../../../runtime/sim/policies';
import { PolicyView, simulate, SimFleet } from '../../../runtime/sim/simulate';
import { TraceRun } from '../../../runtime/sim/trace';
import { generateWorkload } from '../../../runtime/sim/workloads';

const DAY = Date.UTC(2026, 0, 5);
const at = (hh: number, mm: number, ss = 0) => DAY + ((hh * 60 + mm) * 60 + ss) * 1000;
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: true };
const run = (t: number, durationSeconds: number, priority: 'high' | 'normal' = 'normal'): TraceRun => ({ at: t, group: 'g', flow: 'f', durationSeconds, priority });
/** Every boot takes exactly 4 minutes. */
const EXACT_BOOT = { boot: { medianSeconds: 240, sigma: 0, maxSeconds: 3600 }, deleteSeconds: 60 };

describe('simulate', () => {
  test('agrees with a small trace worked out by hand', () => {
    const fleet: SimFleet = { capacity: 2, groups: [{ name: 'g', maxBots: 2, committedBots: 0, scaling: SCALING }] };
    // 09:00 A (10 min), 09:01 B (5 min), 09:02 C (2 min), 09:30 D (1 min). Boots take 4 minutes.
    // bot1 created 09:00, ready 09:04, runs A 09:04-09:14, idle until deleted 09:24 (gone 09:25).
    // bot2 created 09:01, ready 09:05, runs B 09:05-09:10 and C 09:10-09:12, deleted 09:22 (gone 09:23).
    // C waits for maxBots; bot3 is created for D at 09:30, ready 09:34, runs D until 09:35.
    const trace = [run(at(9, 0), 600), run(at(9, 1), 300), run(at(9, 2), 120), run(at(9, 30), 60)];
    const report = simulate(trace, fleet, oursPolicy(), EXACT_BOOT);
    const total = report.total;
    expect(total.runs).toBe(4);
    // Waits 240, 240, 480 and 240 seconds.
    expect(total.wait).toEqual({ mean: 300, p50: 240, p95: 480, max: 480 });
    // Booting 4+4+4; busy 10+5+2+1; idle (with the minute being deleted) 11+11.
    expect(total.botMinutes).toEqual({ busy: 18, idle: 22, booting: 12, total: 52 });
    expect(total.boots).toBe(3);
    expect(total.peakBots).toBe(2);
    // Runs waited with both bots in existence from 09:01 until C started at 09:10.
    expect(total.capacityBoundMinutes).toBe(9);
    expect(report.end).toBe(at(9, 35));
  });

  test('with series, samples each minute the queue, running runs and bots by state of the hand-worked trace', () => {
    const fleet: SimFleet = { capacity: 2, groups: [{ name: 'g', maxBots: 2, committedBots: 0, scaling: SCALING }] };
    const trace = [run(at(9, 0), 600), run(at(9, 1), 300), run(at(9, 2), 120), run(at(9, 30), 60)];
    const report = simulate(trace, fleet, oursPolicy(), { ...EXACT_BOOT, series: { everySeconds: 60 } });
    const s = report.series![0];
    const i = (hh: number, mm: number) => s.at.indexOf(at(hh, mm));
    // 09:03: three runs wait for the two booting bots.
    expect([s.queued[i(9, 3)], s.running[i(9, 3)], s.bots.provisioning[i(9, 3)], s.bots.busy[i(9, 3)]]).toEqual([3, 0, 2, 0]);
    // 09:06: A and B run; C waits for maxBots.
    expect([s.queued[i(9, 6)], s.running[i(9, 6)], s.bots.busy[i(9, 6)], s.bots.idle[i(9, 6)]]).toEqual([1, 2, 2, 0]);
    // A sample holds the state after that instant's changes: bot2 is deleted at 09:22 and gone at 09:23.
    expect([s.bots.idle[i(9, 22)], s.bots.deleting[i(9, 22)]]).toEqual([1, 1]);
    expect([s.bots.idle[i(9, 23)], s.bots.deleting[i(9, 23)]]).toEqual([1, 0]);
    for (const values of [s.queued, s.running, ...Object.values(s.bots)]) expect(values).toHaveLength(s.at.length);
    // The waits 240, 240, 240, 480 as percentiles.
    expect([s.waitPercentiles[0], s.waitPercentiles[50], s.waitPercentiles[100]]).toEqual([240, 240, 480]);
  });

  test('series stay within maxPoints, and recording them changes no figure of the report', () => {
    const fleet: SimFleet = { capacity: 30, groups: ['finance', 'sales'].map((name) => ({ name, maxBots: 15, committedBots: 0, scaling: SCALING })) };
    const trace = generateWorkload('office-hours', { seed: 42, days: 2 });
    const plain = simulate(trace, fleet, oursPolicy(), { seed: 3 });
    const withSeries = simulate(trace, fleet, oursPolicy(), { seed: 3, series: { everySeconds: 1, maxPoints: 200 } });
    expect(withSeries.groups).toEqual(plain.groups);
    expect(withSeries.total).toEqual(plain.total);
    expect(plain.series).toBeUndefined();
    for (const s of withSeries.series!) {
      expect(s.at.length).toBeGreaterThan(100);
      expect(s.at.length).toBeLessThanOrEqual(200);
    }
  });

  test('with runWaits, returns each run of the hand-worked trace with its arrival and wait, in the order they started', () => {
    const fleet: SimFleet = { capacity: 2, groups: [{ name: 'g', maxBots: 2, committedBots: 0, scaling: SCALING }] };
    const trace = [run(at(9, 0), 600), run(at(9, 1), 300), run(at(9, 2), 120), run(at(9, 30), 60)];
    const report = simulate(trace, fleet, oursPolicy(), { ...EXACT_BOOT, runWaits: true });
    expect(report.runWaits).toEqual({
      g: [
        { arrivedAt: at(9, 0), waitSeconds: 240 },
        { arrivedAt: at(9, 1), waitSeconds: 240 },
        { arrivedAt: at(9, 2), waitSeconds: 480 },
        { arrivedAt: at(9, 30), waitSeconds: 240 },
      ],
    });
    expect(simulate(trace, fleet, oursPolicy(), EXACT_BOOT).runWaits).toBeUndefined();
  });

  test('runs of high priority are claimed before earlier normal ones', () => {
    const fleet: SimFleet = { capacity: 1, groups: [{ name: 'g', maxBots: 1, committedBots: 0, scaling: SCALING }] };
    const trace = [run(at(9, 0), 60), run(at(9, 0, 10), 60), run(at(9, 0, 20), 60, 'high')];
    const report = simulate(trace, fleet, oursPolicy(), EXACT_BOOT);
    // The bot is ready at 09:04: A starts, then the high-priority run (waited 3:40+1:00), then B.
    expect(report.total.wait.max).toBe(240 + 120 - 10);
  });

  test('a policy sees when the oldest queued run of each group arrived, high priority included', () => {
    const fleet: SimFleet = { capacity: 1, groups: [{ name: 'g', maxBots: 1, committedBots: 0, scaling: SCALING }] };
    const trace = [run(at(9, 0), 60), run(at(9, 0, 10), 60), run(at(9, 0, 20), 60, 'high')];
    const seen: Array<[number, number | undefined]> = [];
    const ours = oursPolicy();
    simulate(trace, fleet, { ...ours, decide: (view, now) => (seen.push([now, view.groups[0].oldestQueuedAt]), ours.decide(view, now)) }, EXACT_BOOT);
    const oldestAt = (t: number) => seen.filter(([now]) => now <= t).pop()?.[1];
    expect(oldestAt(at(9, 0, 20))).toBe(at(9, 0));
    // 09:04: the bot takes the high-priority run first; A (09:00) is still the oldest waiting.
    expect(oldestAt(at(9, 4, 30))).toBe(at(9, 0));
    // 09:05: A starts and B (09:00:10) is the oldest; at 09:06 B starts and none waits.
    expect(oldestAt(at(9, 5, 30))).toBe(at(9, 0, 10));
    expect(oldestAt(at(9, 6, 30))).toBeUndefined();
  });

  test('the same trace, fleet and seed give the same report, byte for byte', () => {
    const trace = generateWorkload('spiky', { seed: 3, days: 1 });
    const fleet: SimFleet = { capacity: 20, groups: [{ name: 'finance', maxBots: 20, committedBots: 0, scaling: { ...SCALING, predictive: true } }] };
    const a = JSON.stringify(simulate(trace, fleet, oursPolicy(), { seed: 9 }));
    const b = JSON.stringify(simulate(trace, fleet, oursPolicy(), { seed: 9 }));
    expect(a).toBe(b);
    expect(JSON.stringify(simulate(trace, fleet, oursPolicy(), { seed: 10 }))).not.toBe(a);
  });

  test.each([
    ['ours', () => oursPolicy()],
    ['hosted-default', () => hostedDefaultPolicy()],
    ['elastic-pool', () => elasticPoolPolicy({ standby: 3 })],
    ['fixed', () => fixedPolicy(50)],
  ])('%s never holds more bots than the capacity or maxBots', (_name, policy) => {
    const trace = generateWorkload('contention', { seed: 5, days: 1 });
    const fleet: SimFleet = {
      capacity: 12,
      groups: [
        { name: 'finance', maxBots: 8, committedBots: 2, scaling: SCALING },
        { name: 'sales', maxBots: 8, committedBots: 0, scaling: SCALING },
      ],
    };
    const report = simulate(trace, fleet, policy(), { seed: 2 });
    expect(report.total.runs).toBe(trace.length);
    expect(report.total.peakBots).toBeLessThanOrEqual(12);
    for (const g of report.groups) expect(g.peakBots).toBeLessThanOrEqual(8);
  });

  test('plans groups in name order, as the runtime does, whatever order the fleet declares them in', () => {
    // One bot of capacity, one run in each group at once: the tie goes to the group first by name.
    const groups = (names: string[]) => names.map((name) => ({ name, maxBots: 1, committedBots: 0, scaling: SCALING }));
    const trace = [{ ...run(at(9, 0), 60), group: 'finance' }, { ...run(at(9, 0), 60), group: 'sales' }];
    for (const names of [['finance', 'sales'], ['sales', 'finance']]) {
      const report = simulate(trace, { capacity: 1, groups: groups(names) }, oursPolicy(), EXACT_BOOT);
      const waits = Object.fromEntries(report.groups.map((g) => [g.group, g.wait.max]));
      // finance boots its bot and runs first; sales waits for that bot to go and its own to boot.
      expect(waits.finance).toBe(240);
      expect(waits.sales).toBeGreaterThan(240);
    }
  });

  test('a trace with a group the fleet does not declare is refused, naming the group', () => {
    const fleet: SimFleet = { capacity: 2, groups: [{ name: 'other', maxBots: 2, committedBots: 0, scaling: SCALING }] };
    expect(() => simulate([run(at(9, 0), 60)], fleet, oursPolicy())).toThrow('the trace has runs for group "g", which the fleet does not declare (groups: other)');
  });
});

describe('ticks skipped while the runtime scaler\'s answer cannot change', () => {
  const PREDICTIVE: PlanScaling = { ...SCALING, predictive: true, standbyBots: 1, coldAfterHours: 2 };
  const group = (name: string, maxBots: number, scaling: PlanScaling, committedBots = 0) => ({ name, maxBots, committedBots, scaling });
  const cases: Array<[string, () => TraceRun[], SimFleet, Parameters<typeof simulate>[3]]> = [
    ['office hours, predictive warm-up, standby going cold', () => generateWorkload('office-hours', { seed: 4, days: 3 }), { capacity: 30, groups: [group('finance', 20, PREDICTIVE), group('sales', 10, PREDICTIVE)] }, { seed: 1 }],
    ['contended capacity with committed bots (shares weighted by waits)', () => generateWorkload('contention', { seed: 5, days: 1 }), { capacity: 10, groups: [group('finance', 8, PREDICTIVE, 3), group('sales', 8, SCALING)] }, { seed: 2 }],
    ['a time zone 45 minutes off the hour', () => generateWorkload('office-hours', { seed: 6, days: 2 }), { capacity: 30, timeZone: 'Asia/Kathmandu', groups: [group('finance', 20, PREDICTIVE), group('sales', 10, PREDICTIVE)] }, { seed: 3 }],
    ['boots that miss their time-out', () => generateWorkload('spiky', { seed: 7, days: 1 }), { capacity: 20, groups: [group('finance', 20, { ...SCALING, bootTimeoutMinutes: 6 })] }, { seed: 4, boot: { medianSeconds: 300, sigma: 0.5, maxSeconds: 3600 } }],
    ['bots recycled after 3 runs', () => generateWorkload('steady', { seed: 8, days: 1 }), { capacity: 20, groups: [group('finance', 20, { ...PREDICTIVE, recycleAfterRuns: 3 })] }, { seed: 5 }],
  ];

  test.each(cases)('%s: the same report as asking at every tick, from fewer decisions', (_what, trace, fleet, options) => {
    const runs = trace();
    const counted = () => {
      const ours = oursPolicy();
      const policy = { ...ours, calls: 0, decide: (view: PolicyView, now: number) => (policy.calls++, ours.decide(view, now)) };
      return policy;
    };
    const fast = counted();
    const exact = counted();
    const a = simulate(runs, fleet, fast, options);
    const b = simulate(runs, fleet, exact, { ...options, everyTick: true });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(fast.calls).toBeLessThan(exact.calls);
  });

  test('the warm-up account pauses, probes and warms again the same as when asked at every tick', () => {
    // Calendar demand on a small capacity: each group's warm-up pauses and comes back.
    const runs = generateWorkload('calendar', { seed: 3, days: 4 });
    const fleet: SimFleet = { capacity: 12, groups: [group('finance', 10, { ...SCALING, predictive: true, spareBot: true }), group('sales', 10, { ...SCALING, predictive: true, spareBot: true })] };
    const fast = simulate(runs, fleet, oursPolicy(), { seed: 1 });
    const exact = simulate(runs, fleet, oursPolicy(), { seed: 1, everyTick: true });
    expect(fast.warmUp?.finance.pausedShare).toBeGreaterThan(0);
    expect(fast.warmUp?.finance.mode).toBe('warming');
    expect(JSON.stringify(fast)).toBe(JSON.stringify(exact));
  });
});

describe('runs that can never start', () => {
  const HOUR = 3600_000;
  const two = (a: Partial<SimFleet['groups'][number]> = {}, b: Partial<SimFleet['groups'][number]> = {}): SimFleet => ({
    capacity: 2,
    groups: [
      { name: 'a', maxBots: 2, committedBots: 0, scaling: SCALING, ...a },
      { name: 'b', maxBots: 2, committedBots: 0, scaling: SCALING, ...b },
    ],
  });
  const both = [{ ...run(at(9, 0), 60), group: 'a' }, { ...run(at(9, 1), 60), group: 'b' }, { ...run(at(9, 2), 60), group: 'b' }, { ...run(at(10, 0), 60), group: 'a' }];

  test('a fixed pool that leaves a group no bot: the simulation ends at the last arrival plus the queue time-out, and counts its runs', () => {
    const report = simulate(both, two(), fixedPolicy({ a: 1 }), EXACT_BOOT);
    expect(report.end).toBe(at(10, 0) + 6 * HOUR);
    expect(report.groups.map((g) => [g.group, g.runs, g.neverStarted])).toEqual([
      ['a', 2, 0],
      ['b', 0, 2],
    ]);
    expect([report.total.runs, report.total.neverStarted]).toEqual([2, 2]);
  });

  test('a group with maxBots 0 gets no bot from the runtime scaler; its runs never start and the others run', () => {
    const report = simulate(both, two({}, { maxBots: 0 }), oursPolicy(), EXACT_BOOT);
    expect(report.groups.map((g) => [g.group, g.runs, g.neverStarted])).toEqual([
      ['a', 2, 0],
      ['b', 0, 2],
    ]);
    expect(report.total.peakBots).toBeGreaterThan(0);
  });

  test('capacity held by another group for ever: the longest of the groups\' queue time-outs sets the end', () => {
    // a's pool of 2 takes the whole capacity first, and a fixed pool is never deleted.
    const report = simulate(both, two({ queueTimeoutHours: 1 }, { queueTimeoutHours: 3 }), fixedPolicy({ a: 2, b: 2 }), EXACT_BOOT);
    expect(report.end).toBe(at(10, 0) + 3 * HOUR);
    expect(report.groups.find((g) => g.group === 'b')!.neverStarted).toBe(2);
    // The pool's two bots exist from midnight to the end: booting 4 minutes each, the rest idle or busy.
    expect(report.total.botMinutes.total).toBe(2 * (13 * 60));
  });

  test('runs already running at the end still finish; only queued ones count as never started', () => {
    const long = [{ ...run(at(9, 0), 8 * 3600), group: 'a' }, { ...run(at(9, 1), 60), group: 'b' }];
    const report = simulate(long, two(), fixedPolicy({ a: 2, b: 2 }), EXACT_BOOT);
    expect(report.groups.map((g) => [g.group, g.runs, g.neverStarted])).toEqual([
      ['a', 1, 0],
      ['b', 0, 1],
    ]);
    // The pool is up from 00:04, so a's run starts at 09:00 and runs 8 hours: past 09:01 + 6 h.
    expect(report.end).toBe(at(17, 0));
  });

  test('when every run starts, none is counted and the end is the last run\'s', () => {
    const report = simulate(both, two(), oursPolicy(), EXACT_BOOT);
    expect(report.total.neverStarted).toBe(0);
    expect(report.total.runs).toBe(4);
    expect(report.end).toBeLessThan(at(11, 0));
  });
});

describe('baseline policies', () => {
  const fleet: SimFleet = { capacity: 10, groups: [{ name: 'g', maxBots: 8, committedBots: 0, scaling: SCALING }] };
  const spaced = [run(at(9, 0), 60), run(at(10, 0), 60), run(at(11, 0), 60)];

  test('hosted-default boots a bot per run and deletes it once idle', () => {
    const report = simulate(spaced, fleet, hostedDefaultPolicy(), EXACT_BOOT);
    expect(report.total.boots).toBe(3);
    expect(report.total.wait.max).toBe(240);
    // Each bot: 4 minutes booting, 1 busy, then the minute of its deletion.
    expect(report.total.botMinutes).toEqual({ busy: 3, idle: 2, booting: 12, total: 17 });
  });

  test('elastic-pool only acts on its 5-minute samples and keeps its standby bot', () => {
    // The first sample at midnight starts the standby bot; the run at 09:02 takes it at once.
    const report = simulate([run(at(9, 2), 60)], fleet, elasticPoolPolicy(), EXACT_BOOT);
    expect(report.total.wait.max).toBe(0);
    expect(report.total.boots).toBe(1);
    // Without a standby bot, a run at 09:01 waits for the 09:05 sample and a 4-minute boot.
    const cold = simulate([run(at(9, 1), 60)], fleet, elasticPoolPolicy({ standby: 0 }), EXACT_BOOT);
    expect(cold.total.wait.max).toBe(480);
  });

  test('fixed keeps its pool whatever the load', () => {
    const report = simulate(spaced, fleet, fixedPolicy(3), EXACT_BOOT);
    expect(report.total.boots).toBe(3);
    expect(report.total.peakBots).toBe(3);
    expect(report.total.wait.max).toBe(0);
  });
});
