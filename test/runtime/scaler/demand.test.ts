/** demand.ts: what each group wants, before the capacity is shared. */
import { groupDemand, warmUpWithinShare } from '../../../runtime/scaler/demand';
import { HistoryRecorder } from '../../../runtime/scaler/history';
import type { PlanScaling } from '../../../runtime/scaler/plan';
import { weightOf } from '../../../runtime/scaler/shares';
import { planBuilders } from '../../helpers/plan';

const DAY = 24 * 3600_000;
const MIN = 60_000;
/** Monday 12 January 2026, 10:05 UTC. */
const NOW = Date.UTC(2026, 0, 12, 10, 5);
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: false };
const ON = { enabled: true };
const { group, bots } = planBuilders({ now: NOW, maxBots: 5, createdAgoMs: MIN, stateAgoMs: MIN });

/** Four 10-minute runs arriving 5 minutes from now on each of the last 7 days. */
function busySoon(): HistoryRecorder {
  const h = new HistoryRecorder(NOW - 8 * DAY);
  for (let d = 1; d <= 7; d++) {
    const at = NOW - d * DAY + 5 * MIN;
    for (let i = 0; i < 4; i++) {
      h.arrival(at);
      h.busy(at, at + 10 * MIN);
    }
  }
  return h;
}

describe('groupDemand()', () => {
  test('an active group wants a bot per queued and running run, all of them runs', () => {
    const d = groupDemand(group('g', { queued: 2, running: 1 }), [], SCALING, ON, NOW);
    expect(d).toMatchObject({ desired: 3, runs: 3, busy: 0 });
    expect(d.forecast).toBeUndefined();
  });

  test('standby bots are wanted while the group is warm, beyond its runs, and not while it is cold', () => {
    expect(groupDemand(group('g', { queued: 1, lastActivityAt: NOW - 7 * 60 * MIN }), [], { ...SCALING, standbyBots: 2 }, ON, NOW)).toMatchObject({ desired: 3, runs: 1 });
    expect(groupDemand(group('g', { queued: 1, lastActivityAt: NOW - 9 * 60 * MIN }), [], { ...SCALING, standbyBots: 2 }, ON, NOW)).toMatchObject({ desired: 1, runs: 1 });
  });

  test('maxBots caps what the group wants, and its runs within it', () => {
    expect(groupDemand(group('g', { maxBots: 3, queued: 13 }), [], SCALING, ON, NOW)).toMatchObject({ desired: 3, runs: 3 });
  });

  test('a paused group wants its running runs; a disabled environment, a removed or expired group only their busy bots', () => {
    const busy = bots('g', 'busy', 1);
    expect(groupDemand(group('g', { status: 'paused', queued: 4, running: 2 }), busy, SCALING, ON, NOW)).toMatchObject({ desired: 2, busy: 1 });
    expect(groupDemand(group('g', { queued: 4, running: 2 }), busy, SCALING, { enabled: false }, NOW)).toMatchObject({ desired: 1 });
    expect(groupDemand(group('g', { status: 'expired', queued: 4 }), busy, SCALING, ON, NOW)).toMatchObject({ desired: 1 });
    expect(groupDemand(group('g', { status: 'removed' }), [], SCALING, ON, NOW)).toMatchObject({ desired: 0 });
  });

  test('with predictive warm-up, the forecast adds bots beyond the runs, capped by predictiveMaxBots', () => {
    const g = group('g', { queued: 1, history: busySoon() });
    const d = groupDemand(g, [], { ...SCALING, predictive: true }, ON, NOW);
    expect(d.forecast).toMatchObject({ bots: 4, warmBots: 3 });
    expect(d).toMatchObject({ desired: 4, runs: 1 });
    expect(groupDemand(g, [], { ...SCALING, predictive: true, predictiveMaxBots: 2 }, ON, NOW)).toMatchObject({ desired: 2, runs: 1 });
  });

  test('warm-up counts only bots beyond the runs within maxBots: 13 queued in a group of maxBots 3 leave it none', () => {
    const d = groupDemand(group('g', { maxBots: 3, queued: 13 }), [], { ...SCALING, predictive: true }, ON, NOW);
    expect(d.forecast?.warmBots).toBe(0);
    expect(d).toMatchObject({ desired: 3, runs: 3 });
  });

  test("the warm-up account's allowance caps the bots warm-up adds; standby stays", () => {
    const g = (warmUpAllowance: number) => group('g', { queued: 1, history: busySoon(), warmUpAllowance });
    expect(groupDemand(g(0), [], { ...SCALING, predictive: true }, ON, NOW)).toMatchObject({ desired: 1, forecast: { bots: 4, warmBots: 0 } });
    expect(groupDemand(g(2), [], { ...SCALING, predictive: true }, ON, NOW)).toMatchObject({ desired: 3, forecast: { warmBots: 2 } });
    expect(groupDemand(g(0), [], { ...SCALING, predictive: true, standbyBots: 1 }, ON, NOW)).toMatchObject({ desired: 2, forecast: { warmBots: 0 } });
  });

  test('the spare bot counts as warm-up, up to maxBots', () => {
    const spare = { ...SCALING, predictive: true, spareBot: true };
    const g = group('g', { maxBots: 5, queued: 1, history: busySoon() });
    expect(groupDemand(g, [], spare, ON, NOW).forecast).toMatchObject({ bots: 5, spare: 1, warmBots: 4 });
  });

  test('the weight is that of the runs and the wait of the oldest queued run, a stale wait ignored', () => {
    expect(groupDemand(group('g', { queued: 4, oldestQueuedAt: NOW - 10 * MIN }), [], SCALING, ON, NOW).weight).toBe(weightOf(4, NOW - 10 * MIN, NOW));
    expect(groupDemand(group('g', { running: 4, oldestQueuedAt: NOW - 10 * MIN }), [], SCALING, ON, NOW).weight).toBe(weightOf(4, undefined, NOW));
  });
});

describe('warmUpWithinShare()', () => {
  test("the warm-up bots the group's share leaves after its runs and standby", () => {
    const forecast = { bots: 4, expected: 4, pace: 1, days: 7, dayType: 'weekday' as const, sameDayType: true, arrivalChance: 1, spare: 0, warmBots: 3 };
    expect(warmUpWithinShare({ desired: 4, forecast }, 4)).toBe(3);
    expect(warmUpWithinShare({ desired: 4, forecast }, 2)).toBe(1);
    expect(warmUpWithinShare({ desired: 4, forecast }, 1)).toBe(0);
    expect(warmUpWithinShare({ desired: 4 }, 4)).toBe(0);
  });
});
