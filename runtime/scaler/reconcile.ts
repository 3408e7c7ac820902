/**
 * Reconcile as policy: what to do when ARM's list of a group's VMs and the store's bots disagree.
 * Pure functions, beside plan(); the loop (loop.ts) runs the store and ARM calls they decide.
 *
 * - A VM ARM lists that no bot holds is bound to a bot, or adopted within the caps (the store
 *   counts the caps in its transaction).
 * - A VM left over the caps is deleted only when it has been seen unknown twice, at least a lease
 *   apart: a VM the runtime itself just created, whose bot another replica is about to bind, must
 *   not be taken for an orphan. (github-aws-runners' scale-down tags an orphan and checks once more
 *   before it terminates it, for the same reason.)
 * - A bot whose VM ARM no longer lists ends; a bot being deleted whose VM still exists is deleted
 *   again; a provisioning bot whose VM ARM reports Failed is marked failed. (The Flexible scale set
 *   list reports names only, so the driver says Succeeded unless ARM says otherwise.)
 */
import type { ScaleSetVm } from '../azure/compute';
import type { Bot } from '../domain/bot';
import type { ListedVm } from '../store/types';

export interface ReconcileDecision {
  /** Names of VMs ARM lists that no bot holds: bind or adopt them. */
  readonly unknown: string[];
  /**
   * What to hand the store's bindVms: the unknown VMs with their vmIds, and the VMs whose bot has
   * no vmId yet when ARM now gives one (a registration by attested data needs it).
   */
  readonly bind: ListedVm[];
  /** Bots whose VM ARM no longer lists: they end, their runs go back to the queue. */
  readonly gone: string[];
  /** Provisioning bots whose VM ARM reports Failed. */
  readonly failed: string[];
  /** Bots being deleted whose VM ARM still lists: delete them again. */
  readonly deleteAgain: Bot[];
  /** VMs that exist and are not being deleted, for re-sending the capacity. */
  readonly existing: number;
}

/** Compares ARM's VMs of one scale set with the store's bots of its group. */
export function reconcileGroup(vms: readonly ScaleSetVm[], bots: readonly Bot[]): ReconcileDecision {
  const listed = new Set(vms.map((vm) => vm.name));
  const held = new Set(bots.map((b) => b.vmName).filter((n): n is string => n !== undefined));
  const failedVms = new Set(vms.filter((vm) => vm.provisioningState === 'Failed').map((vm) => vm.name));
  const unknown = vms.filter((vm) => !held.has(vm.name) && vm.provisioningState !== 'Deleting');
  const withoutVmId = new Set(bots.filter((b) => b.vmName !== undefined && b.vmId === undefined).map((b) => b.vmName));
  const learned = vms.filter((vm) => vm.vmId !== undefined && withoutVmId.has(vm.name));
  return {
    unknown: unknown.map((vm) => vm.name),
    bind: [...unknown, ...learned].map((vm) => (vm.vmId === undefined ? { name: vm.name } : { name: vm.name, vmId: vm.vmId })),
    gone: bots.filter((b) => b.vmName !== undefined && !listed.has(b.vmName)).map((b) => b.id),
    failed: bots.filter((b) => b.state === 'provisioning' && b.vmName !== undefined && failedVms.has(b.vmName)).map((b) => b.id),
    deleteAgain: bots.filter((b) => b.state === 'deleting' && b.vmName !== undefined && listed.has(b.vmName)),
    existing: vms.filter((vm) => vm.provisioningState !== 'Deleting').length,
  };
}

/** VMs seen unknown and over the caps, by name, with the time each was first seen so. */
export type Suspects = ReadonlyMap<string, number>;

export interface OrphanDecision {
  /** Seen over the caps twice, a lease apart: delete them now. */
  readonly delete: string[];
  /** What to remember for the next pass: the ones still waiting for their second sighting. */
  readonly suspects: Map<string, number>;
}

/**
 * Which VMs left over the caps (`unplaced`, as the store's binding found them) to delete now. A VM
 * is deleted when it was first seen unplaced at least `confirmAfterMs` ago; a VM no longer
 * unplaced (bound since, or gone) is forgotten.
 */
export function orphansToDelete(unplaced: readonly string[], suspects: Suspects, now: number, confirmAfterMs: number): OrphanDecision {
  const next = new Map<string, number>();
  const remove: string[] = [];
  for (const name of unplaced) {
    const since = suspects.get(name);
    if (since !== undefined && now - since >= confirmAfterMs) remove.push(name);
    else next.set(name, since ?? now);
  }
  return { delete: remove, suspects: next };
}
