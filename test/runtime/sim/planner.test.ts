/** The planner's what-ifs, its month of bot-hours and cost, and its per-group summary. */
import { PlanScaling } from '../../../runtime/scaler/plan';
import { applyWhatIf, runPlanner, whatIfCandidates } from '../../../runtime/sim/planner';
import { SimFleet } from '../../../runtime/sim/simulate';
import { TraceRun } from '../../../runtime/sim/trace';

const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: true };
const fleet = (capacity: number, committed = [0, 0]): SimFleet => ({
  capacity,
  groups: [
    { name: 'finance', maxBots: 8, committedBots: committed[0], scaling: SCALING },
    { name: 'sales', maxBots: 4, committedBots: committed[1], scaling: SCALING },
  ],
});
const tried = (f: SimFleet, setting: string, group?: string) =>
  whatIfCandidates(f)
    .candidates.filter((c) => c.setting === setting && c.group === group)
    .map((c) => c.to);

describe('whatIfCandidates', () => {
  test('botCapacity: half, three quarters, a quarter and a half more, and every group\'s maxBots at once, never beyond it', () => {
    expect(tried(fleet(8), 'botCapacity')).toEqual([4, 6, 10, 12]);
    // At every group's maxBots at once (12), more capacity is never used.
    expect(tried(fleet(12), 'botCapacity')).toEqual([6, 9]);
  });

  test('botCapacity never goes below the committed bots', () => {
    expect(tried(fleet(8, [4, 2]), 'botCapacity')).toEqual([6, 10, 12]);
  });

  test('committedBots: none, a quarter and half of maxBots, within what the capacity leaves the other groups', () => {
    expect(tried(fleet(8, [0, 0]), 'committedBots', 'finance')).toEqual([2, 4]);
    expect(tried(fleet(8, [0, 0]), 'committedBots', 'sales')).toEqual([1, 2]);
    expect(tried(fleet(8, [0, 6]), 'committedBots', 'finance')).toEqual([2]);
    expect(tried(fleet(8, [2, 0]), 'committedBots', 'finance')).toEqual([0, 4]);
  });

  test('committedBots is not tried, with a note saying why, when the capacity holds every group\'s maxBots at once', () => {
    const { candidates, notes } = whatIfCandidates(fleet(12));
    expect(candidates.filter((c) => c.setting === 'committedBots')).toEqual([]);
    expect(notes).toEqual(["committedBots is not tried: the capacity (12 bots) holds every group's maxBots at once (12), so committed bots change nothing."]);
  });

  test('applyWhatIf changes the capacity, or one group\'s committed bots, and nothing else', () => {
    const f = fleet(8);
    expect(applyWhatIf(f, { setting: 'botCapacity', from: 8, to: 6 })).toEqual({ ...f, capacity: 6 });
    const changed = applyWhatIf(f, { group: 'sales', setting: 'committedBots', from: 0, to: 2 });
    expect(changed.groups[1]).toEqual({ ...f.groups[1], committedBots: 2 });
    expect(changed.groups[0]).toBe(f.groups[0]);
  });
});

describe('runPlanner', () => {
  const DAY = Date.UTC(2026, 0, 5);
  // Finance floods 09:00-09:20 with 10-minute runs; sales has one run at 09:00.
  const trace: TraceRun[] = [
    ...Array.from({ length: 24 }, (_, i) => ({ at: DAY + 9 * 3600_000 + i * 50_000, group: 'finance', flow: 'f', durationSeconds: 600, priority: 'normal' as const })),
    { at: DAY + 9 * 3600_000 + 30_000, group: 'sales', flow: 'f', durationSeconds: 600, priority: 'normal' as const },
  ].sort((a, b) => a.at - b.at);
  const options = { seed: 1, boot: { medianSeconds: 240, sigma: 0, maxSeconds: 3600 } };

  test('every figure per month: bot-hours of a 1-day trace times 730/24, priced per group', () => {
    const r = runPlanner(trace, fleet(8), { ...options, whatIf: false, prices: { finance: { perHour: 0.5, currency: 'EUR', from: 'user' }, sales: { perHour: 1, currency: 'EUR', from: 'user' } } });
    const hours = (g: string) => r.declared.groups.find((x) => x.group === g)!.botMinutes.total / 60;
    expect(r.summary.traceDays).toBe(1);
    expect(r.summary.currency).toBe('EUR');
    expect(r.summary.groups.map((g) => [g.group, g.runs, g.botHoursPerMonth, g.costPerMonth])).toEqual([
      ['finance', 24, (hours('finance') * 730) / 24, ((hours('finance') * 730) / 24) * 0.5],
      ['sales', 1, (hours('sales') * 730) / 24, (hours('sales') * 730) / 24],
    ]);
    expect(r.summary.total.costPerMonth).toBeCloseTo(r.summary.groups[0].costPerMonth! + r.summary.groups[1].costPerMonth!, 9);
    expect(r.figures.costPerMonth).toBe(r.summary.total.costPerMonth);
    expect(r.summary.groups[0].p95).toBe(r.declared.groups[0].wait.p95);
  });

  test('a group without a price has no cost, and neither has the total', () => {
    const r = runPlanner(trace, fleet(8), { ...options, whatIf: false, prices: { finance: { perHour: 0.5, currency: 'EUR', from: 'user' } } });
    expect(r.summary.groups[1].costPerMonth).toBeUndefined();
    expect(r.summary.total.costPerMonth).toBeUndefined();
    expect(r.figures.costPerMonth).toBeUndefined();
  });

  test('halving the capacity of a flooded fleet is reported, with its month of bot-hours and cost', () => {
    const r = runPlanner(trace, fleet(8), { ...options, prices: { finance: { perHour: 0.5, currency: 'EUR', from: 'user' }, sales: { perHour: 0.5, currency: 'EUR', from: 'user' } } });
    const half = r.whatIfs.find((w) => w.setting === 'botCapacity' && w.to === 4)!;
    expect(half.group).toBeUndefined();
    expect(half.p95).toBeGreaterThan(r.figures.p95 * 1.1);
    expect(half.costPerMonth).toBeCloseTo(half.botHoursPerMonth * 0.5, 9);
  });
});
