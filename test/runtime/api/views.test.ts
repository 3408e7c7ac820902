import { describeWait, runWaitReasons } from '../../../runtime/api/views';
import type { GroupPlan, WaitReason } from '../../../runtime/scaler/plan';
import type { Bot } from '../../../runtime/store/types';

const NOW = 1_800_000_000_000;
const MINUTE = 60_000;

const bot = (state: Bot['state'], createdAt = NOW - MINUTE): Bot => ({
  id: `bot_${state}_${createdAt}`,
  group: 'finance',
  state,
  createdAt,
  stateChangedAt: createdAt,
  runsCompleted: 0,
  imageKey: 'img',
});

const planWith = (...waiting: WaitReason[]): GroupPlan => ({ desired: 3, entitlement: 3, live: 3, serving: 3, created: 0, waiting });

describe('why each queued run waits', () => {
  test('the first runs go to idle bots, the next to booting bots, the rest to the limit that holds the group', () => {
    const bots = [bot('idle'), bot('provisioning', NOW - 2 * MINUTE), bot('busy')];
    const reasons = runWaitReasons(planWith({ code: 'provisioning', bots: 1 }, { code: 'group_at_max_bots', maxBots: 3 }), bots, 4, NOW, 10 * MINUTE);
    expect(reasons).toEqual(['starting on an idle bot', '1 bot provisioning, about 8 minutes', 'group at maxBots (3)', 'group at maxBots (3)']);
  });

  test('a paused group holds every position for the same reason', () => {
    const reasons = runWaitReasons(planWith({ code: 'group_paused' }), [bot('idle')], 2, NOW, 10 * MINUTE);
    expect(reasons).toEqual(['group paused', 'group paused']);
  });

  test('with no limit in the way, runs past the free bots wait for a busy one', () => {
    expect(runWaitReasons(planWith(), [bot('busy')], 1, NOW, 10 * MINUTE)).toEqual(['waiting for a busy bot to finish']);
  });

  test('before the first plan, no reason is made up', () => {
    expect(runWaitReasons(undefined, [], 2, NOW, 10 * MINUTE)).toEqual(['waiting for a busy bot to finish', 'waiting for a busy bot to finish']);
  });

  test('short waits are counted in seconds, singular and plural', () => {
    const context = { bootMs: 1_000, now: NOW };
    expect(describeWait({ code: 'provisioning', bots: 2 }, context)).toBe('2 bots provisioning, about 1 second');
    expect(describeWait({ code: 'backoff', until: NOW + 30_000 }, context)).toBe('provisioning errors: retrying in 30 seconds');
  });
});
