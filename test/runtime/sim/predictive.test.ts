/** Predictive warm-up, end to end in the simulator: plan() learns a daily pattern from its history. */
import { PlanScaling } from '../../../runtime/scaler/plan';
import { oursPolicy } from '../../../runtime/sim/policies';
import { Policy, PolicyView, simulate, SimFleet } from '../../../runtime/sim/simulate';
import { TraceRun } from '../../../runtime/sim/trace';

const DAY_MS = 24 * 3600_000;
const DAY1 = Date.UTC(2026, 0, 5);
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: true, predictiveLeadMinutes: 15, spareBot: true };

/** Two days, each with a burst at 9:00: 40 runs of 10 minutes over 20 minutes, and nothing else. */
function dailyBurst(): TraceRun[] {
  const runs: TraceRun[] = [];
  for (const day of [0, 1]) {
    for (let i = 0; i < 40; i++) runs.push({ at: DAY1 + day * DAY_MS + 9 * 3600_000 + i * 30_000, group: 'g', flow: 'f', durationSeconds: 600, priority: 'normal' });
  }
  return runs;
}

/** Wraps a policy to record the bots that are ready (idle) at 08:59 each day; simulate it with everyTick, so it is asked then. */
function watching(policy: Policy, ready: Record<number, number>): Policy {
  return {
    ...policy,
    decide(view: PolicyView, now: number) {
      const clock = now % DAY_MS;
      if (clock === (8 * 60 + 59) * 60_000) ready[Math.floor((now - DAY1) / DAY_MS) + 1] = view.bots.filter((b) => b.state === 'idle').length;
      return policy.decide(view, now);
    },
  };
}

const fleet = (scaling: PlanScaling): SimFleet => ({ capacity: 30, groups: [{ name: 'g', maxBots: 30, committedBots: 0, scaling }] });

test('warm bots are ready before the 9:00 burst on day 2, and not on day 1', () => {
  const ready: Record<number, number> = {};
  simulate(dailyBurst(), fleet(SCALING), watching(oursPolicy(), ready), { seed: 4, everyTick: true });
  expect(ready[1]).toBe(0);
  // Day 1 ran about 20 bots at once during the burst (40 runs × 10 min over 20 min).
  expect(ready[2]).toBeGreaterThanOrEqual(15);
});

test('with predictive off, nothing is ready on day 2 either', () => {
  const ready: Record<number, number> = {};
  simulate(dailyBurst(), fleet({ ...SCALING, predictive: false }), watching(oursPolicy(), ready), { seed: 4, everyTick: true });
  expect(ready).toEqual({ 1: 0, 2: 0 });
});

test('the cost cap bounds the bots started ahead of demand', () => {
  const ready: Record<number, number> = {};
  simulate(dailyBurst(), fleet({ ...SCALING, predictiveMaxBots: 5 }), watching(oursPolicy(), ready), { seed: 4, everyTick: true });
  expect(ready[2]).toBe(5);
});

test('day 2 burst waits less than day 1 burst', () => {
  const trace = dailyBurst();
  const day1 = simulate(trace.slice(0, 40), fleet(SCALING), oursPolicy(), { seed: 4 });
  const both = simulate(trace, fleet(SCALING), oursPolicy(), { seed: 4 });
  // Mean wait over both days is well under day 1's alone: day 2 hardly waits.
  expect(both.total.wait.mean).toBeLessThan(day1.total.wait.mean * 0.75);
});

test("the fleet's time zone reaches the forecast: a Saturday morning in Tokyo is not warmed from the weekdays' bursts", () => {
  // One run on Friday 2 January, then 40 runs of 10 minutes at 23:30 UTC on Monday 5 to Friday 9
  // January: 8:30 from Tuesday to Saturday in Tokyo.
  const runs: TraceRun[] = [{ at: Date.UTC(2026, 0, 2, 0, 0), group: 'g', flow: 'f', durationSeconds: 600, priority: 'normal' }];
  for (const day of [5, 6, 7, 8, 9]) for (let i = 0; i < 40; i++) runs.push({ at: Date.UTC(2026, 0, day, 23, 30) + i * 15_000, group: 'g', flow: 'f', durationSeconds: 600, priority: 'normal' });
  const readyAt = (timeZone?: string) => {
    let ready = -1;
    const policy = oursPolicy();
    simulate(runs, { ...fleet(SCALING), ...(timeZone ? { timeZone } : {}) }, {
      ...policy,
      decide(view: PolicyView, now: number) {
        if (now === Date.UTC(2026, 0, 9, 23, 29)) ready = view.bots.filter((b) => b.state === 'idle').length;
        return policy.decide(view, now);
      },
    }, { seed: 4, everyTick: true });
    return ready;
  };
  // In UTC it is Friday, and Monday to Thursday had the burst at this time.
  expect(readyAt()).toBeGreaterThanOrEqual(15);
  // In Tokyo it is Saturday, and the past weekend had none.
  expect(readyAt('Asia/Tokyo')).toBe(0);
});
