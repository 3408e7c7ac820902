/** buildSnapshot: the store's facts and the declared groups, as plan() reads them. */
import { HistoryRecorder } from '../../../runtime/scaler/history';
import type { PlanScaling } from '../../../runtime/scaler/plan';
import { buildSnapshot, DEMAND_CAP, GroupDeclaration, SnapshotInput } from '../../../runtime/scaler/snapshot';
import type { Bot } from '../../../runtime/domain/bot';
import type { GroupState } from '../../../runtime/domain/group';

const NOW = Date.UTC(2026, 2, 10, 9, 0);
const SCALING: PlanScaling = { idleMinutes: 10, standbyBots: 1, coldAfterHours: 8, bootTimeoutMinutes: 30, predictive: true, predictiveLeadMinutes: 15, spareBot: true };
const ENVIRONMENT_SCALING: PlanScaling = { ...SCALING, idleMinutes: 0, standbyBots: 0 };

const declaration = (name: string, extra: Partial<GroupDeclaration> = {}): GroupDeclaration => ({ name, maxBots: 5, committedBots: 1, imageKey: `img-${name}`, scaling: SCALING, ...extra });
const state = (name: string, extra: Partial<GroupState> = {}): GroupState => ({ name, paused: false, expired: false, declared: true, lastActivityAt: NOW - 60_000, backoffLevel: 0, ...extra });

function input(extra: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    capacity: 10,
    enabled: true,
    declared: new Map([['finance', declaration('finance')]]),
    undeclaredScaling: ENVIRONMENT_SCALING,
    states: [state('finance')],
    bots: [],
    counts: [],
    history: {},
    ...extra,
  };
}

test('a declared group carries its caps, image, activity, back-off, counts, oldest queued run, history and settings', () => {
  const history = new HistoryRecorder(NOW - 86_400_000);
  const snapshot = buildSnapshot(
    input({ states: [state('finance', { backoffUntil: NOW + 5_000 })], counts: [{ group: 'finance', queued: 3, running: 2, oldestQueuedAt: NOW - 90_000 }], history: { finance: history } }),
  );
  expect(snapshot.plan).toEqual({
    capacity: 10,
    enabled: true,
    groups: [{ name: 'finance', maxBots: 5, committedBots: 1, status: 'active', queued: 3, running: 2, lastActivityAt: NOW - 60_000, oldestQueuedAt: NOW - 90_000, backoffUntil: NOW + 5_000, imageKey: 'img-finance', history }],
    bots: [],
  });
  expect(snapshot.settings).toEqual({ finance: SCALING });
});

test.each([
  ['paused', { paused: true }, 'paused'],
  ['expired', { expired: true }, 'expired'],
  ['expired and paused', { expired: true, paused: true }, 'expired'],
  ['no longer declared in the store', { declared: false }, 'removed'],
] as const)('a group %s has status %s', (_what, extra, status) => {
  expect(buildSnapshot(input({ states: [state('finance', extra)] })).plan.groups[0].status).toBe(status);
});

test('a group the manifest no longer declares is removed, with no caps or image, and drains with the environment\'s settings', () => {
  const snapshot = buildSnapshot(input({ states: [state('finance'), state('legacy')] }));
  expect(snapshot.plan.groups[1]).toMatchObject({ name: 'legacy', status: 'removed', maxBots: 0, committedBots: 0, imageKey: '' });
  expect(snapshot.settings.legacy).toBe(ENVIRONMENT_SCALING);
});

test('an undeclared group with no settings for undeclared groups is refused, naming the group', () => {
  expect(() => buildSnapshot(input({ states: [state('legacy')], undeclaredScaling: undefined }))).toThrow(
    'group "legacy" is not declared, and no scaling settings were given for undeclared groups',
  );
});

test('queue counts above the demand cap are cut to it; a group with no counts has none', () => {
  const snapshot = buildSnapshot(
    input({
      declared: new Map([['finance', declaration('finance')], ['sales', declaration('sales')]]),
      states: [state('finance'), state('sales')],
      counts: [{ group: 'finance', queued: DEMAND_CAP + 400, running: DEMAND_CAP + 1 }],
    }),
  );
  expect(snapshot.plan.groups.map((g) => [g.name, g.queued, g.running])).toEqual([
    ['finance', DEMAND_CAP, DEMAND_CAP],
    ['sales', 0, 0],
  ]);
});

test('groups come in name order whatever order they are given in, as the stores list them', () => {
  const names = ['sales', 'finance', 'hr-2', 'hr'];
  const snapshot = buildSnapshot(input({ declared: new Map(names.map((n) => [n, declaration(n)])), states: names.map((n) => state(n)) }));
  expect(snapshot.plan.groups.map((g) => g.name)).toEqual(['finance', 'hr', 'hr-2', 'sales']);
});

test('bots keep only what plan() reads', () => {
  const bot: Bot = { id: 'b1', group: 'finance', vmName: 'vm-1', state: 'busy', createdAt: 1, registeredAt: 2, stateChangedAt: 3, lastSeenAt: 4, currentRunId: 'r1', runsCompleted: 7, imageKey: 'img-finance' };
  expect(buildSnapshot(input({ bots: [bot] })).plan.bots).toEqual([{ id: 'b1', group: 'finance', state: 'busy', createdAt: 1, stateChangedAt: 3, imageKey: 'img-finance', runsCompleted: 7 }]);
});

test("the environment's time zone reaches plan(); without one, plan() reads UTC", () => {
  expect(buildSnapshot(input({ timeZone: 'Europe/Berlin' })).plan.timeZone).toBe('Europe/Berlin');
  expect(buildSnapshot(input()).plan).not.toHaveProperty('timeZone');
});
