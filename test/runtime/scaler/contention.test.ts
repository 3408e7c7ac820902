/** contention.ts: whether the groups contend for the capacity, and each group's claim limit and slack. */
import { contentionOf, isLimited, REBALANCE_SLACK, servingOf, slackOf } from '../../../runtime/scaler/contention';
import { demandOf, planBuilders } from '../../helpers/plan';

const NOW = 10 * 24 * 3600_000;
const { group, bots } = planBuilders({ now: NOW, maxBots: 10, createdAgoMs: 60_000, stateAgoMs: 60_000 });
const QUIET = { capacityBound: false, overCapacity: false };

describe('servingOf()', () => {
  test('counts provisioning, idle and busy bots, not failed or deleting ones', () => {
    expect(servingOf([...bots('g', 'provisioning', 1), ...bots('g', 'idle', 2), ...bots('g', 'busy', 3), ...bots('g', 'failed', 1), ...bots('g', 'deleting', 1)])).toBe(6);
  });
});

describe('contentionOf()', () => {
  test('capacity bound when the groups together want more than the capacity', () => {
    const demand = [demandOf(group('a', { queued: 6 })), demandOf(group('b', { queued: 5 }))];
    expect(contentionOf(demand, { a: { runs: 5, warm: 0 }, b: { runs: 5, warm: 0 } }, 10, 0).capacityBound).toBe(true);
    expect(contentionOf(demand, { a: { runs: 6, warm: 0 }, b: { runs: 5, warm: 0 } }, 11, 0).capacityBound).toBe(false);
  });

  test('over capacity when more bots serve than the capacity allows', () => {
    const demand = [demandOf(group('a'), { bots: bots('a', 'busy', 4) }), demandOf(group('b'), { bots: bots('b', 'idle', 2) })];
    expect(contentionOf(demand, { a: { runs: 0, warm: 0 }, b: { runs: 0, warm: 0 } }, 5, 6).overCapacity).toBe(true);
  });

  test('the runs\' shortfall: bots queued runs lack beyond the free capacity and the bots on their way out', () => {
    const demand = [demandOf(group('a'), { bots: bots('a', 'idle', 6) }), demandOf(group('b', { queued: 8 })), demandOf(group('c', { queued: 3 }), { bots: bots('c', 'busy', 1) })];
    const shares = { a: { runs: 0, warm: 0 }, b: { runs: 8, warm: 0 }, c: { runs: 3, warm: 0 } };
    // b lacks 8 and c 2: 10, of which 3 free bots give 3 and 1 bot being deleted 1 more.
    expect(contentionOf(demand, shares, 10, 7, 1)).toMatchObject({ runsShortfall: 6, shortGroups: ['b', 'c'] });
    expect(contentionOf(demand, shares, 20, 7, 1)).toMatchObject({ runsShortfall: 0, shortGroups: ['b', 'c'] });
  });
});

describe('isLimited()', () => {
  test('every group is limited while capacity is bound or exceeded; otherwise only one serving beyond its maxBots', () => {
    const d = demandOf(group('g', { maxBots: 2 }), { bots: bots('g', 'busy', 2) });
    expect(isLimited(d, QUIET)).toBe(false);
    expect(isLimited(d, { ...QUIET, capacityBound: true })).toBe(true);
    expect(isLimited(d, { ...QUIET, overCapacity: true })).toBe(true);
    expect(isLimited(demandOf(group('g', { maxBots: 2 }), { bots: bots('g', 'busy', 3) }), QUIET)).toBe(true);
  });
});

describe('slackOf()', () => {
  test('REBALANCE_SLACK for an active group whose runs wait, with a share of at least twice the slack', () => {
    expect(slackOf(demandOf(group('g', { queued: 1 })), 4, QUIET, true)).toBe(REBALANCE_SLACK);
    expect(slackOf(demandOf(group('g', { queued: 1 })), 3, QUIET, true)).toBe(0);
    expect(slackOf(demandOf(group('g', { running: 4 })), 4, QUIET, true)).toBe(0);
  });

  test('never beyond maxBots, and none when capacity is exceeded, the environment is off or the group is paused', () => {
    expect(slackOf(demandOf(group('g', { queued: 1, maxBots: 5 })), 4, QUIET, true)).toBe(1);
    expect(slackOf(demandOf(group('g', { queued: 1 })), 4, { ...QUIET, overCapacity: true }, true)).toBe(0);
    expect(slackOf(demandOf(group('g', { queued: 1 })), 4, QUIET, false)).toBe(0);
    expect(slackOf(demandOf(group('g', { queued: 1, status: 'paused' })), 4, QUIET, true)).toBe(0);
  });
});
