/**
 * What the runtime needs from Azure compute: set a scale set's capacity, delete named VMs, and
 * list a scale set's VMs. The Azure driver implements it with the real SDK; tests and the demo
 * point that same driver at arm-sim. There is no other implementation.
 */

/** A group's scale set, as the fleet manifest names it. */
export interface ScaleSetRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

/** A VM of a scale set, as ARM reports it. */
export interface ScaleSetVm {
  /** The VM name; Flexible scale sets name VMs `<scale set>_<suffix>`. */
  readonly name: string;
  /** The ARM resource ID. */
  readonly id: string;
  /**
   * The VM's unique ID, `properties.vmId` (VirtualMachines_Get), which its attested data carries;
   * absent when ARM did not give it (the VM is going, or the read failed and is tried again).
   */
  readonly vmId?: string;
  /** `Creating`, `Succeeded`, `Failed`, `Deleting`, … */
  readonly provisioningState: string;
  /** From the instance view, e.g. `PowerState/running`, when ARM reports one. */
  readonly powerState?: string;
  /** When the VM was created (ISO time), when ARM reports it. */
  readonly timeCreated?: string;
}

export type ComputeOperation = 'setCapacity' | 'deleteInstances' | 'listInstances' | 'getInstance';

/**
 * An ARM call that failed: an HTTP error (RestError) or a long-running operation that ended
 * `Failed`. `code` is ARM's error code, e.g. `AllocationFailed`, `QuotaExceeded`,
 * `OSProvisioningTimedOut`, `TooManyRequests`, `InternalServerError`.
 */
export class ComputeError extends Error {
  constructor(
    readonly operation: ComputeOperation,
    readonly code: string,
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'ComputeError';
  }
}

export interface ComputeDriver {
  /** Sets `sku.capacity`; Azure creates VMs up to it. Resolves when the operation has finished. */
  setCapacity(scaleSet: ScaleSetRef, capacity: number): Promise<void>;
  /** Deletes exactly these VMs (by name); Azure lowers the capacity by as many. */
  deleteInstances(scaleSet: ScaleSetRef, vmNames: readonly string[]): Promise<void>;
  /** Every VM of the scale set, with its instance view and its vmId. */
  listInstances(scaleSet: ScaleSetRef): Promise<ScaleSetVm[]>;
}

/** Called after every ARM call, for metrics and logs. */
export type ComputeCallObserver = (call: {
  readonly operation: ComputeOperation;
  readonly scaleSet: string;
  readonly outcome: 'ok' | 'error';
  readonly code?: string;
  readonly ms: number;
}) => void;
