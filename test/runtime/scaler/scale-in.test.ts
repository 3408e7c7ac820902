/** scale-in.ts: which idle bots go, and why. */
import { HistoryRecorder } from '../../../runtime/scaler/history';
import type { PlanScaling } from '../../../runtime/scaler/plan';
import { aboveShare, EARLY_IDLE_MINUTES, idleBots, idleTimedOut, replacedWhenIdle, scaleIn } from '../../../runtime/scaler/scale-in';
import { demandOf, planBuilders } from '../../helpers/plan';

const NOW = 10 * 24 * 3600_000;
const MIN = 60_000;
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: false };
const { group, bots } = planBuilders({ now: NOW, maxBots: 10, createdAgoMs: 30 * MIN, stateAgoMs: MIN });
const HOLD = { entitlement: 0, slack: 0, limited: false };
const NOT_SHORT = { runsShort: false };

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
    expect(aboveShare(demandOf(group('g'), { bots: idle }), idle, 2, { ...HOLD, entitlement: 2, limited: true }, NOT_SHORT, true)).toBeUndefined();
  });

  test('while limited, idle bots above the share go, the longest idle first, as a rebalance', () => {
    const idle = idleBots([...bots('g', 'idle', 1, { stateChangedAt: NOW - 5 * MIN }), ...bots('g', 'idle', 2)]);
    const above = aboveShare(demandOf(group('g'), { bots: idle }), idle, 3, { ...HOLD, entitlement: 1, limited: true }, NOT_SHORT, true);
    expect(above).toEqual({ reason: 'rebalance', bots: idle.slice(0, 2) });
  });

  test('idle bots its own queued runs can claim within the claim limit stay', () => {
    const busy = bots('g', 'busy', 2);
    const idle = bots('g', 'idle', 3);
    // Share 3, 2 busy: one queued run may still claim, so of the 2 idle bots above the share 1 stays.
    const above = aboveShare(demandOf(group('g', { queued: 4, running: 2 }), { bots: [...busy, ...idle] }), idle, 5, { ...HOLD, entitlement: 3, limited: true }, NOT_SHORT, true);
    expect(above?.bots).toHaveLength(2);
  });

  test('without a claim limit, idle bots above the share wait for their idle time-out unless runs are short', () => {
    const idle = bots('g', 'idle', 3);
    const d = demandOf(group('g'), { bots: idle });
    expect(aboveShare(d, idle, 3, HOLD, NOT_SHORT, true)).toEqual({ reason: 'rebalance', bots: [] });
    expect(aboveShare(d, idle, 3, HOLD, { runsShort: true }, true)?.bots).toHaveLength(3);
  });

  test('a disabled environment, a removed or an expired group lose their idle bots, with that reason', () => {
    const idle = bots('g', 'idle', 2);
    expect(aboveShare(demandOf(group('g'), { bots: idle }), idle, 2, HOLD, NOT_SHORT, false)).toEqual({ reason: 'disabled', bots: idle });
    expect(aboveShare(demandOf(group('g', { status: 'removed' }), { bots: idle }), idle, 2, HOLD, NOT_SHORT, true)?.reason).toBe('removed');
    expect(aboveShare(demandOf(group('g', { status: 'expired' }), { bots: idle }), idle, 2, HOLD, NOT_SHORT, true)?.reason).toBe('expired');
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
      { kind: 'delete', group: 'a', botIds: [above[0].id], reason: 'rebalance', from: ['idle'] },
      { kind: 'delete', group: 'b', botIds: [timedOut[0].id], reason: 'idle', from: ['idle'] },
    ]);
    expect([...result.deleting].sort()).toEqual([outdated[0].id, above[0].id, timedOut[0].id].sort());
  });
});
