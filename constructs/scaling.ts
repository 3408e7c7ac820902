/**
 * Scaling settings: declared on the environment, overridable per group, read by the runtime's
 * scaler from the fleet manifest.
 */

import * as contract from '../runtime/config/fleet-schema';

/**
 * An Azure standby pool of pre-provisioned VMs attached to a group's scale set. `maxReadyCapacity`
 * is the most VMs it keeps ready; `minReadyCapacity` @default 0; `vmState` @default 'Deallocated'
 * (`Deallocated` VMs cost only their disks; `Running` VMs start faster).
 */
export type StandbyPoolSettings = contract.DeepReadonly<contract.StandbyPoolSettings>;

/**
 * The scaling settings, documented field by field in the manifest's schema
 * (runtime/config/fleet-schema.ts), with their defaults in DEFAULT_SCALING.
 */
export type ScalingSettings = contract.DeepReadonly<contract.ScalingSettings>;

/** The defaults, documented in the README's "Scaling settings" table. */
export const DEFAULT_SCALING: ScalingSettings = contract.DEFAULTS.scaling;

/** Defaults, then the environment's settings, then the group's. */
export function resolveScaling(...layers: ReadonlyArray<Partial<ScalingSettings> | undefined>): ScalingSettings {
  return Object.assign({}, DEFAULT_SCALING, ...layers.map(definedOnly));
}

function definedOnly(layer: Partial<ScalingSettings> | undefined): Partial<ScalingSettings> {
  return Object.fromEntries(Object.entries(layer ?? {}).filter(([, v]) => v !== undefined));
}
