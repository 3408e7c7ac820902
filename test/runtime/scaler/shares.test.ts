/** shares.ts: each group's share of the capacity, in its two passes (fairShares and weightOf have their tests in plan-shares.test.ts). */
import { groupShares } from '../../../runtime/scaler/shares';
import { demandOf, planBuilders } from '../../helpers/plan';

const NOW = 10 * 24 * 3600_000;
const { group } = planBuilders({ now: NOW, maxBots: 10, createdAgoMs: 60_000, stateAgoMs: 60_000 });

describe('groupShares()', () => {
  test('with room for all, each group gets its runs and then its standby and warm-up', () => {
    const shares = groupShares([demandOf(group('a', { queued: 3 }), { desired: 5 }), demandOf(group('b', { running: 2 }))], 20, true);
    expect(shares).toEqual({ a: { runs: 3, warm: 2 }, b: { runs: 2, warm: 0 } });
  });

  test('the runs are shared first: warm-up gets only what they leave', () => {
    const shares = groupShares([demandOf(group('a'), { desired: 6, runs: 0 }), demandOf(group('b', { queued: 8 }))], 10, true);
    expect(shares).toEqual({ a: { runs: 0, warm: 2 }, b: { runs: 8, warm: 0 } });
  });

  test('committed bots come first, for runs and then for standby, whatever the other queues', () => {
    const shares = groupShares([demandOf(group('a', { committedBots: 3, queued: 1 }), { desired: 3 }), demandOf(group('b', { queued: 10 }))], 6, true);
    expect(shares).toEqual({ a: { runs: 1, warm: 2 }, b: { runs: 3, warm: 0 } });
  });

  test('the runs pass weighs each group by its weight, with one bot first for every active group whose runs wait', () => {
    const demand = [demandOf(group('a', { queued: 10 }), { weight: 16 }), demandOf(group('b', { queued: 10 }), { weight: 1 }), demandOf(group('c', { queued: 10 }), { weight: 1 })];
    expect(groupShares(demand, 6, true)).toEqual({ a: { runs: 4, warm: 0 }, b: { runs: 1, warm: 0 }, c: { runs: 1, warm: 0 } });
    // A disabled environment gives no first bot: the weights alone decide.
    expect(groupShares(demand, 6, false)).toEqual({ a: { runs: 6, warm: 0 }, b: { runs: 0, warm: 0 }, c: { runs: 0, warm: 0 } });
  });
});
