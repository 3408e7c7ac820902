/**
 * The ComputeDriver on the real Azure SDK (@azure/arm-compute 24.1.0). The same code talks to
 * Azure and, in tests and the demo, to arm-sim: only `endpoint` and `ca` differ.
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import { ManagedIdentityCredential } from '@azure/identity';
import {
  ComputeCallObserver,
  ComputeDriver,
  ComputeError,
  ComputeOperation,
  ScaleSetRef,
  ScaleSetVm,
} from './compute';

export interface AzureDriverOptions {
  /** Who calls ARM; in Azure, the runtime's user-assigned managed identity. */
  readonly credential: TokenCredential;
  /** The ARM endpoint. @default 'https://management.azure.com' */
  readonly endpoint?: string;
  /** An extra CA to trust, e.g. arm-sim's self-signed certificate. @default the system CAs */
  readonly ca?: string | Buffer;
  /** The SDK retry policy: 5xx, and 429 when Retry-After is present. @default the SDK's (3 retries, 1 s doubling up to 64 s) */
  readonly retry?: {
    readonly maxRetries?: number;
    readonly retryDelayInMs?: number;
    readonly maxRetryDelayInMs?: number;
  };
  /** How often a long-running operation is polled when ARM sends no Retry-After. @default the SDK's (2 s) */
  readonly pollIntervalMs?: number;
  /** Told about every ARM call, for metrics and logs. */
  readonly observer?: ComputeCallObserver;
}

/** The credential of a user-assigned managed identity, by its client ID. */
export function managedIdentityCredential(clientId: string): TokenCredential {
  if (!clientId) throw new Error('managedIdentityCredential: clientId is required (the user-assigned identity)');
  return new ManagedIdentityCredential({ clientId });
}

export function createAzureDriver(options: AzureDriverOptions): ComputeDriver {
  const clients = new Map<string, ComputeManagementClient>();
  /**
   * Per scale set, the vmIds of its VMs by resource ID (lowercase). A Flexible scale set's VM list
   * answers names and resource IDs only (VirtualMachineScaleSetVM_List_WithVirtualMachineResourceId.json),
   * so each VM is read once, by VirtualMachines_Get, whose `properties.vmId` does not change for
   * the VM's life (VirtualMachine_Get.json).
   */
  const vmIds = new Map<string, Map<string, string>>();

  function clientFor(subscriptionId: string): ComputeManagementClient {
    let client = clients.get(subscriptionId);
    if (!client) {
      client = new ComputeManagementClient(options.credential, subscriptionId, {
        endpoint: options.endpoint ?? 'https://management.azure.com',
        userAgentOptions: { userAgentPrefix: 'hosted-rpa-bots' },
        ...(options.ca !== undefined ? { tlsOptions: { ca: options.ca } } : {}),
        ...(options.retry ? { retryOptions: { ...options.retry } } : {}),
      });
      clients.set(subscriptionId, client);
    }
    return client;
  }

  async function observed<T>(operation: ComputeOperation, scaleSet: ScaleSetRef, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      notify({ operation, scaleSet: scaleSet.name, outcome: 'ok', ms: performance.now() - started });
      return result;
    } catch (error) {
      const failure = toComputeError(operation, error);
      notify({ operation, scaleSet: scaleSet.name, outcome: 'error', code: failure.code, ms: performance.now() - started });
      throw failure;
    }
  }

  function notify(call: Parameters<ComputeCallObserver>[0]): void {
    try {
      options.observer?.(call);
    } catch {
      // A broken metrics hook must not turn a finished ARM call into a failure.
    }
  }

  const poll = options.pollIntervalMs !== undefined ? { updateIntervalInMs: options.pollIntervalMs } : {};

  return {
    async setCapacity(scaleSet, capacity) {
      if (!Number.isInteger(capacity) || capacity < 0) {
        throw new RangeError(`setCapacity: capacity of ${scaleSet.name} must be an integer >= 0, got ${capacity}`);
      }
      await observed('setCapacity', scaleSet, () =>
        // Only sku.capacity: anything else in the PATCH would overwrite what Terraform declared.
        clientFor(scaleSet.subscriptionId).virtualMachineScaleSets.beginUpdateAndWait(
          scaleSet.resourceGroup,
          scaleSet.name,
          { sku: { capacity } },
          poll,
        ),
      );
    },

    async deleteInstances(scaleSet, vmNames) {
      // ARM refuses an empty list, and there is nothing to do.
      if (vmNames.length === 0) return;
      await observed('deleteInstances', scaleSet, () =>
        // Flexible scale sets take VM names as instance IDs.
        clientFor(scaleSet.subscriptionId).virtualMachineScaleSets.beginDeleteInstancesAndWait(
          scaleSet.resourceGroup,
          scaleSet.name,
          { instanceIds: [...vmNames] },
          poll,
        ),
      );
    },

    async listInstances(scaleSet) {
      const listed = await observed('listInstances', scaleSet, async () => {
        // The scale set's own VM list: the runtime's identity holds roles on each scale set only,
        // never on the resource group, and a resource-group VM list is authorized there.
        const vms: ScaleSetVm[] = [];
        const pages = clientFor(scaleSet.subscriptionId).virtualMachineScaleSetVMs.list(scaleSet.resourceGroup, scaleSet.name);
        for await (const vm of pages) {
          if (!vm.name) continue;
          const powerState = vm.instanceView?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code;
          vms.push({
            name: vm.name,
            id: vm.virtualMachineResourceId ?? vm.id ?? vm.name,
            // A Flexible scale set lists names only; a VM listed is one that exists.
            provisioningState: vm.provisioningState ?? 'Succeeded',
            ...(powerState ? { powerState } : {}),
            ...(vm.timeCreated ? { timeCreated: vm.timeCreated.toISOString() } : {}),
          });
        }
        return vms;
      });
      const key = `${scaleSet.subscriptionId}/${scaleSet.resourceGroup}/${scaleSet.name}`.toLowerCase();
      const known = vmIds.get(key) ?? new Map<string, string>();
      // Only the VMs listed now are remembered: a VM that is gone is forgotten.
      const kept = new Map<string, string>();
      const withIds: ScaleSetVm[] = [];
      for (const vm of listed) {
        const vmId = known.get(vm.id.toLowerCase()) ?? (vm.provisioningState === 'Deleting' ? undefined : await readVmId(scaleSet, vm));
        if (vmId !== undefined) kept.set(vm.id.toLowerCase(), vmId);
        withIds.push(vmId === undefined ? vm : { ...vm, vmId });
      }
      vmIds.set(key, kept);
      return withIds;
    },
  };

  /**
   * The VM's `properties.vmId`, or undefined when the read fails: the next list tries again. The
   * runtime may read VMs: Microsoft.Compute/virtualMachines/read is among the actions it holds on
   * the resource group for scale-outs (RUNTIME_INSTANCE_ACTIONS, constructs/bot-runtime.ts).
   */
  async function readVmId(scaleSet: ScaleSetRef, vm: ScaleSetVm): Promise<string | undefined> {
    const at = /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i.exec(vm.id);
    try {
      const read = await observed('getInstance', scaleSet, () => clientFor(scaleSet.subscriptionId).virtualMachines.get(at?.[1] ?? scaleSet.resourceGroup, at?.[2] ?? vm.name));
      return read.vmId || undefined;
    } catch {
      return undefined;
    }
  }
}

interface RestErrorLike {
  readonly name: 'RestError';
  readonly message: string;
  readonly code?: string;
  readonly statusCode?: number;
  readonly details?: unknown;
}

/** The SDK's RestError, recognised by name: the class lives in a transitive package. */
function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

/** core-lro's wording for an operation that ended Failed: "... has failed. <code>. <message>". */
const FAILED_OPERATION = /^The long-running operation has failed(?:\.\s+([^\s.]+)\.\s*([\s\S]*))?$/;

const STATUS_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'AuthenticationFailed',
  403: 'AuthorizationFailed',
  404: 'ResourceNotFound',
  409: 'Conflict',
  429: 'TooManyRequests',
};

function toComputeError(operation: ComputeOperation, error: unknown): ComputeError {
  if (error instanceof ComputeError) return error;
  if (isRestError(error)) {
    const armError = (error.details as { error?: { code?: string; message?: string } } | undefined)?.error;
    const status = error.statusCode;
    const code =
      armError?.code ??
      error.code ??
      (status === undefined ? 'RequestFailed' : (STATUS_CODES[status] ?? (status >= 500 ? 'InternalServerError' : `Http${status}`)));
    return new ComputeError(operation, code, armError?.message ?? error.message, status);
  }
  if (error instanceof Error) {
    const failed = FAILED_OPERATION.exec(error.message);
    if (failed) {
      return new ComputeError(operation, failed[1] ?? 'OperationFailed', failed[2] || error.message);
    }
    return new ComputeError(operation, 'OperationFailed', error.message);
  }
  return new ComputeError(operation, 'OperationFailed', String(error));
}
