import { DAY_MS } from '../../../runtime/domain/history';
import { HistoryRecorder } from '../../../runtime/scaler/history';
import { fairShares, plan, PlanGroup, PlanScaling, PlanSnapshot, REBALANCE_SLACK, WAIT_WEIGHT_MINUTES, weightOf } from '../../../runtime/scaler/plan';
import { creates, deletes, planBuilders } from '../../helpers/plan';

const NOW = 10 * DAY_MS + 9 * 3600_000;
const MIN = 60_000;
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: false };

const { group, bots } = planBuilders({ now: NOW, maxBots: 16, createdAgoMs: 30 * MIN, stateAgoMs: 2 * MIN });

function run(snapshot: Partial<PlanSnapshot> & { groups: PlanGroup[] }, scaling: Readonly<Record<string, Partial<PlanScaling>>> = {}) {
  const full: PlanSnapshot = { capacity: 24, enabled: true, bots: [], ...snapshot };
  const settings = { groups: Object.fromEntries(full.groups.map((g) => [g.name, { ...SCALING, ...scaling[g.name] }])) };
  return plan(full, settings, NOW);
}

const entitlements = (p: ReturnType<typeof plan>) => Object.fromEntries(Object.entries(p.groups).map(([name, g]) => [name, g.entitlement]));

/** Six 10-minute runs that arrived in this slot on each of the last 7 days. */
function busyAtThisHour(): HistoryRecorder {
  const h = new HistoryRecorder(NOW - 8 * DAY_MS);
  for (let d = 1; d <= 7; d++) {
    const at = NOW - d * DAY_MS + 5 * MIN;
    for (let i = 0; i < 6; i++) {
      h.arrival(at);
      h.busy(at, at + 10 * MIN);
    }
  }
  return h;
}

describe('plan() shares the capacity by demand', () => {
  test('three groups with unequal queues get shares that grow with their queues, each at least one', () => {
    // 480 queued short runs, 23 queued long ones, 2 queued: equal shares would be 8 each.
    const p = run({ groups: [group('a', { queued: 480 }), group('b', { queued: 23 }), group('c', { queued: 2 })] });
    // a takes its maxBots; b and c share the other 8 as √23 to √2 (4.8 to 1.4).
    expect(entitlements(p)).toEqual({ a: 16, b: 6, c: 2 });
    expect(creates(p)).toEqual({ a: 16, b: 6, c: 2 });
    expect(p.capacityBound).toBe(true);
    // Claim limits: the share, plus the slack while runs wait, within maxBots.
    expect(p.groups.a.claimLimit).toBe(16);
    expect(p.groups.b.claimLimit).toBe(6 + REBALANCE_SLACK);
  });

  test('a small group whose runs wait still gets one bot when the capacity is far below the demand', () => {
    const p = run({ capacity: 8, groups: [group('a', { queued: 480 }), group('b', { queued: 23 }), group('c', { queued: 2 })] });
    expect(entitlements(p)).toEqual({ a: 6, b: 1, c: 1 });
    expect(p.groups.c.waiting).toEqual([{ code: 'provisioning', bots: 1 }, { code: 'fair_share', share: 1 }]);
  });

  test('running runs weigh as much as queued ones', () => {
    const p = run({ capacity: 8, groups: [group('a', { running: 6, queued: 3 }), group('b', { queued: 3 })], bots: bots('a', 'busy', 6) });
    // 9 runs against 3: weights √9 and √3, so 5 and 3 of 8.
    expect(entitlements(p)).toEqual({ a: 5, b: 3 });
    // a's six busy bots are not taken away: b gets the 2 free, and a's claim limit holds it at its
    // share and the slack.
    expect(creates(p)).toEqual({ b: 2 });
    expect(p.groups.a.claimLimit).toBe(5 + REBALANCE_SLACK);
  });

  test('with room for everyone, every group gets all it wants, as before', () => {
    const history = busyAtThisHour();
    const p = run(
      { groups: [group('a', { history }), group('b', { queued: 4 }), group('c', { lastActivityAt: NOW - MIN })], bots: bots('a', 'idle', 2) },
      { a: { predictive: true }, c: { standbyBots: 2 } },
    );
    expect(p.groups.a.desired).toBeGreaterThan(2);
    expect(p.capacityBound).toBe(false);
    for (const g of Object.values(p.groups)) expect(g.entitlement).toBe(g.desired);
    expect(p.groups.a.shares).toEqual({ runs: 0, warm: p.groups.a.desired });
    expect(p.groups.b.shares).toEqual({ runs: 4, warm: 0 });
    expect(p.groups.c.shares).toEqual({ runs: 0, warm: 2 });
    expect(deletes(p)).toEqual([]);
    expect(creates(p)).toEqual({ a: p.groups.a.desired - 2, b: 4, c: 2 });
    expect(p.groups.b.claimLimit).toBeUndefined();
  });

  test('committed bots still come first, however large the other queues', () => {
    const p = run({ capacity: 6, groups: [group('a', { committedBots: 4, queued: 4 }), group('b', { queued: 400 })] });
    expect(entitlements(p)).toEqual({ a: 4, b: 2 });
    expect(creates(p)).toEqual({ a: 4, b: 2 });
  });

  test('committed bots keep a group its standby bots while other groups queue', () => {
    const p = run({ capacity: 6, groups: [group('a', { committedBots: 2 }), group('b', { queued: 400 })] }, { a: { standbyBots: 2 } });
    expect(p.groups.a.shares).toEqual({ runs: 0, warm: 2 });
    expect(p.groups.b.shares).toEqual({ runs: 4, warm: 0 });
  });
});

describe('plan() weighs how long runs have waited', () => {
  test('the weight is the square root of the runs, doubled for each WAIT_WEIGHT_MINUTES the oldest queued run waited', () => {
    expect(weightOf(9, undefined, NOW)).toBe(3);
    expect(weightOf(0, undefined, NOW)).toBe(1);
    expect(weightOf(9, NOW - WAIT_WEIGHT_MINUTES * MIN, NOW)).toBe(6);
    expect(weightOf(4, NOW - 3 * WAIT_WEIGHT_MINUTES * MIN, NOW)).toBe(8);
    // A clock set back never makes a wait negative.
    expect(weightOf(4, NOW + 5 * MIN, NOW)).toBe(2);
  });

  test('of two groups with equal queues, the one whose runs have waited longer gets more bots', () => {
    // Few long runs waiting 30 minutes against as many short ones just queued.
    const p = run({ capacity: 12, groups: [group('batch', { queued: 10, oldestQueuedAt: NOW - 30 * MIN }), group('quick', { queued: 10, oldestQueuedAt: NOW - MIN })] });
    expect(p.groups.batch.entitlement).toBeGreaterThan(p.groups.quick.entitlement);
    expect(entitlements(p)).toEqual({ batch: 9, quick: 3 });
    // Without the waits, the same queues share evenly.
    const even = run({ capacity: 12, groups: [group('batch', { queued: 10 }), group('quick', { queued: 10 })] });
    expect(entitlements(even)).toEqual({ batch: 6, quick: 6 });
  });

  test('a group with no queued run is not weighed by a stale wait', () => {
    const p = run({ capacity: 8, groups: [group('a', { running: 4, oldestQueuedAt: NOW - 60 * MIN }), group('b', { queued: 4 })] });
    expect(entitlements(p)).toEqual({ a: 4, b: 4 });
  });
});

describe('plan(): a forecast never holds capacity that queued runs need', () => {
  test("a group's idle warm bots are released at once for another group's queued runs", () => {
    const history = busyAtThisHour();
    const warm = bots('a', 'idle', 6);
    const p = run(
      { capacity: 10, groups: [group('a', { maxBots: 10, history }), group('b', { maxBots: 10, queued: 8, running: 4 })], bots: [...warm, ...bots('b', 'busy', 4)] },
      { a: { predictive: true } },
    );
    expect(p.groups.a.forecast?.warmBots).toBeGreaterThan(0);
    expect(p.groups.a.shares).toEqual({ runs: 0, warm: 0 });
    expect(p.groups.b.shares).toEqual({ runs: 10, warm: 0 });
    expect(deletes(p, 'rebalance').sort()).toEqual(warm.map((b) => b.id).sort());
    // The freed capacity is b's as soon as ARM confirms the deletes.
    expect(creates(p)).toEqual({});
    expect(p.groups.b.waiting).toEqual([{ code: 'capacity_in_use', capacity: 10 }]);
  });

  test('warm-up gets only what the runs leave, and may claim no more than that', () => {
    const history = busyAtThisHour();
    const p = run(
      { capacity: 10, groups: [group('a', { maxBots: 10, history }), group('b', { maxBots: 10, queued: 6 })], bots: bots('a', 'idle', 6) },
      { a: { predictive: true } },
    );
    expect(p.groups.a.desired).toBeGreaterThanOrEqual(6);
    expect(p.groups.a.shares).toEqual({ runs: 0, warm: 4 });
    expect(p.groups.b.shares).toEqual({ runs: 6, warm: 0 });
    expect(deletes(p, 'rebalance')).toHaveLength(2);
    expect(creates(p)).toEqual({ b: 4 });
    expect(p.groups.a.claimLimit).toBe(4);
  });

  test('idle bots above their share go at once when queued runs lack room, even without contention, as many as the runs lack', () => {
    // a's bots were warmed for demand that did not come; b's runs fit in the capacity, not beside them.
    const idle = bots('a', 'idle', 6);
    const p = run({ capacity: 10, groups: [group('a', { maxBots: 10 }), group('b', { maxBots: 10, queued: 8 })], bots: idle });
    expect(p.capacityBound).toBe(false);
    // b lacks 8 bots and 4 are free: 4 of a's idle bots go, the other 2 wait for their idle time-out.
    expect(deletes(p, 'rebalance')).toHaveLength(4);
    expect(creates(p)).toEqual({ b: 4 });
  });

  test('bots already being deleted count towards the shortfall: no more go for it', () => {
    // The last plan deleted 4 of a's idle bots for b's runs; ARM has not confirmed yet.
    const p = run({ capacity: 10, groups: [group('a', { maxBots: 10 }), group('b', { maxBots: 10, queued: 8 })], bots: [...bots('a', 'deleting', 4), ...bots('a', 'idle', 2)] });
    expect(deletes(p)).toEqual([]);
    expect(creates(p)).toEqual({ b: 4 });
  });

  test('idle bots its own queued runs will claim stay; only those beyond go for the shortfall', () => {
    const idle = bots('a', 'idle', 6);
    const p = run({ capacity: 10, groups: [group('a', { maxBots: 10, queued: 2 }), group('b', { maxBots: 10, queued: 8 })], bots: idle });
    expect(p.capacityBound).toBe(false);
    // b lacks 8 and 4 are free: 4 go, and the 2 that a's own queued runs claim stay.
    expect(deletes(p, 'rebalance')).toHaveLength(4);
    expect(deletes(p)).toHaveLength(4);
  });

  test('when the free capacity covers the queued runs, idle bots wait for their idle time-out', () => {
    const p = run({ capacity: 10, groups: [group('a', { maxBots: 10 }), group('b', { maxBots: 10, queued: 4 })], bots: bots('a', 'idle', 6) });
    expect(deletes(p)).toEqual([]);
    expect(creates(p)).toEqual({ b: 4 });
  });

  test('new bots go to runs before standby bots when the free capacity is short', () => {
    // c's bots being deleted leave 5 free: b's 3 runs first, then 2 of a's 4 standby bots.
    const p = run(
      { capacity: 10, groups: [group('a'), group('b', { queued: 3 }), group('c')], bots: bots('c', 'deleting', 5) },
      { a: { standbyBots: 4 } },
    );
    expect(p.capacityBound).toBe(false);
    expect(creates(p)).toEqual({ a: 2, b: 3 });
  });
});

describe('fairShares() with weights', () => {
  test('shares grow in proportion to the weights, rounded to the nearest whole bot', () => {
    expect(fairShares(12, [{ name: 'a', want: 12, weight: 3 }, { name: 'b', want: 12, weight: 1 }])).toEqual({ a: 9, b: 3 });
    // 7.5 and 2.5: the half bot goes to the group holding fewer.
    expect(fairShares(10, [{ name: 'a', want: 10, weight: 3 }, { name: 'b', want: 10, weight: 1 }])).toEqual({ a: 7, b: 3 });
    expect(fairShares(8, [{ name: 'b', want: 16, weight: 23 }, { name: 'c', want: 16, weight: 2 }])).toEqual({ b: 7, c: 1 });
  });

  test('a group that reaches its want leaves the rest to the others', () => {
    expect(fairShares(10, [{ name: 'a', want: 2, weight: 9 }, { name: 'b', want: 10, weight: 1 }])).toEqual({ a: 2, b: 8 });
  });

  test('a floor gives every group one bot first, the largest weights first when the pool is short', () => {
    const wants = [
      { name: 'a', want: 16, weight: 480, floor: true },
      { name: 'b', want: 16, weight: 23, floor: true },
      { name: 'c', want: 2, weight: 2, floor: true },
    ];
    expect(fairShares(3, wants)).toEqual({ a: 1, b: 1, c: 1 });
    expect(fairShares(2, wants)).toEqual({ a: 1, b: 1, c: 0 });
    expect(fairShares(3, wants.map((w) => ({ ...w, floor: false })))).toEqual({ a: 3, b: 0, c: 0 });
  });

  test('a group already holding bots outside the pool gets no floor', () => {
    expect(fairShares(2, [{ name: 'a', want: 5, weight: 10, floor: true }, { name: 'b', want: 5, weight: 1, floor: true, base: 2 }])).toEqual({ a: 2, b: 0 });
  });

  test('ties go to the first name, whatever the order given', () => {
    expect(fairShares(1, [{ name: 'b', want: 1 }, { name: 'a', want: 1 }])).toEqual({ a: 1, b: 0 });
    expect(fairShares(3, [{ name: 'b', want: 5, weight: 2 }, { name: 'a', want: 5, weight: 2 }])).toEqual({ a: 2, b: 1 });
  });

  test('a weight that is not a positive number is refused, naming the group and the value', () => {
    expect(() => fairShares(1, [{ name: 'a', want: 1, weight: 0 }])).toThrow('fairShares: the weight of group "a" must be a positive finite number, got 0');
    expect(() => fairShares(1, [{ name: 'a', want: 1, weight: Number.NaN }])).toThrow(/group "a" .* got NaN/);
  });
});
