/**
 * The Azure driver end to end: the real @azure/arm-compute client, its bearer-token, retry and
 * long-running-operation policies, over HTTPS against a started arm-sim.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import type { SimAgentHandle, SimVm } from '../../../runtime/arm-sim';
import { managedIdentityCredential } from '../../../runtime/azure/azure-driver';
import { ComputeError } from '../../../runtime/azure/compute';
import type { ComputeCallObserver } from '../../../runtime/azure/compute';
import { scaleSetRef, simHarness, waitFor } from '../arm-sim/sim-fixture';

const startSim = simHarness();
const finance = scaleSetRef('vmss-finance');
const sales = scaleSetRef('vmss-sales');

/** Records onBoot calls and hands out agent handles that note when they are stopped. */
function agents() {
  const booted: SimVm[] = [];
  const stopped: string[] = [];
  const onBoot = (vm: SimVm): SimAgentHandle => {
    booted.push(vm);
    return { stop: () => void stopped.push(vm.name) };
  };
  return { booted, stopped, onBoot };
}

describe('setCapacity', () => {
  test('creates the missing VMs, which boot and call onBoot', async () => {
    const bots = agents();
    const { sim, driver } = await startSim({ scaleSets: [finance], onBoot: bots.onBoot });

    await driver().setCapacity(finance, 3);
    await waitFor(() => bots.booted.length === 3);

    expect(sim.vms('vmss-finance').map((vm) => vm.provisioningState)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(bots.booted.map((vm) => vm.name).sort()).toEqual(sim.vms().map((vm) => vm.name).sort());
    expect(bots.booted.every((vm) => /^vmss-finance_[0-9a-f]{8}$/.test(vm.name))).toBe(true);
    expect(sim.capacity('vmss-finance')).toBe(3);
  });

  test('sends only sku.capacity in the PATCH', async () => {
    const lines: string[] = [];
    const { driver } = await startSim({ scaleSets: [finance], log: (line) => lines.push(line) });

    await driver().setCapacity(finance, 2);

    const patches = lines.filter((line) => line.startsWith('PATCH '));
    expect(patches).toHaveLength(1);
    expect(patches[0]).toMatch(/ -> 200 \{"sku":\{"capacity":2\}\}$/);
  });

  test('resolves only once the long-running operation has ended', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance], operationSeconds: 0.3 });
    const started = Date.now();

    await driver().setCapacity(finance, 1);

    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(sim.stats.calls.operationStatus).toBeGreaterThan(1);
    expect(sim.stats.calls.getScaleSet).toBe(1);
  });

  test('refuses a capacity that is not a whole number, without calling ARM', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });

    await expect(driver().setCapacity(finance, 1.5)).rejects.toThrow(RangeError);
    expect(sim.stats.calls.setCapacity).toBe(0);
  });
});

describe('deleteInstances', () => {
  test('removes exactly the named VMs and stops their agents', async () => {
    const bots = agents();
    const { sim, driver } = await startSim({ scaleSets: [finance], onBoot: bots.onBoot });
    const compute = driver();
    await compute.setCapacity(finance, 4);
    await waitFor(() => bots.booted.length === 4);
    const [keep1, drop1, keep2, drop2] = sim.vms().map((vm) => vm.name);

    await compute.deleteInstances(finance, [drop1, drop2]);

    expect(sim.vms().map((vm) => vm.name)).toEqual([keep1, keep2]);
    expect(bots.stopped.sort()).toEqual([drop1, drop2].sort());
    expect(sim.capacity('vmss-finance')).toBe(2);
    expect(sim.stats.blindScaleIns).toBe(0);
  });

  test('of a VM the scale set does not have fails with ResourceNotFound and deletes nothing', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    const compute = driver();
    await compute.setCapacity(finance, 2);
    const before = sim.vms().map((vm) => vm.name);

    const failure = await compute.deleteInstances(finance, [before[0], 'vmss-finance_deadbeef']).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(ComputeError);
    expect(failure).toMatchObject({ operation: 'deleteInstances', code: 'ResourceNotFound', statusCode: 404 });
    expect((failure as Error).message).toContain('vmss-finance_deadbeef');
    expect(sim.vms().map((vm) => vm.name)).toEqual(before);
  });

  test('with no names makes no call', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });

    await driver().deleteInstances(finance, []);

    expect(sim.stats.calls.deleteInstances).toBe(0);
  });
});

describe('listInstances', () => {
  test('returns only the VMs of the scale set asked for', async () => {
    const { driver } = await startSim({ scaleSets: [finance, sales] });
    const compute = driver();
    await compute.setCapacity(finance, 2);
    await compute.setCapacity(sales, 3);

    const financeVms = await compute.listInstances(finance);
    const salesVms = await compute.listInstances(sales);

    expect(financeVms.map((vm) => vm.name).every((name) => name.startsWith('vmss-finance_'))).toBe(true);
    expect(financeVms).toHaveLength(2);
    expect(salesVms.map((vm) => vm.name).every((name) => name.startsWith('vmss-sales_'))).toBe(true);
    expect(salesVms).toHaveLength(3);
  });

  test('lists every VM of the scale set with one call on the scale set itself', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    const compute = driver();
    await compute.setCapacity(finance, 5);
    const callsBefore = sim.stats.calls.listInstances;

    const vms = await compute.listInstances(finance);

    expect(vms.map((vm) => vm.name)).toEqual(sim.vms().map((vm) => vm.name));
    expect(sim.stats.calls.listInstances - callsBefore).toBe(1);
  });

  test('lists the scale set\'s own VMs by name, from creation on, as a Flexible scale set answers', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance], bootSeconds: 0.3, operationSeconds: 0.01 });
    const compute = driver();
    await compute.setCapacity(finance, 1);

    const [creating] = await compute.listInstances(finance);
    await waitFor(() => sim.vms()[0].provisioningState === 'Succeeded');
    const [running] = await compute.listInstances(finance);

    expect(creating.name).toBe(sim.vms()[0].name);
    expect(running).toEqual({ name: sim.vms()[0].name, id: expect.stringContaining(sim.vms()[0].name), provisioningState: 'Succeeded', vmId: sim.vms()[0].vmId });
  });

  test("gives each VM's vmId, reading each VM once (VirtualMachines_Get), however often the scale set is listed", async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance, sales] });
    const compute = driver();
    await compute.setCapacity(finance, 2);
    await compute.setCapacity(sales, 1);

    const first = await compute.listInstances(finance);
    await compute.listInstances(sales);
    await compute.listInstances(finance);
    await compute.setCapacity(finance, 3);
    const again = await compute.listInstances(finance);

    expect(first.map((vm) => vm.vmId)).toEqual(sim.vms('vmss-finance').slice(0, 2).map((vm) => vm.vmId));
    expect(again.map((vm) => vm.vmId)).toEqual(sim.vms('vmss-finance').map((vm) => vm.vmId));
    expect(sim.stats.calls.getInstance).toBe(4);
  });

  test('a VM whose read fails is listed without a vmId, and read again on the next list', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    const compute = driver({ retry: { maxRetries: 0 } });
    await compute.setCapacity(finance, 1);
    sim.injectFault({ operation: 'getInstance', kind: 'server-error' });

    const [unread] = await compute.listInstances(finance);
    const [read] = await compute.listInstances(finance);

    expect(unread.vmId).toBeUndefined();
    expect(read.vmId).toBe(sim.vms()[0].vmId);
  });

  test('a VM being deleted is listed until it is gone', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance], deleteSeconds: 0.5, operationSeconds: 0.01 });
    const compute = driver();
    await compute.setCapacity(finance, 1);
    const [vm] = sim.vms();

    const deleting = compute.deleteInstances(finance, [vm.name]);
    await waitFor(() => sim.vms()[0]?.provisioningState === 'Deleting');
    const listed = await compute.listInstances(finance);
    await deleting;

    expect(listed.map((v) => v.name)).toEqual([vm.name]);
    expect(await compute.listInstances(finance)).toEqual([]);
  });
});

describe('subscriptions', () => {
  test('scale sets of different subscriptions are each reached in their own', async () => {
    const other = { ...scaleSetRef('vmss-ops'), subscriptionId: '00000000-0000-0000-0000-000000000002' };
    const { sim, driver } = await startSim({ scaleSets: [finance, other] });
    const compute = driver();

    await compute.setCapacity(finance, 1);
    await compute.setCapacity(other, 2);

    expect(sim.vms().map((vm) => vm.scaleSet.subscriptionId)).toEqual([
      finance.subscriptionId,
      other.subscriptionId,
      other.subscriptionId,
    ]);
    expect(await compute.listInstances(other)).toHaveLength(2);
    expect((await compute.listInstances(other))[0].id).toContain(`/subscriptions/${other.subscriptionId}/`);
  });
});

describe('retries', () => {
  test('a 429 with Retry-After is retried and the call succeeds', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    sim.injectFault({ operation: 'setCapacity', kind: 'throttle', retryAfterSeconds: 0, times: 2 });

    await driver().setCapacity(finance, 1);

    expect(sim.stats.calls.setCapacity).toBe(3);
    expect(sim.capacity('vmss-finance')).toBe(1);
  });

  test('a throttle that outlasts the retries becomes TooManyRequests', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    sim.injectFault({ operation: 'listInstances', kind: 'throttle', retryAfterSeconds: 0, times: 10 });

    const failure = await driver({ retry: { maxRetries: 2, retryDelayInMs: 1 } })
      .listInstances(finance)
      .catch((e: unknown) => e);

    expect(failure).toMatchObject({ name: 'ComputeError', code: 'TooManyRequests', statusCode: 429 });
    expect(sim.stats.calls.listInstances).toBe(3);
  });

  test('a 500 is retried and the call succeeds', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    sim.injectFault({ operation: 'deleteInstances', kind: 'server-error' });
    const compute = driver();
    await compute.setCapacity(finance, 2);
    const [first, second] = sim.vms().map((vm) => vm.name);

    await compute.deleteInstances(finance, [first]);

    expect(sim.stats.calls.deleteInstances).toBe(2);
    expect(sim.vms().map((vm) => vm.name)).toEqual([second]);
  });

  test('a 500 that outlasts the retries becomes InternalServerError', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    sim.injectFault({ operation: 'setCapacity', kind: 'server-error', times: 10 });

    const failure = await driver({ retry: { maxRetries: 1, retryDelayInMs: 1 } })
      .setCapacity(finance, 1)
      .catch((e: unknown) => e);

    expect(failure).toMatchObject({ code: 'InternalServerError', statusCode: 500 });
    expect(sim.vms()).toEqual([]);
  });
});

describe('failed long-running operations', () => {
  test.each(['AllocationFailed', 'QuotaExceeded', 'OSProvisioningTimedOut'])(
    'a scale-out that ends Failed with %s becomes a ComputeError with that code and message',
    async (code) => {
      const { sim, driver } = await startSim({ scaleSets: [finance] });
      const message = `${code} for vmss-finance. Try again later.`;
      sim.injectFault({ operation: 'setCapacity', kind: 'operation-failed', code, message });

      const failure = await driver().setCapacity(finance, 2).catch((e: unknown) => e);

      expect(failure).toBeInstanceOf(ComputeError);
      expect(failure).toMatchObject({ operation: 'setCapacity', code, message });
    },
  );

  test('a failed scale-out leaves no VM and the capacity as it was', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance], bootSeconds: 1 });
    const compute = driver();
    await compute.setCapacity(finance, 1);
    sim.injectFault({ operation: 'setCapacity', kind: 'operation-failed', code: 'AllocationFailed' });

    await expect(compute.setCapacity(finance, 3)).rejects.toMatchObject({ code: 'AllocationFailed' });

    expect(sim.vms()).toHaveLength(1);
    expect(sim.capacity('vmss-finance')).toBe(1);
    expect(sim.stats.maxInstances).toBe(3);
  });

  test('a delete that ends Failed becomes a ComputeError and the VMs stay', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    const compute = driver();
    await compute.setCapacity(finance, 1);
    sim.injectFault({ operation: 'deleteInstances', kind: 'operation-failed', code: 'InternalExecutionError', message: 'Delete failed.' });

    await expect(compute.deleteInstances(finance, [sim.vms()[0].name])).rejects.toMatchObject({
      operation: 'deleteInstances',
      code: 'InternalExecutionError',
      message: 'Delete failed.',
    });
    expect(sim.vms()).toHaveLength(1);
  });
});

describe('errors and observer', () => {
  test('a scale set ARM does not have fails with ResourceNotFound', async () => {
    const { driver } = await startSim({ scaleSets: [finance] });

    await expect(driver().setCapacity(scaleSetRef('vmss-missing'), 1)).rejects.toMatchObject({
      code: 'ResourceNotFound',
      statusCode: 404,
    });
  });

  test('the observer hears of every call with its outcome, code and duration', async () => {
    const calls: Array<Parameters<ComputeCallObserver>[0]> = [];
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    const compute = driver({ observer: (call) => calls.push(call) });
    sim.injectFault({ operation: 'setCapacity', kind: 'operation-failed', code: 'QuotaExceeded' });

    await compute.listInstances(finance);
    await compute.setCapacity(finance, 1).catch(() => undefined);

    expect(calls).toEqual([
      { operation: 'listInstances', scaleSet: 'vmss-finance', outcome: 'ok', ms: expect.any(Number) },
      { operation: 'setCapacity', scaleSet: 'vmss-finance', outcome: 'error', code: 'QuotaExceeded', ms: expect.any(Number) },
    ]);
    expect(calls[1].ms).toBeGreaterThan(0);
  });

  test('a throwing observer does not fail the call', async () => {
    const { driver } = await startSim({ scaleSets: [finance] });
    const compute = driver({
      observer: () => {
        throw new Error('metrics are down');
      },
    });

    await expect(compute.listInstances(finance)).resolves.toEqual([]);
  });

  test('a driver that trusts no extra CA refuses the self-signed certificate', async () => {
    const { driver } = await startSim({ scaleSets: [finance] });

    const failure = await driver({ ca: undefined, retry: { maxRetries: 0 } })
      .listInstances(finance)
      .catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(ComputeError);
    expect((failure as Error).message).toMatch(/certificate/i);
  });
});

describe('managedIdentityCredential', () => {
  test('is a ManagedIdentityCredential for the user-assigned client ID', () => {
    expect(managedIdentityCredential('11111111-2222-3333-4444-555555555555')).toBeInstanceOf(ManagedIdentityCredential);
  });

  test('refuses an empty client ID', () => {
    expect(() => managedIdentityCredential('')).toThrow(/clientId/);
  });
});
