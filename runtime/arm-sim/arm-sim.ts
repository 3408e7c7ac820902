/**
 * arm-sim: a local HTTPS imitation of exactly the Azure Resource Manager calls the Azure driver
 * makes, so that tests, the demo and the benchmarks run the real driver and the real SDK with no
 * cloud. It is never deployed.
 *
 * Public API
 *   new ArmSim(options: ArmSimOptions)
 *   start(): Promise<{ url: string; ca: string }>  serve HTTPS; pass `url` as the driver's endpoint
 *                                                  and `ca` as its trusted CA
 *   stop(): Promise<void>                          stop every agent, clear timers, close the server
 *   addScaleSet(ref, { location?, vmSize? })       a Flexible scale set to serve, capacity 0
 *   injectFault(fault: SimFault)                   throttle, 5xx or a failed long-running operation
 *   neverRegister(count, scaleSet?)                the next `count` new VMs boot but never call onBoot
 *   killAgent(vmName): Promise<boolean>            stop a VM's agent; the VM keeps running
 *   vms(scaleSetName?): SimVm[]                    the VMs that exist now, oldest first
 *   attest(vmName, nonce): Promise<AttestedDocument>  the VM's attested data, as its metadata service
 *                                                  answers it, signed by the test chain (attestation.ts)
 *   attestationTrust(): Promise<SimAttestationTrust>  the roots and issuing CAs that verify it
 *   capacity(scaleSetName): number                 a scale set's `sku.capacity`
 *   stats: SimStats                                a snapshot of the recorder
 *   url: string                                    the base URL, once started
 *
 * Served calls (anything else is a 404 CloudError):
 *   PATCH .../virtualMachineScaleSets/{name}          sku.capacity; 200 + Azure-AsyncOperation
 *   POST  .../virtualMachineScaleSets/{name}/delete   { instanceIds }; 202 + Azure-AsyncOperation + Location
 *   GET   .../virtualMachineScaleSets/{name}          the scale set (the poller's final GET after PATCH)
 *   GET   .../virtualMachineScaleSets/{name}/virtualMachines  the scale set's VMs (what the driver lists), one page
 *   GET   .../virtualMachines/{name}                 one VM, with its `properties.vmId` (the driver reads it once per VM)
 *   GET   /subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/operations/{id}
 *         the operation status ({ status, error? }); with monitor=true the Location semantics
 *
 * Every request needs `Authorization: Bearer <token>` (any token) and an `api-version` query
 * parameter (any value). Bodies only use fields that Microsoft's published examples have at the
 * same path; test/runtime/arm-sim/contract.test.ts holds them to that.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ComputeOperation, ScaleSetRef } from '../azure/compute';
import type { AttestedDocument } from '../agent/identity';
import { attestedContent, SimAttestationChain, SimAttestationTrust, sharedSimAttestationChain, signAttestedContent, simAttestationTrust } from './attestation';
import { SimCertificate, sharedSimCertificate } from './certificate';

/** What the caller started for a booted VM, usually the real bot agent running in process. */
export interface SimAgentHandle {
  stop(): void | Promise<void>;
}

export type SimProvisioningState = 'Creating' | 'Succeeded' | 'Deleting';

/** A simulated VM, as handed to onBoot and returned by vms(). */
export interface SimVm {
  readonly name: string;
  readonly id: string;
  /** The VM's unique ID (`properties.vmId`), which its attested data carries. */
  readonly vmId: string;
  readonly scaleSet: ScaleSetRef;
  readonly provisioningState: SimProvisioningState;
  /** `PowerState/starting`, `PowerState/running` or `PowerState/deallocating`. */
  readonly powerState: string;
  readonly timeCreated: string;
  /** True while an agent handle returned by onBoot is held for this VM. */
  readonly agentRunning: boolean;
}

export interface ArmSimOptions {
  /** Seconds from scale-out until a VM is `Succeeded` and running and onBoot is called. Fractions allowed. */
  readonly bootSeconds: number;
  /** Seconds a deleted VM stays `Deleting` before it is gone. @default operationSeconds */
  readonly deleteSeconds?: number;
  /** Seconds until a long-running operation ends. A delete ends no sooner than its VMs are gone. @default min(1, bootSeconds) */
  readonly operationSeconds?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default one self-signed certificate shared by the process */
  readonly certificate?: SimCertificate;
  /** The chain VMs' attested data is signed with. @default one test chain shared by the process */
  readonly attestationChain?: SimAttestationChain;
  /** Called when a VM has booted; start the bot agent here and return a handle to stop it. */
  readonly onBoot?: (vm: SimVm) => SimAgentHandle | void | Promise<SimAgentHandle | void>;
  /** One line per request and per notable event. */
  readonly log?: (line: string) => void;
}

export interface SimFault {
  readonly operation: ComputeOperation;
  /**
   * `throttle`: 429 with Retry-After; `server-error`: 500; `operation-failed`: the request is
   * accepted and its long-running operation ends `Failed` (setCapacity and deleteInstances only).
   */
  readonly kind: 'throttle' | 'server-error' | 'operation-failed';
  /** The ARM error code. @default TooManyRequests, InternalServerError or AllocationFailed */
  readonly code?: string;
  /** The ARM error message. @default a message in ARM's words for the code */
  readonly message?: string;
  /** How many matching calls it applies to. @default 1 */
  readonly times?: number;
  /** Only calls on this scale set (by name). @default any scale set */
  readonly scaleSet?: string;
  /**
   * The Retry-After value of a throttle, in seconds. ARM sends whole seconds; the SDK also
   * honours 0 (retry at once). `null` sends none, and the SDK then does not retry. @default 1
   */
  readonly retryAfterSeconds?: number | null;
}

/** Requests the simulator answered, by the call they were for (retries and pages included). */
export type SimCallName = ComputeOperation | 'getScaleSet' | 'operationStatus';

export interface SimStats {
  /** The most VMs that existed at once across all scale sets, Creating and Deleting ones included. */
  readonly maxInstances: number;
  /** The same, per scale set name. */
  readonly maxInstancesByScaleSet: Readonly<Record<string, number>>;
  readonly calls: Readonly<Record<SimCallName, number>>;
  /** Times a PATCH set the capacity below the VMs that existed, so that Azure picked VMs to remove. */
  readonly blindScaleIns: number;
  /** Requests refused for a missing bearer token. */
  readonly unauthorized: number;
}

/** ARM's error body (CloudError); see definitions-excerpt.json. */
export interface CloudError {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly target?: string;
    readonly details?: ReadonlyArray<{ readonly code?: string; readonly target?: string; readonly message?: string }>;
  };
}

interface ScaleSetState {
  readonly ref: ScaleSetRef;
  readonly id: string;
  readonly location: string;
  readonly vmSize: string;
  readonly uniqueId: string;
  capacity: number;
  runningOperations: number;
}

interface VmState {
  readonly name: string;
  readonly id: string;
  readonly vmId: string;
  readonly scaleSet: ScaleSetState;
  readonly timeCreated: string;
  readonly seq: number;
  provisioningState: SimProvisioningState;
  /** Boots but never calls onBoot: a bot that never registers. */
  readonly silent: boolean;
  agent?: SimAgentHandle;
}

type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed';

interface OperationState {
  readonly id: string;
  readonly subscriptionId: string;
  status: OperationStatus;
  error?: CloudError['error'];
}

interface PendingFault {
  readonly fault: SimFault;
  remaining: number;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: CloudError,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.error.message);
  }
}

const SEGMENT = '([^/]+)';
const PROVIDER = '/providers/microsoft\\.compute';
const VM_PATH = new RegExp(`^/subscriptions/${SEGMENT}/resourcegroups/${SEGMENT}${PROVIDER}/virtualmachines/${SEGMENT}$`, 'i');
const SCALE_SET_PATH = new RegExp(
  `^/subscriptions/${SEGMENT}/resourcegroups/${SEGMENT}${PROVIDER}/virtualmachinescalesets/${SEGMENT}(/delete|/virtualmachines)?$`,
  'i',
);
const OPERATION_PATH = new RegExp(`^/subscriptions/${SEGMENT}${PROVIDER}/locations/${SEGMENT}/operations/${SEGMENT}$`, 'i');
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_FINISHED_OPERATIONS = 1000;

const DEFAULT_FAULT_CODES: Record<SimFault['kind'], string> = {
  throttle: 'TooManyRequests',
  'server-error': 'InternalServerError',
  'operation-failed': 'AllocationFailed',
};

export class ArmSim {
  private readonly options: ArmSimOptions;
  private readonly operationMs: number;
  private readonly deleteMs: number;
  private readonly bootMs: number;
  private readonly scaleSets = new Map<string, ScaleSetState>();
  private readonly vmsByName = new Map<string, VmState>();
  private readonly operations = new Map<string, OperationState>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faults: PendingFault[] = [];
  private failureRate?: { rate: number; random: () => number };
  /** Calls failed by the failure rate, by operation. */
  readonly randomFailures: Record<string, number> = {};
  private readonly silentQuota: Array<{ scaleSet?: string; remaining: number }> = [];
  private readonly pendingStops = new Set<Promise<void>>();
  private server?: Server;
  private baseUrl?: string;
  private stopped = false;
  private vmSeq = 0;
  private maxInstances = 0;
  private readonly maxByScaleSet: Record<string, number> = {};
  private readonly calls: Record<SimCallName, number> = {
    setCapacity: 0,
    deleteInstances: 0,
    listInstances: 0,
    getInstance: 0,
    getScaleSet: 0,
    operationStatus: 0,
  };
  private blindScaleIns = 0;
  private unauthorized = 0;

  constructor(options: ArmSimOptions) {
    for (const [field, value] of Object.entries({
      bootSeconds: options.bootSeconds,
      deleteSeconds: options.deleteSeconds,
      operationSeconds: options.operationSeconds,
    })) {
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new RangeError(`ArmSim: ${field} must be a number of seconds >= 0, got ${value}`);
      }
    }
    this.options = options;
    this.bootMs = options.bootSeconds * 1000;
    this.operationMs = (options.operationSeconds ?? Math.min(1, options.bootSeconds)) * 1000;
    this.deleteMs = options.deleteSeconds !== undefined ? options.deleteSeconds * 1000 : this.operationMs;
  }

  /** The base URL, e.g. `https://127.0.0.1:43210`; only after start(). */
  get url(): string {
    if (!this.baseUrl) throw new Error('ArmSim: not started; call start() first');
    return this.baseUrl;
  }

  async start(): Promise<{ url: string; ca: string }> {
    if (this.server) throw new Error('ArmSim: already started');
    if (this.stopped) throw new Error('ArmSim: a stopped simulator cannot be restarted; create a new one');
    const certificate = this.options.certificate ?? (await sharedSimCertificate());
    const server = createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
        if (!res.headersSent) {
          send(res, 500, cloudError('InternalServerError', 'arm-sim failed to answer the request.'));
        }
      });
    });
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.log(`listening on ${this.baseUrl}`);
    return { url: this.baseUrl, ca: certificate.cert };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const vm of this.vmsByName.values()) void this.stopAgent(vm);
    await Promise.all([...this.pendingStops]);
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; close() alone would wait for them.
        server.closeAllConnections();
      });
    }
  }

  /** Serves a Flexible scale set with capacity 0. Location defaults to northeurope, vmSize to Standard_D2s_v5. */
  addScaleSet(ref: ScaleSetRef, options: { location?: string; vmSize?: string } = {}): void {
    const key = scaleSetKey(ref.subscriptionId, ref.resourceGroup, ref.name);
    if (this.scaleSets.has(key)) throw new Error(`ArmSim: scale set ${ref.name} is already served`);
    this.scaleSets.set(key, {
      ref: { subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup, name: ref.name },
      id: scaleSetId(ref),
      location: options.location ?? 'northeurope',
      vmSize: options.vmSize ?? 'Standard_D2s_v5',
      uniqueId: randomUUID(),
      capacity: 0,
      runningOperations: 0,
    });
    this.maxByScaleSet[ref.name] ??= 0;
  }

  injectFault(fault: SimFault): void {
    const times = fault.times ?? 1;
    if (!(Number.isInteger(times) && times > 0)) {
      throw new RangeError(`ArmSim: fault times must be a positive integer, got ${fault.times}`);
    }
    if (fault.kind === 'operation-failed' && (fault.operation === 'listInstances' || fault.operation === 'getInstance')) {
      throw new Error(`ArmSim: ${fault.operation} is not a long-running operation; use throttle or server-error`);
    }
    this.faults.push({ fault, remaining: times });
  }

  /**
   * From now on, each ARM call fails with probability `rate` (0..1): a throttle, a 500, or, for
   * scale-out and scale-in, a long-running operation ending Failed. For soak runs.
   */
  setFailureRate(rate: number, random: () => number = Math.random): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`ArmSim: failure rate must be from 0 to 1, got ${rate}`);
    this.failureRate = { rate, random };
  }

  neverRegister(count: number, scaleSet?: string): void {
    if (!(Number.isInteger(count) && count > 0)) {
      throw new RangeError(`ArmSim: neverRegister count must be a positive integer, got ${count}`);
    }
    this.silentQuota.push({ scaleSet, remaining: count });
  }

  /** Stops the VM's agent as if the bot died mid-run; the VM stays. False when none was running. */
  async killAgent(vmName: string): Promise<boolean> {
    const vm = this.vmsByName.get(vmName.toLowerCase());
    if (!vm?.agent) return false;
    this.log(`agent of ${vm.name} killed`);
    await this.stopAgent(vm);
    return true;
  }

  vms(scaleSetName?: string): SimVm[] {
    return this.sortedVms()
      .filter((vm) => scaleSetName === undefined || sameName(vm.scaleSet.ref.name, scaleSetName))
      .map((vm) => this.snapshot(vm));
  }

  /**
   * The attested data of a VM that exists, for `nonce`, as its metadata service would answer it:
   * the document (vmId, subscription, nonce, times) signed by the test chain. Only the VM itself
   * can ask its metadata service; here the caller plays the VM.
   */
  async attest(vmName: string, nonce: string): Promise<AttestedDocument> {
    const vm = this.vmsByName.get(vmName.toLowerCase());
    if (!vm || vm.provisioningState === 'Deleting') throw new Error(`ArmSim: no VM ${vmName} to attest`);
    const chain = await this.attestationChain();
    const content = attestedContent({ vmId: vm.vmId, subscriptionId: vm.scaleSet.ref.subscriptionId, nonce, now: Date.now() });
    return signAttestedContent(Buffer.from(JSON.stringify(content)), chain.signer);
  }

  /** The roots and issuing CAs a runtime must trust to accept this simulator's attested data. */
  async attestationTrust(): Promise<SimAttestationTrust> {
    return simAttestationTrust(await this.attestationChain());
  }

  private attestationChain(): Promise<SimAttestationChain> {
    return this.options.attestationChain ? Promise.resolve(this.options.attestationChain) : sharedSimAttestationChain();
  }

  capacity(scaleSetName: string): number {
    const matches = [...this.scaleSets.values()].filter((s) => sameName(s.ref.name, scaleSetName));
    if (matches.length !== 1) throw new Error(`ArmSim: ${matches.length} scale sets are named ${scaleSetName}`);
    return matches[0].capacity;
  }

  get stats(): SimStats {
    return {
      maxInstances: this.maxInstances,
      maxInstancesByScaleSet: { ...this.maxByScaleSet },
      calls: { ...this.calls },
      blindScaleIns: this.blindScaleIns,
      unauthorized: this.unauthorized,
    };
  }

  // ---- HTTP -------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.url);
    let bodyText = '';
    let status = 500;
    try {
      bodyText = await readBody(req);
      const answer = this.route(req, method, url, bodyText);
      status = answer.status;
      send(res, answer.status, answer.body, answer.headers);
    } catch (error) {
      if (!(error instanceof HttpFailure)) throw error;
      status = error.status;
      send(res, error.status, error.body, error.headers);
    } finally {
      const shownBody = bodyText && method !== 'GET' ? ` ${bodyText}` : '';
      this.log(`${method} ${url.pathname}${url.search} -> ${status}${shownBody}`);
    }
  }

  private route(req: IncomingMessage, method: string, url: URL, bodyText: string): Answer {
    const authorization = req.headers.authorization ?? '';
    if (!/^Bearer\s+\S+/i.test(authorization)) {
      this.unauthorized += 1;
      throw new HttpFailure(
        401,
        cloudError('AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing or is not a bearer token."),
      );
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) {
      throw new HttpFailure(
        400,
        cloudError('MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests."),
      );
    }
    const path = decodeURIComponent(url.pathname).replace(/\/+$/, '');

    const scaleSetMatch = SCALE_SET_PATH.exec(path);
    if (scaleSetMatch) {
      const [, subscriptionId, resourceGroup, name, suffix] = scaleSetMatch;
      const scaleSet = this.findScaleSet(subscriptionId, resourceGroup, name);
      if (suffix?.toLowerCase() === '/virtualmachines') {
        if (method !== 'GET') throw methodNotAllowed(method, path);
        return this.listScaleSetVms(scaleSet);
      }
      const deleteSuffix = suffix;
      if (deleteSuffix && method === 'POST') {
        return this.deleteInstances(scaleSet, parseJson(bodyText), apiVersion);
      }
      if (!deleteSuffix && method === 'PATCH') return this.setCapacity(scaleSet, parseJson(bodyText), apiVersion);
      if (!deleteSuffix && method === 'GET') {
        this.calls.getScaleSet += 1;
        return { status: 200, body: scaleSetBody(scaleSet) };
      }
      throw methodNotAllowed(method, path);
    }

    const vmMatch = VM_PATH.exec(path);
    if (vmMatch) {
      if (method !== 'GET') throw methodNotAllowed(method, path);
      return this.getVm(vmMatch[1], vmMatch[2], vmMatch[3]);
    }

    const operationMatch = OPERATION_PATH.exec(path);
    if (operationMatch) {
      if (method !== 'GET') throw methodNotAllowed(method, path);
      return this.operationStatus(operationMatch[1], operationMatch[3], url);
    }

    throw new HttpFailure(404, cloudError('ResourceNotFound', `The resource '${path}' was not found.`));
  }

  // ---- Operations -------------------------------------------------------------------------

  private setCapacity(scaleSet: ScaleSetState, body: unknown, apiVersion: string): Answer {
    this.calls.setCapacity += 1;
    const capacity = (body as { sku?: { capacity?: unknown } } | undefined)?.sku?.capacity;
    if (capacity !== undefined && !(typeof capacity === 'number' && Number.isInteger(capacity) && capacity >= 0)) {
      throw new HttpFailure(
        400,
        cloudError('InvalidParameter', `The value ${JSON.stringify(capacity)} of parameter 'sku.capacity' is not valid.`, 'sku.capacity'),
      );
    }
    const failure = this.takeFault('setCapacity', scaleSet.ref.name);
    const created: VmState[] = [];
    if (typeof capacity === 'number') {
      const live = this.sortedVms().filter((vm) => vm.scaleSet === scaleSet && vm.provisioningState !== 'Deleting');
      if (capacity > live.length) {
        for (let i = live.length; i < capacity; i++) created.push(this.createVm(scaleSet));
      } else if (capacity < live.length) {
        // What Azure does when told a lower count: it picks the VMs, here the newest.
        this.blindScaleIns += 1;
        const victims = live.slice(capacity);
        this.log(`blind scale-in of ${scaleSet.ref.name} to ${capacity}: ${victims.map((vm) => vm.name).join(', ')}`);
        for (const vm of victims) this.startDeleting(vm);
      }
      scaleSet.capacity = capacity;
    }
    const operation = this.startOperation(scaleSet, this.operationMs, failure, () => {
      // A failed scale-out leaves nothing behind, and the capacity is what it was.
      const removed = created.filter((vm) => this.vmsByName.get(vm.name.toLowerCase()) === vm);
      for (const vm of removed) this.removeVm(vm);
      scaleSet.capacity = Math.max(0, scaleSet.capacity - removed.length);
    });
    return {
      status: 200,
      body: scaleSetBody(scaleSet),
      headers: { 'Azure-AsyncOperation': this.operationUrl(scaleSet, operation, apiVersion, false) },
    };
  }

  private deleteInstances(scaleSet: ScaleSetState, body: unknown, apiVersion: string): Answer {
    this.calls.deleteInstances += 1;
    const instanceIds = (body as { instanceIds?: unknown } | undefined)?.instanceIds;
    if (!Array.isArray(instanceIds) || instanceIds.length === 0 || !instanceIds.every((id) => typeof id === 'string')) {
      throw new HttpFailure(
        400,
        cloudError('InvalidParameter', "Required parameter 'instanceIds' is missing or empty.", 'instanceIds'),
      );
    }
    const targets: VmState[] = [];
    const unknown: string[] = [];
    for (const name of instanceIds as string[]) {
      const vm = this.vmsByName.get(name.toLowerCase());
      if (vm && vm.scaleSet === scaleSet) targets.push(vm);
      else unknown.push(name);
    }
    if (unknown.length > 0) {
      throw new HttpFailure(
        404,
        cloudError(
          'ResourceNotFound',
          `The Resource 'Microsoft.Compute/virtualMachines/${unknown.join(', ')}' under resource group ` +
            `'${scaleSet.ref.resourceGroup}' was not found in scale set '${scaleSet.ref.name}'.`,
          'instanceIds',
        ),
      );
    }
    const failure = this.takeFault('deleteInstances', scaleSet.ref.name);
    if (!failure) {
      // Names already being deleted are accepted again (a retried call) but counted once.
      const fresh = targets.filter((vm) => vm.provisioningState !== 'Deleting');
      for (const vm of fresh) this.startDeleting(vm);
      scaleSet.capacity = Math.max(0, scaleSet.capacity - fresh.length);
    }
    // ARM confirms the delete once the VMs are gone.
    const operation = this.startOperation(scaleSet, Math.max(this.operationMs, this.deleteMs), failure);
    return {
      status: 202,
      headers: {
        'Azure-AsyncOperation': this.operationUrl(scaleSet, operation, apiVersion, false),
        Location: this.operationUrl(scaleSet, operation, apiVersion, true),
      },
    };
  }

  /**
   * The scale set's own VM list (VirtualMachineScaleSetVMs_List), which a role on the scale set
   * may read. For a Flexible scale set ARM answers the VM name and resource ID, no properties.
   */
  private listScaleSetVms(scaleSet: ScaleSetState): Answer {
    this.calls.listInstances += 1;
    this.takeFault('listInstances', scaleSet.ref.name);
    // One page: a scale set holds at most 50 bots, and Microsoft's examples of this list show no
    // nextLink (the SDK would follow one from real ARM all the same).
    const vms = this.sortedVms().filter((vm) => vm.scaleSet === scaleSet);
    return {
      status: 200,
      body: {
        value: vms.map((vm) => ({
          name: vm.name,
          id: `${scaleSet.id}/virtualMachines/${vm.name}`,
          type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
          location: scaleSet.location,
          instanceId: vm.name,
          etag: '"1"',
          virtualMachineResourceId: vm.id,
        })),
      },
    };
  }

  /** One VM (VirtualMachines_Get): what the driver reads of it is `properties.vmId`. */
  private getVm(subscriptionId: string, resourceGroup: string, name: string): Answer {
    this.calls.getInstance += 1;
    const vm = this.vmsByName.get(name.toLowerCase());
    if (!vm || !sameName(vm.scaleSet.ref.subscriptionId, subscriptionId) || !sameName(vm.scaleSet.ref.resourceGroup, resourceGroup)) {
      throw new HttpFailure(
        404,
        cloudError('ResourceNotFound', `The Resource 'Microsoft.Compute/virtualMachines/${name}' under resource group '${resourceGroup}' was not found.`),
      );
    }
    this.takeFault('getInstance', vm.scaleSet.ref.name);
    return {
      status: 200,
      body: {
        name: vm.name,
        id: vm.id,
        type: 'Microsoft.Compute/virtualMachines',
        location: vm.scaleSet.location,
        etag: '"1"',
        managedBy: vm.scaleSet.id,
        properties: {
          vmId: vm.vmId,
          hardwareProfile: { vmSize: vm.scaleSet.vmSize },
          provisioningState: vm.provisioningState,
          timeCreated: vm.timeCreated,
        },
      },
    };
  }

  private operationStatus(subscriptionId: string, operationId: string, url: URL): Answer {
    this.calls.operationStatus += 1;
    const operation = this.operations.get(operationId.toLowerCase());
    if (!operation || !sameName(operation.subscriptionId, subscriptionId)) {
      throw new HttpFailure(404, cloudError('ResourceNotFound', `The operation '${operationId}' was not found.`));
    }
    if (url.searchParams.get('monitor') !== 'true') {
      return { status: 200, body: operation.error ? { status: operation.status, error: operation.error } : { status: operation.status } };
    }
    // The Location URL: 202 while running, 200 with no body once done, the error once failed.
    if (operation.status === 'InProgress') return { status: 202, headers: { Location: url.toString() } };
    if (operation.status === 'Failed' && operation.error) throw new HttpFailure(409, { error: operation.error });
    return { status: 200 };
  }

  // ---- State ------------------------------------------------------------------------------

  private findScaleSet(subscriptionId: string, resourceGroup: string, name: string): ScaleSetState {
    const scaleSet = this.scaleSets.get(scaleSetKey(subscriptionId, resourceGroup, name));
    if (!scaleSet) {
      throw new HttpFailure(
        404,
        cloudError(
          'ResourceNotFound',
          `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${name}' under resource group '${resourceGroup}' was not found.`,
        ),
      );
    }
    return scaleSet;
  }

  /** Consumes one matching fault; throttles and 5xx are thrown, a failure is returned for the operation. */
  private takeFault(operation: ComputeOperation, scaleSetName: string | undefined): CloudError['error'] | undefined {
    const index = this.faults.findIndex(
      (p) =>
        p.fault.operation === operation &&
        (p.fault.scaleSet === undefined || (scaleSetName !== undefined && sameName(p.fault.scaleSet, scaleSetName))),
    );
    if (index < 0) return this.randomFault(operation, scaleSetName);
    const pending = this.faults[index];
    pending.remaining -= 1;
    if (pending.remaining === 0) this.faults.splice(index, 1);
    const { fault } = pending;
    const code = fault.code ?? DEFAULT_FAULT_CODES[fault.kind];
    const message = fault.message ?? defaultMessage(code, scaleSetName);
    this.log(`fault ${fault.kind} ${code} on ${operation}${scaleSetName ? ` of ${scaleSetName}` : ''}`);
    if (fault.kind === 'throttle') {
      const retryAfter = fault.retryAfterSeconds === undefined ? 1 : fault.retryAfterSeconds;
      throw new HttpFailure(429, cloudError(code, message), retryAfter === null ? {} : { 'Retry-After': String(retryAfter) });
    }
    if (fault.kind === 'server-error') throw new HttpFailure(500, cloudError(code, message));
    return { code, message };
  }

  private randomFault(operation: ComputeOperation, scaleSetName: string | undefined): CloudError['error'] | undefined {
    const chance = this.failureRate;
    if (!chance || chance.random() >= chance.rate) return undefined;
    this.randomFailures[operation] = (this.randomFailures[operation] ?? 0) + 1;
    const kinds: SimFault['kind'][] = operation === 'listInstances' || operation === 'getInstance' ? ['throttle', 'server-error'] : ['throttle', 'server-error', 'operation-failed'];
    const kind = kinds[Math.floor(chance.random() * kinds.length)];
    const code = kind === 'operation-failed' ? ['AllocationFailed', 'QuotaExceeded', 'InternalExecutionError'][Math.floor(chance.random() * 3)] : DEFAULT_FAULT_CODES[kind];
    this.faults.unshift({ fault: { operation, kind, code, scaleSet: scaleSetName, retryAfterSeconds: 0 }, remaining: 1 });
    return this.takeFault(operation, scaleSetName);
  }

  private createVm(scaleSet: ScaleSetState): VmState {
    let name: string;
    do name = `${scaleSet.ref.name}_${randomBytes(4).toString('hex')}`;
    while (this.vmsByName.has(name.toLowerCase()));
    const quota = this.silentQuota.find((q) => q.scaleSet === undefined || sameName(q.scaleSet, scaleSet.ref.name));
    if (quota && --quota.remaining === 0) this.silentQuota.splice(this.silentQuota.indexOf(quota), 1);
    const vm: VmState = {
      name,
      vmId: randomUUID(),
      id: `/subscriptions/${scaleSet.ref.subscriptionId}/resourceGroups/${scaleSet.ref.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`,
      scaleSet,
      timeCreated: new Date().toISOString(),
      seq: this.vmSeq++,
      provisioningState: 'Creating',
      silent: quota !== undefined,
    };
    this.vmsByName.set(name.toLowerCase(), vm);
    this.recordMaxima(scaleSet);
    this.log(`VM ${name} creating${vm.silent ? ' (will never register)' : ''}`);
    this.schedule(this.bootMs, () => this.boot(vm));
    return vm;
  }

  private boot(vm: VmState): void {
    if (this.stopped || vm.provisioningState !== 'Creating' || this.vmsByName.get(vm.name.toLowerCase()) !== vm) return;
    vm.provisioningState = 'Succeeded';
    this.log(`VM ${vm.name} running`);
    const onBoot = this.options.onBoot;
    if (vm.silent || !onBoot) return;
    Promise.resolve()
      .then(() => onBoot(this.snapshot(vm)))
      .then((handle) => {
        if (!handle) return;
        // The VM may have gone while the agent was starting.
        if (this.stopped || vm.provisioningState !== 'Succeeded' || this.vmsByName.get(vm.name.toLowerCase()) !== vm) {
          this.trackStop(vm.name, handle);
        } else {
          vm.agent = handle;
        }
      })
      .catch((error: unknown) => this.log(`onBoot for ${vm.name} failed: ${errorText(error)}`));
  }

  private startDeleting(vm: VmState): void {
    if (vm.provisioningState === 'Deleting') return;
    vm.provisioningState = 'Deleting';
    void this.stopAgent(vm);
    this.log(`VM ${vm.name} deleting`);
    this.schedule(this.deleteMs, () => this.removeVm(vm));
  }

  private removeVm(vm: VmState): void {
    if (this.vmsByName.get(vm.name.toLowerCase()) !== vm) return;
    void this.stopAgent(vm);
    this.vmsByName.delete(vm.name.toLowerCase());
    // Stops a pending boot from reviving it.
    vm.provisioningState = 'Deleting';
    this.log(`VM ${vm.name} gone`);
  }

  private stopAgent(vm: VmState): Promise<void> {
    const handle = vm.agent;
    vm.agent = undefined;
    return handle ? this.trackStop(vm.name, handle) : Promise.resolve();
  }

  private trackStop(vmName: string, handle: SimAgentHandle): Promise<void> {
    const stopping = Promise.resolve()
      .then(() => handle.stop())
      .catch((error: unknown) => this.log(`stopping the agent of ${vmName} failed: ${errorText(error)}`))
      .finally(() => this.pendingStops.delete(stopping));
    this.pendingStops.add(stopping);
    return stopping;
  }

  private startOperation(
    scaleSet: ScaleSetState,
    durationMs: number,
    failure: CloudError['error'] | undefined,
    onFailure?: () => void,
  ): OperationState {
    const operation: OperationState = { id: randomUUID(), subscriptionId: scaleSet.ref.subscriptionId, status: 'InProgress' };
    this.operations.set(operation.id, operation);
    this.pruneOperations();
    scaleSet.runningOperations += 1;
    this.schedule(durationMs, () => {
      scaleSet.runningOperations -= 1;
      if (failure) {
        onFailure?.();
        operation.status = 'Failed';
        operation.error = failure;
      } else {
        operation.status = 'Succeeded';
      }
      this.log(`operation ${operation.id} on ${scaleSet.ref.name} ${operation.status}`);
    });
    return operation;
  }

  private pruneOperations(): void {
    if (this.operations.size <= MAX_FINISHED_OPERATIONS) return;
    for (const [id, operation] of this.operations) {
      if (this.operations.size <= MAX_FINISHED_OPERATIONS) break;
      if (operation.status !== 'InProgress') this.operations.delete(id);
    }
  }

  private operationUrl(scaleSet: ScaleSetState, operation: OperationState, apiVersion: string, monitor: boolean): string {
    const url = new URL(
      `/subscriptions/${scaleSet.ref.subscriptionId}/providers/Microsoft.Compute/locations/${scaleSet.location}/operations/${operation.id}`,
      this.url,
    );
    if (monitor) url.searchParams.set('monitor', 'true');
    url.searchParams.set('api-version', apiVersion);
    return url.toString();
  }

  private schedule(ms: number, action: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) action();
    }, ms);
    // A test that forgets stop() should not keep jest alive.
    timer.unref();
    this.timers.add(timer);
  }

  private recordMaxima(scaleSet: ScaleSetState): void {
    this.maxInstances = Math.max(this.maxInstances, this.vmsByName.size);
    let inScaleSet = 0;
    for (const vm of this.vmsByName.values()) if (vm.scaleSet === scaleSet) inScaleSet += 1;
    const name = scaleSet.ref.name;
    this.maxByScaleSet[name] = Math.max(this.maxByScaleSet[name] ?? 0, inScaleSet);
  }

  private sortedVms(): VmState[] {
    return [...this.vmsByName.values()].sort((a, b) => a.seq - b.seq);
  }

  private snapshot(vm: VmState): SimVm {
    return {
      name: vm.name,
      id: vm.id,
      vmId: vm.vmId,
      scaleSet: vm.scaleSet.ref,
      provisioningState: vm.provisioningState,
      powerState: POWER_STATES[vm.provisioningState],
      timeCreated: vm.timeCreated,
      agentRunning: vm.agent !== undefined,
    };
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

// ---- Bodies (every field here exists at the same path in Microsoft's examples) ---------------

interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

const POWER_STATES: Record<SimProvisioningState, string> = {
  Creating: 'PowerState/starting',
  Succeeded: 'PowerState/running',
  Deleting: 'PowerState/deallocating',
};

function scaleSetBody(scaleSet: ScaleSetState): Record<string, unknown> {
  return {
    name: scaleSet.ref.name,
    id: scaleSet.id,
    type: 'Microsoft.Compute/virtualMachineScaleSets',
    location: scaleSet.location,
    sku: { name: scaleSet.vmSize, tier: 'Standard', capacity: scaleSet.capacity },
    properties: {
      singlePlacementGroup: false,
      platformFaultDomainCount: 1,
      orchestrationMode: 'Flexible',
      uniqueId: scaleSet.uniqueId,
      provisioningState: scaleSet.runningOperations > 0 ? 'Updating' : 'Succeeded',
    },
  };
}

function cloudError(code: string, message: string, target?: string): CloudError {
  return { error: target ? { code, target, message } : { code, message } };
}

function defaultMessage(code: string, scaleSetName: string | undefined): string {
  const scaleSet = scaleSetName ?? 'the scale set';
  switch (code) {
    case 'AllocationFailed':
      return (
        `Allocation failed. We do not have sufficient capacity for the requested VM size in this region ` +
        `for ${scaleSet}. Read more about improving likelihood of allocation success at http://aka.ms/allocation-guidance`
      );
    case 'QuotaExceeded':
      return (
        `Operation could not be completed as it results in exceeding approved Total Regional Cores quota ` +
        `for ${scaleSet}. Request a quota increase or lower the requested capacity.`
      );
    case 'OSProvisioningTimedOut':
      return (
        `OS Provisioning for a VM of ${scaleSet} did not finish in the allotted time. The VM may still finish ` +
        `provisioning successfully. Please check provisioning state later.`
      );
    case 'TooManyRequests':
      return 'The request is being throttled as the limit has been reached for operation type. Retry after the time in Retry-After.';
    case 'InternalServerError':
      return 'An internal execution error occurred. Please retry later.';
    default:
      return `The operation on ${scaleSet} failed with ${code}.`;
  }
}

function methodNotAllowed(method: string, path: string): HttpFailure {
  return new HttpFailure(405, cloudError('MethodNotAllowed', `The method '${method}' is not supported on '${path}'.`));
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
    'Content-Length': Buffer.byteLength(text),
    'x-ms-request-id': randomUUID(),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpFailure(413, cloudError('RequestEntityTooLarge', 'The request body is too large.')));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpFailure(400, cloudError('InvalidRequestContent', 'The request content was invalid and could not be deserialized.'));
  }
}

function scaleSetKey(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${subscriptionId}/${resourceGroup}/${name}`.toLowerCase();
}

function scaleSetId(ref: ScaleSetRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${ref.name}`;
}

/** ARM names and IDs compare case-insensitively. */
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
