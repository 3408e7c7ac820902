import { EARLY_IDLE_MINUTES, fairShares, plan, PlanGroup, PlanScaling, PlanSnapshot, REBALANCE_SLACK } from '../../../runtime/scaler/plan';
import { creates, deletes, planBuilders } from '../../helpers/plan';
import { HistoryRecorder } from '../../../runtime/scaler/history';

const NOW = 10 * 24 * 3600_000;
const MIN = 60_000;
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: true };

const { group, bots } = planBuilders({ now: NOW, maxBots: 5, createdAgoMs: MIN, stateAgoMs: MIN });

function run(snapshot: Partial<PlanSnapshot> & { groups: PlanGroup[] }, scaling: Partial<PlanScaling> = {}) {
  const full: PlanSnapshot = { capacity: 10, enabled: true, bots: [], ...snapshot };
  const settings = { groups: Object.fromEntries(full.groups.map((g) => [g.name, { ...SCALING, ...scaling }])) };
  return plan(full, settings, NOW);
}


describe('plan()', () => {
  test('2 idle bots and 5 runs arriving in a group of maxBots 5: 3 bots are created', () => {
    const p = run({ groups: [group('g', { queued: 5 })], bots: bots('g', 'idle', 2) });
    expect(creates(p)).toEqual({ g: 3 });
    expect(deletes(p)).toEqual([]);
  });

  test('runs already started count as demand', () => {
    const p = run({ groups: [group('g', { queued: 3, running: 2 })], bots: bots('g', 'busy', 2) });
    expect(creates(p)).toEqual({ g: 3 });
  });

  test('never beyond maxBots, counting provisioning bots', () => {
    const p = run({ groups: [group('g', { maxBots: 3, queued: 9 })], bots: bots('g', 'provisioning', 3) });
    expect(creates(p)).toEqual({});
    expect(p.groups.g.waiting).toEqual([{ code: 'provisioning', bots: 3 }, { code: 'group_at_max_bots', maxBots: 3 }]);
  });

  test('bots being deleted still count against the capacity', () => {
    const p = run({ capacity: 4, groups: [group('a', { queued: 4 }), group('b')], bots: bots('b', 'deleting', 3) });
    expect(creates(p)).toEqual({ a: 1 });
  });

  test('failed bots count against maxBots until deleted', () => {
    const p = run({ groups: [group('g', { maxBots: 2, queued: 2 })], bots: bots('g', 'failed', 1) });
    expect(creates(p)).toEqual({ g: 1 });
    expect(deletes(p, 'failed')).toHaveLength(1);
  });

  test('two groups with long queues share the capacity fairly', () => {
    const p = run({ capacity: 4, groups: [group('a', { queued: 20 }), group('b', { queued: 20 })] });
    expect(creates(p)).toEqual({ a: 2, b: 2 });
    expect(p.capacityBound).toBe(true);
  });

  test('committed bots come first, the rest is shared', () => {
    const p = run({ capacity: 6, groups: [group('a', { committedBots: 3, maxBots: 10, queued: 20 }), group('b', { maxBots: 10, queued: 20 })] });
    // 3 committed to a; the 3 shared bots split as fairly as whole bots allow, the odd one to b.
    expect(p.groups.a.entitlement).toBe(4);
    expect(p.groups.b.entitlement).toBe(2);
    expect(creates(p)).toEqual({ a: 4, b: 2 });
  });

  test('a committed group gets its committed bots even when another group holds the rest', () => {
    const p = run({ capacity: 4, groups: [group('a', { committedBots: 2, queued: 5 }), group('b', { queued: 5 })], bots: bots('b', 'busy', 2) });
    expect(creates(p)).toEqual({ a: 2 });
  });

  test('fair shares are capped by maxBots and the rest goes to others', () => {
    const p = run({ capacity: 8, groups: [group('a', { maxBots: 2, queued: 10 }), group('b', { maxBots: 10, queued: 10 })] });
    expect(creates(p)).toEqual({ a: 2, b: 6 });
  });

  test('the sum of created and live bots never exceeds the capacity', () => {
    const p = run({ capacity: 5, groups: [group('a', { queued: 9 }), group('b', { queued: 9 }), group('c', { queued: 9 })], bots: bots('c', 'busy', 2) });
    const total = Object.values(creates(p)).reduce((s, n) => s + n, 0);
    expect(total + 2).toBeLessThanOrEqual(5);
  });

  test('an idle bot is deleted after idleMinutes, a busy one never', () => {
    const old = bots('g', 'idle', 1, { stateChangedAt: NOW - 11 * MIN });
    const fresh = bots('g', 'idle', 1, { stateChangedAt: NOW - 2 * MIN });
    const busy = bots('g', 'busy', 1, { stateChangedAt: NOW - 600 * MIN });
    const p = run({ groups: [group('g', { running: 1 })], bots: [...old, ...fresh, ...busy] });
    expect(deletes(p, 'idle')).toEqual([old[0].id]);
    expect(p.actions.find((a) => a.kind === 'delete')).toMatchObject({ from: ['idle'] });
  });

  test('a bot that misses its boot time-out is marked failed', () => {
    const late = bots('g', 'provisioning', 1, { createdAt: NOW - 31 * MIN });
    const p = run({ groups: [group('g', { queued: 1 })], bots: late });
    expect(p.actions).toContainEqual({ kind: 'fail', group: 'g', botIds: [late[0].id], reason: 'boot_timeout' });
    expect(creates(p)).toEqual({ g: 1 });
  });

  test('standby bots are kept warm while the group is in use, and go when it is cold', () => {
    const idle = bots('g', 'idle', 1, { stateChangedAt: NOW - 60 * MIN });
    expect(deletes(run({ groups: [group('g', { lastActivityAt: NOW - 60 * MIN })], bots: idle }, { standbyBots: 1 }))).toEqual([]);
    expect(creates(run({ groups: [group('g', { lastActivityAt: NOW - 60 * MIN })] }, { standbyBots: 1 }))).toEqual({ g: 1 });
    expect(deletes(run({ groups: [group('g', { lastActivityAt: NOW - 9 * 60 * MIN })], bots: idle }, { standbyBots: 1 }))).toEqual([idle[0].id]);
  });

  test('while capacity is contended, an over-share group gets a claim limit and its idle bots go at once', () => {
    const aBusy = bots('a', 'busy', 3);
    const aIdle = bots('a', 'idle', 1, { stateChangedAt: NOW - 1000 });
    // a has no queued runs, so no slack: its claim limit is its share, and its idle bot goes.
    const p = run({ capacity: 4, groups: [group('a', { running: 3 }), group('b', { queued: 8 })], bots: [...aBusy, ...aIdle] });
    expect(p.groups.a.entitlement).toBe(2);
    expect(p.groups.a.claimLimit).toBe(2);
    expect(deletes(p, 'rebalance')).toEqual([aIdle[0].id]);
    expect(creates(p)).toEqual({});
    expect(p.groups.b.waiting).toEqual([{ code: 'capacity_in_use', capacity: 4 }]);
  });

  test('an over-share group whose runs wait keeps REBALANCE_SLACK bots above its share, and no more', () => {
    const aIdle = bots('a', 'idle', 6, { stateChangedAt: NOW - 1000 });
    const p = run({ capacity: 8, groups: [group('a', { maxBots: 8, queued: 10, running: 2 }), group('b', { maxBots: 8, queued: 10 })], bots: [...bots('a', 'busy', 2), ...aIdle] });
    expect(p.groups.a.entitlement).toBe(4);
    expect(p.groups.a.claimLimit).toBe(4 + REBALANCE_SLACK);
    // 8 serving against a share of 4 and the slack of 2: the 2 idle bots beyond them go.
    expect(deletes(p, 'rebalance')).toHaveLength(8 - 4 - REBALANCE_SLACK);
  });

  test('a share under twice the slack gets no slack: a small fleet is shared plainly', () => {
    const idle = bots('a', 'idle', 1, { stateChangedAt: NOW - 1000 });
    const p = run({ capacity: 4, groups: [group('a', { maxBots: 3, queued: 5, running: 2 }), group('b', { maxBots: 3, queued: 5 })], bots: [...bots('a', 'busy', 2), ...idle] });
    expect(p.groups.a.entitlement).toBe(2);
    expect(p.groups.a.claimLimit).toBe(2);
    expect(deletes(p, 'rebalance')).toEqual([idle[0].id]);
  });

  test('the slack never takes a group beyond its maxBots', () => {
    const p = run({ capacity: 8, groups: [group('a', { maxBots: 5, queued: 10, running: 4 }), group('b', { maxBots: 8, queued: 10 })], bots: bots('a', 'busy', 4) });
    expect(p.groups.a.entitlement).toBe(4);
    expect(p.groups.a.claimLimit).toBe(5);
  });

  test('without contention there is no claim limit', () => {
    expect(run({ groups: [group('a', { queued: 1 })] }).groups.a.claimLimit).toBeUndefined();
  });

  test('a disabled environment keeps busy bots, deletes idle ones and creates none', () => {
    const p = run({ enabled: false, groups: [group('g', { queued: 3, running: 1 })], bots: [...bots('g', 'busy', 1), ...bots('g', 'idle', 2)] });
    expect(deletes(p, 'disabled')).toHaveLength(2);
    expect(creates(p)).toEqual({});
    expect(p.groups.g.waiting).toEqual([{ code: 'environment_disabled' }]);
  });

  test('a paused group starts nothing new and says so', () => {
    const p = run({ groups: [group('g', { status: 'paused', queued: 3 })] });
    expect(creates(p)).toEqual({});
    expect(p.groups.g.waiting).toEqual([{ code: 'group_paused' }]);
  });

  test('a removed or expired group releases its idle bots', () => {
    expect(deletes(run({ groups: [group('g', { status: 'removed' })], bots: bots('g', 'idle', 2) }), 'removed')).toHaveLength(2);
    expect(deletes(run({ groups: [group('g', { status: 'expired' })], bots: bots('g', 'idle', 1) }), 'expired')).toHaveLength(1);
  });

  test('a group backing off after ARM errors creates nothing until the back-off ends', () => {
    const p = run({ groups: [group('g', { queued: 2, backoffUntil: NOW + 5000 })] });
    expect(creates(p)).toEqual({});
    expect(p.groups.g.waiting).toEqual([{ code: 'backoff', until: NOW + 5000 }]);
  });

  test('idle bots on an old image are replaced, busy ones finish first', () => {
    const p = run({ groups: [group('g', { running: 1, imageKey: 'img-v2' })], bots: [...bots('g', 'idle', 1), ...bots('g', 'busy', 1)] });
    expect(deletes(p, 'outdated')).toHaveLength(1);
  });

  test('bots past recycleAfterRuns are replaced when idle', () => {
    const p = run({ groups: [group('g')], bots: bots('g', 'idle', 1, { runsCompleted: 5 }) }, { recycleAfterRuns: 5 });
    expect(deletes(p, 'recycle')).toHaveLength(1);
  });

  test('is pure: the same input gives the same plan', () => {
    const snapshot: PlanSnapshot = { capacity: 4, enabled: true, groups: [group('a', { queued: 3 }), group('b', { queued: 3 })], bots: bots('a', 'idle', 1) };
    const settings = { groups: { a: SCALING, b: SCALING } };
    expect(plan(snapshot, settings, NOW)).toEqual(plan(snapshot, settings, NOW));
  });
});

describe('fairShares()', () => {
  test('splits evenly and gives leftovers to the smaller holders', () => {
    expect(fairShares(5, [{ name: 'a', want: 10 }, { name: 'b', want: 10 }])).toEqual({ a: 3, b: 2 });
    expect(fairShares(1, [{ name: 'a', want: 10, base: 3 }, { name: 'b', want: 10 }])).toEqual({ a: 0, b: 1 });
  });

  test('a small demand is met in full and the rest goes to the others', () => {
    expect(fairShares(10, [{ name: 'a', want: 1 }, { name: 'b', want: 20 }, { name: 'c', want: 20 }])).toEqual({ a: 1, b: 5, c: 4 });
  });
});

describe('plan() rebalancing', () => {
  test('an over-share group keeps idle bots that can still take its queued runs within its claim limit', () => {
    // finance got 3 bots before sales asked; with equal queues its share is now 2, but none of its bots is busy yet.
    const p = run({ capacity: 4, groups: [group('finance', { maxBots: 3, queued: 6 }), group('sales', { maxBots: 2, queued: 6 })], bots: [...bots('finance', 'idle', 1), ...bots('finance', 'provisioning', 2), ...bots('sales', 'provisioning', 1)] });
    expect(p.groups.finance.entitlement).toBe(2);
    expect(deletes(p)).toEqual([]);
  });

  test('once its share and the slack are busy, its next idle bot goes to make room', () => {
    const idle = bots('finance', 'idle', 1);
    const p = run({ capacity: 6, groups: [group('finance', { maxBots: 6, queued: 4, running: 4 }), group('sales', { maxBots: 6, queued: 20, running: 1 })], bots: [...bots('finance', 'busy', 4), ...idle, ...bots('sales', 'busy', 1)] });
    expect(p.groups.finance.entitlement + REBALANCE_SLACK).toBe(4);
    expect(deletes(p, 'rebalance')).toEqual([idle[0].id]);
  });
});

describe('plan() says why it rebalances', () => {
  test("a group at maxBots during a rebalance waits on the share it is held to, and its idle bot goes to the group that is short", () => {
    const idle = bots('finance', 'idle', 1);
    const p = run({
      capacity: 6,
      groups: [group('finance', { maxBots: 4, queued: 4, running: 3 }), group('sales', { maxBots: 6, queued: 6, running: 2 })],
      bots: [...bots('finance', 'busy', 3), ...idle, ...bots('sales', 'busy', 2)],
    });
    expect(p.groups.finance.claimLimit).toBe(3);
    expect(p.groups.finance.waiting).toEqual([{ code: 'fair_share', share: 3, others: ['sales'] }]);
    expect(p.actions).toContainEqual({ kind: 'delete', group: 'finance', botIds: [idle[0].id], reason: 'rebalance', from: ['idle'], share: 3, to: ['sales'] });
  });

  test('a group at maxBots with no claim limit below it is at maxBots', () => {
    const p = run({ capacity: 20, groups: [group('finance', { maxBots: 4, queued: 4, running: 4 })], bots: bots('finance', 'busy', 4) });
    expect(p.groups.finance.waiting).toEqual([{ code: 'group_at_max_bots', maxBots: 4 }]);
  });
});

describe('plan() after a deploy lowered the limits', () => {
  test('maxBots below the bots that exist: idle excess goes now, busy bots finish, and claims are capped', () => {
    const idle = bots('g', 'idle', 2, { stateChangedAt: NOW - 1000 });
    const p = run({ groups: [group('g', { maxBots: 2, queued: 10, running: 3 })], bots: [...bots('g', 'busy', 3), ...idle] });
    expect(deletes(p, 'rebalance').sort()).toEqual(idle.map((b) => b.id).sort());
    expect(p.groups.g.claimLimit).toBe(2);
    expect(creates(p)).toEqual({});
  });

  test('capacity below the bots that exist: the excess idle bots go as they become idle', () => {
    const idle = bots('a', 'idle', 1, { stateChangedAt: NOW - 1000 });
    const p = run({ capacity: 3, groups: [group('a', { running: 3 }), group('b', { running: 1 })], bots: [...bots('a', 'busy', 3), ...idle, ...bots('b', 'busy', 1)] });
    expect(deletes(p)).toEqual([idle[0].id]);
    expect(p.groups.a.claimLimit).toBeDefined();
  });
});

describe('plan() with predictive warm-up', () => {
  const DAY = 24 * 3600_000;
  /** Monday 12 January 2026, 10:05 UTC. */
  const MONDAY = Date.UTC(2026, 0, 12, 10, 5);

  /** A 4-minute run every `everyMinutes` at 3 past, on the 7 days before `now` and today so far. */
  function sparseHistory(now: number, everyMinutes: number): HistoryRecorder {
    const h = new HistoryRecorder(now - 8 * DAY);
    for (let t = now - 7 * DAY - 10 * 3600_000 + 3 * MIN; t < now; t += everyMinutes * MIN) {
      h.arrival(t);
      h.busy(t, t + 4 * MIN);
    }
    return h;
  }

  const predictive = (snapshot: Partial<PlanSnapshot> & { groups: PlanGroup[] }, scaling: Partial<PlanScaling> = {}, now = MONDAY) => {
    const full: PlanSnapshot = { capacity: 10, enabled: true, bots: [], ...snapshot };
    return plan(full, { groups: Object.fromEntries(full.groups.map((g) => [g.name, { ...SCALING, predictive: true, ...scaling }])) }, now);
  };

  test('a sparse group (a run every half hour, lead 15 minutes) keeps 1 bot with spareBot on and 0 with it off', () => {
    const g = group('g', { lastActivityAt: MONDAY - 20 * MIN, history: sparseHistory(MONDAY, 30) });
    const on = predictive({ groups: [g] });
    expect(creates(on)).toEqual({ g: 1 });
    expect(on.groups.g.forecast).toMatchObject({ spare: 1, bots: 1, warmBots: 1 });
    const off = predictive({ groups: [g] }, { spareBot: false });
    expect(creates(off)).toEqual({});
    expect(off.groups.g.forecast).toMatchObject({ spare: 0, bots: 0, warmBots: 0 });
  });

  test('the spare bot stays idle past idleMinutes while an arrival is likely', () => {
    const g = group('g', { lastActivityAt: MONDAY - 20 * MIN, history: sparseHistory(MONDAY, 30) });
    const idle = bots('g', 'idle', 1, { stateChangedAt: MONDAY - 20 * MIN });
    expect(deletes(predictive({ groups: [g], bots: idle }))).toEqual([]);
    expect(deletes(predictive({ groups: [g], bots: idle }, { spareBot: false }), 'idle')).toEqual([idle[0].id]);
  });

  test('the spare bot is a learned standby: one bot ready beyond the runs queued and running, even above the forecast', () => {
    const g = group('g', { lastActivityAt: MONDAY - MIN, queued: 0, running: 3, history: sparseHistory(MONDAY, 30) });
    const busy = bots('g', 'busy', 3);
    const on = predictive({ groups: [g], bots: busy });
    expect(on.groups.g.desired).toBe(4);
    expect(creates(on)).toEqual({ g: 1 });
    expect(creates(predictive({ groups: [g], bots: busy }, { spareBot: false }))).toEqual({});
  });

  test('the spare bot does not add to a standby that already keeps a bot ready', () => {
    const g = group('g', { lastActivityAt: MONDAY - MIN, queued: 0, running: 3, history: sparseHistory(MONDAY, 30) });
    expect(predictive({ groups: [g], bots: bots('g', 'busy', 3) }, { standbyBots: 1 }).groups.g.desired).toBe(4);
  });

  test('a group with a run every 6 hours keeps no spare bot', () => {
    const g = group('g', { lastActivityAt: MONDAY - 20 * MIN, history: sparseHistory(MONDAY, 6 * 60) });
    const p = predictive({ groups: [g] });
    expect(creates(p)).toEqual({});
    expect(p.groups.g.forecast?.spare).toBe(0);
  });

  test("the forecast reads days in the snapshot's time zone", () => {
    // Weekday mornings at 9:00 in Tokyo (0:00 UTC), Monday 5 to Friday 9 January: 20 runs of 10 minutes.
    const h = new HistoryRecorder(Date.UTC(2026, 0, 2));
    for (let day = 5; day <= 9; day++) {
      const t = Date.UTC(2026, 0, day);
      for (let i = 0; i < 20; i++) {
        h.arrival(t);
        h.busy(t, t + 10 * MIN);
      }
    }
    // Friday 9 January, 23:50 UTC: Saturday 8:50 in Tokyo.
    const now = Date.UTC(2026, 0, 9, 23, 50);
    const g = group('g', { maxBots: 30, lastActivityAt: now - 60 * MIN, history: h });
    expect(predictive({ capacity: 30, groups: [g] }, { spareBot: false }, now).groups.g.forecast).toMatchObject({ dayType: 'weekday', bots: 20 });
    const tokyo = predictive({ capacity: 30, groups: [g], timeZone: 'Asia/Tokyo' }, { spareBot: false }, now);
    expect(tokyo.groups.g.forecast).toMatchObject({ dayType: 'weekend', bots: 0 });
    expect(creates(tokyo)).toEqual({});
  });
});

describe('plan(): idle bots left over from a burst', () => {
  const SLOT = 10 * MIN;
  /** Since `hours` ago: `perSlot` arrivals in each 10-minute slot, and `burst` more in the latest whole slot. */
  function recentHistory(hours: number, perSlot: number, burst = 0): HistoryRecorder {
    const h = new HistoryRecorder(NOW - hours * 60 * MIN);
    for (let slot = NOW - hours * 60 * MIN; slot < NOW; slot += SLOT) h.arrival(slot + MIN, perSlot);
    if (burst) h.arrival(NOW - SLOT + MIN, burst);
    return h;
  }
  const leftovers = (idleMinutes: number) =>
    Array.from({ length: 8 }, (_, i) => bots('g', 'idle', 1, { stateChangedAt: NOW - idleMinutes * MIN - i * 1000 })[0]);

  test('with predictive warm-up, idle bots beyond the likely reuse go after EARLY_IDLE_MINUTES, the longest idle first', () => {
    // One arrival a slot: within idleMinutes (10) the median count is 1, so one idle bot stays.
    const idle = leftovers(EARLY_IDLE_MINUTES + 1);
    const p = run({ groups: [group('g', { maxBots: 8, history: recentHistory(2, 1) })], bots: idle }, { predictive: true, spareBot: false });
    expect(deletes(p, 'idle').sort()).toEqual(idle.slice(1).map((b) => b.id).sort());
  });

  test('a burst in the trailing window is not taken for the rate that follows it', () => {
    const idle = leftovers(EARLY_IDLE_MINUTES + 1);
    const p = run({ groups: [group('g', { maxBots: 8, history: recentHistory(2, 1, 30) })], bots: idle }, { predictive: true, spareBot: false });
    expect(deletes(p, 'idle')).toHaveLength(7);
  });

  test('not before EARLY_IDLE_MINUTES idle', () => {
    const p = run({ groups: [group('g', { maxBots: 8, history: recentHistory(2, 1) })], bots: leftovers(EARLY_IDLE_MINUTES - 1) }, { predictive: true, spareBot: false });
    expect(deletes(p)).toEqual([]);
  });

  test('without predictive warm-up, idle bots keep the full idleMinutes', () => {
    const p = run({ groups: [group('g', { maxBots: 8, history: recentHistory(2, 1) })], bots: leftovers(EARLY_IDLE_MINUTES + 1) }, { predictive: false });
    expect(deletes(p)).toEqual([]);
  });

  test('with under half an hour of history, nothing is judged early', () => {
    const p = run({ groups: [group('g', { maxBots: 8, history: recentHistory(0.25, 1) })], bots: leftovers(EARLY_IDLE_MINUTES + 1) }, { predictive: true, spareBot: false });
    expect(deletes(p)).toEqual([]);
  });

  test('a busier recent rate keeps more idle bots', () => {
    // Six arrivals a slot: a median of 6 within 10 minutes, so 6 of the 8 stay.
    const p = run({ groups: [group('g', { maxBots: 8, history: recentHistory(2, 6) })], bots: leftovers(EARLY_IDLE_MINUTES + 1) }, { predictive: true, spareBot: false });
    expect(deletes(p, 'idle')).toHaveLength(2);
  });
});
