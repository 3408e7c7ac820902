/** Reconcile's decisions, as tables: ARM's VMs against the store's bots, and orphans seen twice. */
import type { ScaleSetVm } from '../../../runtime/azure/compute';
import { orphansToDelete, reconcileGroup } from '../../../runtime/scaler/reconcile';
import type { Bot, BotState } from '../../../runtime/domain/bot';

const vm = (name: string, provisioningState = 'Succeeded'): ScaleSetVm => ({ name, id: `/vms/${name}`, provisioningState });
const bot = (id: string, state: BotState, vmName?: string): Bot => ({ id, group: 'finance', state, vmName, createdAt: 0, stateChangedAt: 0, runsCompleted: 0, imageKey: 'img' });

describe('reconcileGroup', () => {
  test.each([
    ['in step: nothing to do', [vm('a'), vm('b')], [bot('1', 'idle', 'a'), bot('2', 'busy', 'b')], { unknown: [], gone: [], failed: [], deleteAgain: [], existing: 2 }],
    ['a VM no bot holds is unknown', [vm('a'), vm('x')], [bot('1', 'idle', 'a')], { unknown: ['x'], gone: [], failed: [], deleteAgain: [], existing: 2 }],
    ['a VM being deleted is not unknown, nor counted', [vm('a'), vm('x', 'Deleting')], [bot('1', 'idle', 'a')], { unknown: [], gone: [], failed: [], deleteAgain: [], existing: 1 }],
    ['a bot whose VM is gone ends', [vm('a')], [bot('1', 'idle', 'a'), bot('2', 'busy', 'b')], { unknown: [], gone: ['2'], failed: [], deleteAgain: [], existing: 1 }],
    ['a bot with no VM yet is not gone', [], [bot('1', 'provisioning')], { unknown: [], gone: [], failed: [], deleteAgain: [], existing: 0 }],
    ['a provisioning bot whose VM failed is failed', [vm('a', 'Failed')], [bot('1', 'provisioning', 'a')], { unknown: [], gone: [], failed: ['1'], deleteAgain: [], existing: 1 }],
    ['an idle bot on a failed VM is left to the heartbeat', [vm('a', 'Failed')], [bot('1', 'idle', 'a')], { unknown: [], gone: [], failed: [], deleteAgain: [], existing: 1 }],
  ])('%s', (_name, vms, bots, expected) => {
    const { bind: _bind, ...decision } = reconcileGroup(vms, bots);
    expect(decision).toEqual(expected);
  });

  test('unknown VMs go to the store with their vmIds, and so do VMs whose bot has no vmId yet', () => {
    const withId = (name: string, vmId: string) => ({ ...vm(name), vmId });
    const vms = [withId('a', 'id-a'), withId('b', 'id-b'), vm('c'), withId('x', 'id-x'), vm('y')];
    const bots = [{ ...bot('1', 'provisioning', 'a'), vmId: 'id-a' }, bot('2', 'provisioning', 'b'), bot('3', 'provisioning', 'c')];
    expect(reconcileGroup(vms, bots).bind).toEqual([{ name: 'x', vmId: 'id-x' }, { name: 'y' }, { name: 'b', vmId: 'id-b' }]);
  });

  test('a bot being deleted whose VM still exists is deleted again', () => {
    const stuck = bot('1', 'deleting', 'a');
    expect(reconcileGroup([vm('a')], [stuck, bot('2', 'deleting', 'b')]).deleteAgain).toEqual([stuck]);
  });
});

describe('orphansToDelete', () => {
  const LEASE = 45_000;

  test.each([
    ['seen once: kept, remembered', ['x'], [], 1000, { delete: [], suspects: [['x', 1000]] }],
    ['seen twice, less than a lease apart: kept', ['x'], [['x', 1000]], 1000 + LEASE - 1, { delete: [], suspects: [['x', 1000]] }],
    ['seen twice, a lease apart: deleted', ['x'], [['x', 1000]], 1000 + LEASE, { delete: ['x'], suspects: [] }],
    ['bound since (no longer unplaced): forgotten', [], [['x', 1000]], 1000 + LEASE, { delete: [], suspects: [] }],
    ['one old, one new', ['x', 'y'], [['x', 0]], LEASE, { delete: ['x'], suspects: [['y', LEASE]] }],
  ] as const)('%s', (_name, unplaced, before, now, expected) => {
    const result = orphansToDelete(unplaced, new Map(before as unknown as Array<[string, number]>), now, LEASE);
    expect({ delete: result.delete, suspects: [...result.suspects] }).toEqual({ delete: expected.delete, suspects: expected.suspects });
  });
});
