/** scale-in.ts: which idle bots go, and why. */
import { HistoryRecorder } from '../../../runtime/scaler/history';
import type { PlanScaling } from '../../../runtime/scaler/plan';
import { aboveShare, describeScaleIn, EARLY_IDLE_MINUTES, forShortfall, idleBots, idleTimedOut, replacedWhenIdle, scaleIn } from '../../../runtime/scaler/scale-in';
import { demandOf, planBuilders } from '../../helpers/plan';

const NOW = 10 * 24 * 3600_000;
const MIN = 60_000;
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: false };
const { group, bots } = planBuilders({ now: NOW, maxBots: 10, createdAgoMs: 30 * MIN, stateAgoMs: MIN });
const HOLD = { entitlement: 0, slack: 0, limited: false };
const NOT_SHORT = { runsShortfall: 0, shortGroups: [] };

describe('idleBots()', () => {
  test('the idle bots only, the longest idle first', () => {
    const recent = bots('g', 'idle', 1, { stateChangedAt: NOW - MIN });
    const old = bots('g', 'idle', 1, { stateChangedAt: NOW - 9 * MIN });
    expect(idleBots([...recent, ...bots('g', 'busy', 1), ...old])).toEqual([old[0], recent[0]]);
  });
});

describe('replacedWhenIdle()', () => {
  test('idle bots on another image are outdated; those past recycleAfterRuns are worn, each counted once', () => {
    const old = bots('g', 'idle', 1, { imageKey: 'img-v1', runsCompleted: 9 });
    const worn = bots('g', 'idle', 1, { runsCompleted: 5 });
    const fresh = bots('g', 'idle', 1, { runsCompleted: 4 });
    expect(replacedWhenIdle(group('g'), [...old, ...worn, ...fresh], 5)).toEqual({ outdated: old, worn });
    expect(replacedWhenIdle(group('g'), [...old, ...worn, ...fresh], undefined)).toEqual({ outdated: old, worn: [] });
  });
});

describe('aboveShare()', () => {
  test('nothing goes at or below the share and slack', () => {
    const idle = bots('g', 'idle', 2);
    expect(aboveShare(demandOf(group('g'), { bots: idle }), idle, 2, { ...HOLD, entitlement: 2, limited: true }, true)).toBeUndefined();
  });

  test('while limited, idle bots above the share go now, the longest idle first, as a rebalance', () => {
    const idle = idleBots([...bots('g', 'idle', 1, { stateChangedAt: NOW - 5 * MIN }), ...bots('g', 'idle', 2)]);
    const above = aboveShare(demandOf(group('g'), { bots: idle }), idle, 3, { ...HOLD, entitlement: 1, limited: true }, true);
    expect(above).toEqual({ reason: 'rebalance', now: idle.slice(0, 2), ifShort: [] });
  });

  test('idle bots its own queued runs can claim within the claim limit stay', () => {
    const busy = bots('g', 'busy', 2);
    const idle = bots('g', 'idle', 3);
    // Share 3, 2 busy: one queued run may still claim, so of the 2 idle bots above the share 1 stays.
    const above = aboveShare(demandOf(group('g', { queued: 4, running: 2 }), { bots: [...busy, ...idle] }), idle, 5, { ...HOLD, entitlement: 3, limited: true }, true);
    expect(above?.now).toHaveLength(2);
  });

  test('without a claim limit, idle bots above the share go only for other groups short of bots', () => {
    const idle = bots('g', 'idle', 3);
    expect(aboveShare(demandOf(group('g'), { bots: idle }), idle, 3, HOLD, true)).toEqual({ reason: 'rebalance', now: [], ifShort: idle });
  });

  test('a disabled environment, a removed or an expired group lose their idle bots now, with that reason', () => {
    const idle = bots('g', 'idle', 2);
    expect(aboveShare(demandOf(group('g'), { bots: idle }), idle, 2, HOLD, false)).toEqual({ reason: 'disabled', now: idle, ifShort: [] });
    expect(aboveShare(demandOf(group('g', { status: 'removed' }), { bots: idle }), idle, 2, HOLD, true)?.reason).toBe('removed');
    expect(aboveShare(demandOf(group('g', { status: 'expired' }), { bots: idle }), idle, 2, HOLD, true)?.reason).toBe('expired');
  });
});

describe('forShortfall()', () => {
  test('takes no more bots than the shortfall, from the group with the most to give first', () => {
    const a = bots('a', 'idle', 4);
    const c = bots('c', 'idle', 2);
    const taken = forShortfall([{ group: 'a', bots: a }, { group: 'c', bots: c }], 4);
    expect(taken).toEqual(new Map([['a', a.slice(0, 3)], ['c', c.slice(0, 1)]]));
  });

  test('nothing for no shortfall, and never more than the groups give', () => {
    const a = bots('a', 'idle', 2);
    expect(forShortfall([{ group: 'a', bots: a }], 0).size).toBe(0);
    expect(forShortfall([{ group: 'a', bots: a }], -3).size).toBe(0);
    expect(forShortfall([{ group: 'a', bots: a }], 9)).toEqual(new Map([['a', a]]));
  });
});

describe('idleTimedOut()', () => {
  test('idle for idleMinutes goes, beyond the bots the share keeps', () => {
    const old = bots('g', 'idle', 2, { stateChangedAt: NOW - 11 * MIN });
    const fresh = bots('g', 'idle', 1, { stateChangedAt: NOW - 2 * MIN });
    const idle = idleBots([...old, ...fresh]);
    expect(idleTimedOut(group('g'), idle, 3, 0, SCALING, NOW)).toEqual(old);
    // A share of 1 keeps the most recently idle bot beyond the others; the two old ones still go.
    expect(idleTimedOut(group('g'), idle, 3, 1, SCALING, NOW)).toEqual(old);
    expect(idleTimedOut(group('g'), idle, 3, 2, SCALING, NOW)).toEqual([old[0]]);
  });

  test('busy and provisioning bots count first against the share', () => {
    const idle = bots('g', 'idle', 1, { stateChangedAt: NOW - 11 * MIN });
    expect(idleTimedOut(group('g'), idle, 3, 2, SCALING, NOW)).toEqual(idle);
  });

  test('with predictive warm-up and no recent arrivals, idle bots go after EARLY_IDLE_MINUTES', () => {
    const idle = bots('g', 'idle', 2, { stateChangedAt: NOW - (EARLY_IDLE_MINUTES + 1) * MIN });
    const quiet = new HistoryRecorder(NOW - 2 * 3600_000);
    expect(idleTimedOut(group('g', { history: quiet }), idle, 2, 0, { ...SCALING, predictive: true }, NOW)).toEqual(idle);
    expect(idleTimedOut(group('g', { history: quiet }), idle, 2, 0, SCALING, NOW)).toEqual([]);
  });

  test('not while the warm-up account pauses warm-up on cost or capacity: the group then scales as with predictive off', () => {
    const idle = bots('g', 'idle', 2, { stateChangedAt: NOW - (EARLY_IDLE_MINUTES + 1) * MIN });
    const quiet = new HistoryRecorder(NOW - 2 * 3600_000);
    expect(idleTimedOut(group('g', { history: quiet, warmUpAllowance: 0 }), idle, 2, 0, { ...SCALING, predictive: true }, NOW)).toEqual([]);
    expect(idleTimedOut(group('g', { history: quiet, warmUpAllowance: 0, warmUpPause: 'cost' }), idle, 2, 0, { ...SCALING, predictive: true }, NOW)).toEqual([]);
    expect(idleTimedOut(group('g', { history: quiet, warmUpAllowance: 1, warmUpPause: 'capacity' }), idle, 2, 0, { ...SCALING, predictive: true }, NOW)).toEqual([]);
  });

  test('still while warm-up is paused because warmed bots went unused, probing or not: a burst\'s bots go early too', () => {
    const idle = bots('g', 'idle', 2, { stateChangedAt: NOW - (EARLY_IDLE_MINUTES + 1) * MIN });
    const quiet = new HistoryRecorder(NOW - 2 * 3600_000);
    expect(idleTimedOut(group('g', { history: quiet, warmUpAllowance: 0, warmUpPause: 'unused' }), idle, 2, 0, { ...SCALING, predictive: true }, NOW)).toEqual(idle);
    expect(idleTimedOut(group('g', { history: quiet, warmUpAllowance: 1, warmUpPause: 'unused' }), idle, 2, 0, { ...SCALING, predictive: true }, NOW)).toEqual(idle);
  });
});

describe('scaleIn()', () => {
  test('one delete action per group and reason, in the order replaced, above the share, timed out', () => {
    const outdated = bots('a', 'idle', 1, { imageKey: 'img-v1' });
    const above = bots('a', 'idle', 1, { stateChangedAt: NOW - 2 * MIN });
    const timedOut = bots('b', 'idle', 1, { stateChangedAt: NOW - 11 * MIN });
    const result = scaleIn(
      [
        { demand: demandOf(group('a'), { bots: [...outdated, ...above] }), scaling: SCALING, ...HOLD, limited: true },
        { demand: demandOf(group('b'), { bots: timedOut }), scaling: SCALING, ...HOLD },
      ],
      NOT_SHORT,
      true,
      NOW,
    );
    expect(result.actions).toEqual([
      { kind: 'delete', group: 'a', botIds: [outdated[0].id], reason: 'outdated', from: ['idle'] },
      { kind: 'delete', group: 'a', botIds: [above[0].id], reason: 'rebalance', from: ['idle'], share: 0, to: [] },
      { kind: 'delete', group: 'b', botIds: [timedOut[0].id], reason: 'idle', from: ['idle'], idleSince: NOW - 11 * MIN },
    ]);
    expect([...result.deleting].sort()).toEqual([outdated[0].id, above[0].id, timedOut[0].id].sort());
  });

  test('idle bots above their shares go for a shortfall after the bots going anyway have counted against it', () => {
    const limited = bots('a', 'idle', 2);
    const unlimited = bots('b', 'idle', 3);
    const result = scaleIn(
      [
        { demand: demandOf(group('a'), { bots: limited }), scaling: SCALING, ...HOLD, limited: true },
        { demand: demandOf(group('b'), { bots: unlimited }), scaling: SCALING, ...HOLD },
      ],
      { runsShortfall: 3, shortGroups: ['c'] },
      true,
      NOW,
    );
    expect(deletesOf(result.actions, 'a')).toHaveLength(2);
    expect(deletesOf(result.actions, 'b')).toHaveLength(1);
  });

  test('a rebalance names the groups it makes room for and the share the group is held to', () => {
    const idle = bots('a', 'idle', 2);
    const result = scaleIn([{ demand: demandOf(group('a'), { bots: idle }), scaling: SCALING, ...HOLD, entitlement: 0, limited: true }], { runsShortfall: 2, shortGroups: ['sales', 'a'] }, true, NOW);
    expect(result.actions).toEqual([{ kind: 'delete', group: 'a', botIds: idle.map((b) => b.id), reason: 'rebalance', from: ['idle'], share: 0, to: ['sales'] }]);
  });

  test('an idle time-out carries the latest time one of its bots went idle, for the store to hold it to', () => {
    const idle = [...bots('a', 'idle', 1, { stateChangedAt: NOW - 30 * MIN }), ...bots('a', 'idle', 1, { stateChangedAt: NOW - 12 * MIN })];
    const result = scaleIn([{ demand: demandOf(group('a'), { bots: idle }), scaling: SCALING, ...HOLD }], NOT_SHORT, true, NOW);
    expect(result.actions).toEqual([{ kind: 'delete', group: 'a', botIds: idle.map((b) => b.id), reason: 'idle', from: ['idle'], idleSince: NOW - 12 * MIN }]);
  });

  test("a paused group's idle bots go for its maintenance", () => {
    const idle = bots('a', 'idle', 1, { stateChangedAt: NOW - 11 * MIN });
    const result = scaleIn([{ demand: demandOf(group('a', { status: 'paused' }), { bots: idle }), scaling: SCALING, ...HOLD }], NOT_SHORT, true, NOW);
    expect(result.actions).toEqual([{ kind: 'delete', group: 'a', botIds: [idle[0].id], reason: 'maintenance', from: ['idle'] }]);
  });
});

describe('describeScaleIn()', () => {
  const action = (reason: Parameters<typeof describeScaleIn>[0]['reason'], n: number, extra = {}) => ({ group: 'finance', botIds: Array.from({ length: n }, (_, i) => `b${i}`), reason, ...extra });

  test('a rebalance names the groups it makes room for and the share the group is held to', () => {
    expect(describeScaleIn(action('rebalance', 2, { to: ['sales'], share: 4 }))).toBe('2 idle bots released: rebalance to group sales: group finance is held to its share of 4 bots');
    expect(describeScaleIn(action('rebalance', 1, { to: [], share: 1 }))).toBe('1 idle bot released: rebalance: group finance is held to its share of 1 bot');
  });

  test('idle, maintenance, an outdated image and recycling each say so', () => {
    expect(describeScaleIn(action('idle', 1))).toBe("1 idle bot released: idle, not needed for the group's runs, standby or warm-up");
    expect(describeScaleIn(action('maintenance', 3))).toBe('3 idle bots released: group paused for maintenance');
    expect(describeScaleIn(action('outdated', 1))).toBe("1 idle bot replaced: maintenance, not on the group's current image");
    expect(describeScaleIn(action('recycle', 1))).toBe('1 idle bot replaced: recycled after recycleAfterRuns runs');
    expect(describeScaleIn(action('failed', 2))).toBe('2 failed bots deleted');
  });
});

const deletesOf = (actions: ReturnType<typeof scaleIn>['actions'], group: string) => actions.flatMap((a) => (a.kind === 'delete' && a.group === group ? a.botIds : []));