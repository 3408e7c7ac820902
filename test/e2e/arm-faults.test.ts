/**
 * ARM faults: each is recorded as a provisioning error of the group with its code and message,
 * the group backs off, and it recovers.
 */
import { SimFault } from '../../runtime/arm-sim';
import { eventually, startTestFleet, TestFleet } from '../helpers/local-fleet';

const CASES: Array<{ name: string; fault: Omit<SimFault, 'operation'>; code: string }> = [
  // The SDK retries a throttle 3 times here; the 4th refusal reaches the runtime.
  { name: '429 with Retry-After', fault: { kind: 'throttle', times: 4, retryAfterSeconds: 0 }, code: 'TooManyRequests' },
  { name: '500', fault: { kind: 'server-error', times: 4 }, code: 'InternalServerError' },
  { name: 'AllocationFailed', fault: { kind: 'operation-failed', code: 'AllocationFailed' }, code: 'AllocationFailed' },
  { name: 'QuotaExceeded', fault: { kind: 'operation-failed', code: 'QuotaExceeded' }, code: 'QuotaExceeded' },
  { name: 'OSProvisioningTimedOut', fault: { kind: 'operation-failed', code: 'OSProvisioningTimedOut' }, code: 'OSProvisioningTimedOut' },
];

describe('ARM faults', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test.each(CASES)('$name on scale-out: recorded, backed off, recovered', async ({ fault, code }) => {
    t = await startTestFleet();
    t.fleet.sim.injectFault({ operation: 'setCapacity', scaleSet: 'vmss-demo-finance', ...fault });
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })).body.id;

    const group = await eventually(`a ${code} provisioning error`, async () => {
      const g = (await t.api('GET', '/v1/groups/finance')).body;
      return g.provisioningErrors.length > 0 ? g : undefined;
    });
    expect(group.provisioningErrors[0]).toMatchObject({ operation: 'setCapacity', code, message: expect.stringMatching(/\S/) });
    expect(Date.parse(group.provisioningErrors[0].at)).toBeGreaterThan(0);
    const state = (await t.fleet.store.groups()).find((g) => g.name === 'finance')!;
    expect(state.backoffLevel).toBeGreaterThanOrEqual(1);
    expect(state.backoffUntil).toBeGreaterThan(Date.parse(group.provisioningErrors[0].at));

    await eventually('the run succeeds once the group recovers', async () => (await t.api('GET', `/v1/runs/${id}`)).body.state === 'succeeded', 20_000);
    expect((await t.fleet.store.groups()).find((g) => g.name === 'finance')!.backoffLevel).toBe(0);
  }, 40_000);

  test('a VM that never registers is failed after the boot time-out, deleted, and replaced', async () => {
    t = await startTestFleet({ scaling: { bootTimeoutMinutes: 0.03 } });
    t.fleet.sim.neverRegister(1, 'vmss-demo-finance');
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })).body.id;
    const silentVm = await eventually('the silent VM exists', () => t.fleet.sim.vms('vmss-demo-finance')[0]?.name);
    const group = await eventually('a BootTimeout error', async () => {
      const g = (await t.api('GET', '/v1/groups/finance')).body;
      return g.provisioningErrors.find((e: { code: string }) => e.code === 'BootTimeout') ? g : undefined;
    }, 15_000);
    expect(group.provisioningErrors[0].message).toMatch(/did not register within 0\.03 minutes; it is deleted/);
    await eventually('the silent VM is deleted', () => !t.fleet.sim.vms().some((vm) => vm.name === silentVm), 10_000);
    await eventually('the run succeeds on a new bot', async () => (await t.api('GET', `/v1/runs/${id}`)).body.state === 'succeeded', 15_000);
  }, 40_000);

  test('a failed scale-in is retried until the VM is gone', async () => {
    t = await startTestFleet({ scaling: { idleMinutes: 0.005 } });
    t.fleet.sim.injectFault({ operation: 'deleteInstances', kind: 'operation-failed', code: 'InternalExecutionError' });
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })).body.id;
    await eventually('succeeded', async () => (await t.api('GET', `/v1/runs/${id}`)).body.state === 'succeeded');
    await eventually('a deleteInstances error', async () => (await t.fleet.store.provisioningErrors('finance', 5)).some((e) => e.operation === 'deleteInstances'));
    await eventually('the VM is gone at last', async () => t.fleet.sim.vms().length === 0 && (await t.fleet.store.bots()).length === 0, 20_000);
  }, 40_000);
});
