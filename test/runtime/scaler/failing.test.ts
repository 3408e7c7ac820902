/** failing.ts: bots past their boot time-out fail, failed bots are deleted. */
import { botsByGroup, failingBots } from '../../../runtime/scaler/failing';
import type { PlanScaling } from '../../../runtime/scaler/plan';
import { planBuilders } from '../../helpers/plan';

const NOW = 10 * 24 * 3600_000;
const MIN = 60_000;
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 0, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: false, predictiveLeadMinutes: 15, spareBot: false };
const { group, bots } = planBuilders({ now: NOW, maxBots: 5, createdAgoMs: MIN, stateAgoMs: MIN });

describe('botsByGroup()', () => {
  test('lists every group of the snapshot, those without bots too, and groups only bots still name', () => {
    const a = bots('a', 'idle', 2);
    const gone = bots('removed-long-ago', 'deleting', 1);
    const byGroup = botsByGroup({ groups: [group('a'), group('b')], bots: [...a, ...gone] });
    expect([...byGroup.keys()]).toEqual(['a', 'b', 'removed-long-ago']);
    expect(byGroup.get('a')).toEqual(a);
    expect(byGroup.get('b')).toEqual([]);
  });
});

describe('failingBots()', () => {
  test('a provisioning bot older than bootTimeoutMinutes fails; a younger one does not', () => {
    const late = bots('g', 'provisioning', 1, { createdAt: NOW - 31 * MIN });
    const young = bots('g', 'provisioning', 1, { createdAt: NOW - 29 * MIN });
    const result = failingBots([group('g')], botsByGroup({ groups: [group('g')], bots: [...late, ...young] }), { g: SCALING }, NOW);
    expect(result.actions).toEqual([{ kind: 'fail', group: 'g', botIds: [late[0].id], reason: 'boot_timeout' }]);
    expect([...result.failing]).toEqual([late[0].id]);
  });

  test('failed bots are deleted from the failed state, and are not failing again', () => {
    const failed = bots('g', 'failed', 2);
    const result = failingBots([group('g')], botsByGroup({ groups: [group('g')], bots: failed }), { g: SCALING }, NOW);
    expect(result.actions).toEqual([{ kind: 'delete', group: 'g', botIds: failed.map((b) => b.id), reason: 'failed', from: ['failed'] }]);
    expect(result.failing.size).toBe(0);
  });

  test('a group without scaling settings has no boot time-out to miss', () => {
    const late = bots('g', 'provisioning', 1, { createdAt: NOW - 600 * MIN });
    expect(failingBots([group('g')], botsByGroup({ groups: [group('g')], bots: late }), {}, NOW).actions).toEqual([]);
  });
});
