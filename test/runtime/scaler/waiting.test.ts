/** waiting.ts: why a group's queued runs wait. */
import { GroupAfterPlan, whyRunsWait } from '../../../runtime/scaler/waiting';
import { planBuilders } from '../../helpers/plan';

const NOW = 10 * 24 * 3600_000;
const { group } = planBuilders({ now: NOW, maxBots: 5, createdAgoMs: 60_000, stateAgoMs: 60_000 });
const ENV = { enabled: true, capacity: 10 };
const after = (extra: Partial<GroupAfterPlan> = {}): GroupAfterPlan => ({ provisioning: 0, serving: 0, live: 0, created: 0, entitlement: 5, ...extra });

describe('whyRunsWait()', () => {
  test('nothing queued, no reason', () => {
    expect(whyRunsWait(group('g', { running: 3 }), after(), ENV, NOW)).toEqual([]);
  });

  test('a disabled environment, a paused or expired group say only that', () => {
    expect(whyRunsWait(group('g', { queued: 1 }), after(), { ...ENV, enabled: false }, NOW)).toEqual([{ code: 'environment_disabled' }]);
    expect(whyRunsWait(group('g', { queued: 1, status: 'paused' }), after(), ENV, NOW)).toEqual([{ code: 'group_paused' }]);
    expect(whyRunsWait(group('g', { queued: 1, status: 'expired' }), after(), ENV, NOW)).toEqual([{ code: 'group_expired' }]);
  });

  test('bots provisioning and created count as provisioning; with enough of them, nothing more', () => {
    expect(whyRunsWait(group('g', { queued: 3 }), after({ provisioning: 1, serving: 1, live: 1, created: 2 }), ENV, NOW)).toEqual([{ code: 'provisioning', bots: 3 }]);
  });

  test('more runs than bots: a back-off, then maxBots, then capacity held by others below the share, else the fair share', () => {
    expect(whyRunsWait(group('g', { queued: 6, backoffUntil: NOW + 1 }), after(), ENV, NOW)).toEqual([{ code: 'backoff', until: NOW + 1 }]);
    expect(whyRunsWait(group('g', { queued: 6 }), after({ serving: 5, live: 5 }), ENV, NOW)).toEqual([{ code: 'group_at_max_bots', maxBots: 5 }]);
    expect(whyRunsWait(group('g', { queued: 6 }), after({ serving: 2, live: 2, entitlement: 4 }), ENV, NOW)).toEqual([{ code: 'capacity_in_use', capacity: 10 }]);
    expect(whyRunsWait(group('g', { queued: 6 }), after({ serving: 2, live: 2, entitlement: 2 }), ENV, NOW)).toEqual([{ code: 'fair_share', share: 2 }]);
  });

  test('at maxBots with a claim limit below it (a rebalance): held to its share, naming the groups that wait', () => {
    const rebalancing = after({ serving: 5, live: 5, entitlement: 3, claimLimit: 3, others: ['sales'] });
    expect(whyRunsWait(group('g', { queued: 6 }), rebalancing, ENV, NOW)).toEqual([{ code: 'fair_share', share: 3, others: ['sales'] }]);
    expect(whyRunsWait(group('g', { queued: 6 }), { ...rebalancing, claimLimit: 5 }, ENV, NOW)).toEqual([{ code: 'group_at_max_bots', maxBots: 5 }]);
  });
});
