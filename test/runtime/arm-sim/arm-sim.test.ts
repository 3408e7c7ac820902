/**
 * arm-sim's own behaviour: what it refuses, what it records, and the faults it can play. Most
 * tests drive it through the real Azure driver; the refusals are shown with plain HTTPS.
 */
import { ArmSim } from '../../../runtime/arm-sim';
import type { SimAgentHandle, SimVm } from '../../../runtime/arm-sim';
import { rawRequest, scaleSetPath, scaleSetRef, simHarness, waitFor } from './sim-fixture';

const startSim = simHarness();
const finance = scaleSetRef('vmss-finance');
const sales = scaleSetRef('vmss-sales');

function agents() {
  const booted: SimVm[] = [];
  const stopped: string[] = [];
  const onBoot = (vm: SimVm): SimAgentHandle => {
    booted.push(vm);
    return { stop: () => void stopped.push(vm.name) };
  };
  return { booted, stopped, onBoot };
}

describe('requests it refuses', () => {
  test('a request without a bearer token gets 401 with a CloudError', async () => {
    const started = await startSim({ scaleSets: [finance] });

    const answer = await rawRequest(started, scaleSetPath(finance), { authorization: null });

    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: { code: 'AuthenticationFailed', message: expect.any(String) } });
    expect(started.sim.stats.unauthorized).toBe(1);
    expect(started.sim.stats.calls.getScaleSet).toBe(0);
  });

  test('a request with another authorization scheme gets 401', async () => {
    const started = await startSim({ scaleSets: [finance] });

    const answer = await rawRequest(started, scaleSetPath(finance), { authorization: 'Basic dXNlcjpwYXNz' });

    expect(answer.status).toBe(401);
  });

  test('a request without api-version gets 400 MissingApiVersionParameter', async () => {
    const started = await startSim({ scaleSets: [finance] });

    const answer = await rawRequest(started, scaleSetPath(finance).replace(/\?.*$/, ''));

    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
  });

  test('any api-version value is accepted', async () => {
    const started = await startSim({ scaleSets: [finance] });

    const answer = await rawRequest(started, scaleSetPath(finance).replace('2025-04-01', '1999-01-01'));

    expect(answer.status).toBe(200);
  });

  test('a scale set it does not serve gets 404 ResourceNotFound', async () => {
    const started = await startSim({ scaleSets: [finance] });

    const answer = await rawRequest(started, scaleSetPath(scaleSetRef('vmss-other')));

    expect(answer.status).toBe(404);
    expect(answer.json).toMatchObject({ error: { code: 'ResourceNotFound' } });
  });

  test('a path it does not serve gets 404 ResourceNotFound', async () => {
    const started = await startSim({ scaleSets: [finance] });

    const answer = await rawRequest(started, '/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks?api-version=1');

    expect(answer.status).toBe(404);
    expect(answer.json).toMatchObject({ error: { code: 'ResourceNotFound' } });
  });

  test('a delete without instance IDs gets 400 InvalidParameter', async () => {
    const started = await startSim({ scaleSets: [finance] });

    const answer = await rawRequest(started, scaleSetPath(finance, '/delete'), { method: 'POST', body: { instanceIds: [] } });

    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: { code: 'InvalidParameter', target: 'instanceIds' } });
  });
});

describe('long-running operation headers', () => {
  test('a PATCH answers 200 with Azure-AsyncOperation and no Location', async () => {
    const started = await startSim({ scaleSets: [finance] });

    const answer = await rawRequest(started, scaleSetPath(finance), { method: 'PATCH', body: { sku: { capacity: 1 } } });

    expect(answer.status).toBe(200);
    expect(answer.headers['azure-asyncoperation']).toMatch(
      new RegExp(`^${started.url}/subscriptions/${finance.subscriptionId}/providers/Microsoft.Compute/locations/northeurope/operations/[0-9a-f-]{36}\\?api-version=2025-04-01$`),
    );
    expect(answer.headers.location).toBeUndefined();
  });

  test('a delete answers 202 with Azure-AsyncOperation and a monitor Location, and no body', async () => {
    const started = await startSim({ scaleSets: [finance] });
    await started.driver().setCapacity(finance, 1);

    const answer = await rawRequest(started, scaleSetPath(finance, '/delete'), {
      method: 'POST',
      body: { instanceIds: [started.sim.vms()[0].name] },
    });

    expect(answer.status).toBe(202);
    expect(answer.text).toBe('');
    expect(answer.headers['azure-asyncoperation']).toMatch(/\/operations\/[0-9a-f-]{36}\?api-version=2025-04-01$/);
    expect(answer.headers.location).toMatch(/\/operations\/[0-9a-f-]{36}\?monitor=true&api-version=2025-04-01$/);
  });

  test('the operation status goes from InProgress to Succeeded after operationSeconds', async () => {
    const started = await startSim({ scaleSets: [finance], operationSeconds: 0.2 });
    const patch = await rawRequest(started, scaleSetPath(finance), { method: 'PATCH', body: { sku: { capacity: 1 } } });
    const statusUrl = String(patch.headers['azure-asyncoperation']);

    const early = await rawRequest(started, statusUrl);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = await rawRequest(started, statusUrl);

    expect(early.json).toEqual({ status: 'InProgress' });
    expect(late.json).toEqual({ status: 'Succeeded' });
  });
});

describe('blind scale-in', () => {
  test('lowering the capacity removes the newest VMs and is counted', async () => {
    const bots = agents();
    const { sim, driver } = await startSim({ scaleSets: [finance], onBoot: bots.onBoot });
    const compute = driver();
    await compute.setCapacity(finance, 3);
    await waitFor(() => bots.booted.length === 3);
    const [oldest, middle, newest] = sim.vms().map((vm) => vm.name);

    await compute.setCapacity(finance, 1);
    await waitFor(() => sim.vms().length === 1);

    expect(sim.stats.blindScaleIns).toBe(1);
    expect(sim.vms().map((vm) => vm.name)).toEqual([oldest]);
    expect(bots.stopped.sort()).toEqual([middle, newest].sort());
  });

  test('raising the capacity or deleting by name is not counted', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    const compute = driver();
    await compute.setCapacity(finance, 2);
    await compute.deleteInstances(finance, [sim.vms()[0].name]);
    await compute.setCapacity(finance, 2);

    expect(sim.stats.blindScaleIns).toBe(0);
  });
});

describe('recorder', () => {
  test('maxInstances counts VMs that are still Creating or already Deleting', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance], bootSeconds: 5, deleteSeconds: 0.6, operationSeconds: 0.01 });
    const compute = driver();
    await compute.setCapacity(finance, 2);
    const deleting = compute.deleteInstances(finance, [sim.vms()[0].name]);
    await waitFor(() => sim.vms()[0].provisioningState === 'Deleting');

    // One live VM; a capacity of 2 creates one more while the deleted one still exists.
    await compute.setCapacity(finance, 2);
    const states = sim.vms().map((vm) => vm.provisioningState);
    await deleting;

    expect(states).toEqual(['Deleting', 'Creating', 'Creating']);
    expect(sim.stats.maxInstances).toBe(3);
  });

  test('maxInstances is across scale sets and the per-scale-set maxima are their own', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance, sales] });
    const compute = driver();
    await compute.setCapacity(finance, 3);
    await compute.setCapacity(sales, 2);
    await compute.deleteInstances(finance, sim.vms('vmss-finance').map((vm) => vm.name));
    await compute.setCapacity(sales, 3);

    expect(sim.stats.maxInstances).toBe(5);
    expect(sim.stats.maxInstancesByScaleSet).toEqual({ 'vmss-finance': 3, 'vmss-sales': 3 });
  });

  test('calls counts requests by operation, retries included', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    const compute = driver();
    sim.injectFault({ operation: 'setCapacity', kind: 'throttle', retryAfterSeconds: 0 });
    sim.injectFault({ operation: 'listInstances', kind: 'server-error' });
    await compute.setCapacity(finance, 2);
    await compute.listInstances(finance);

    expect(sim.stats.calls).toMatchObject({ setCapacity: 2, listInstances: 2, getScaleSet: 1 });
  });
});

describe('faults', () => {
  test('a fault aimed at one scale set leaves the others alone', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance, sales] });
    sim.injectFault({ operation: 'setCapacity', kind: 'operation-failed', code: 'QuotaExceeded', scaleSet: 'vmss-sales' });
    const compute = driver();

    await compute.setCapacity(finance, 1);
    await expect(compute.setCapacity(sales, 1)).rejects.toMatchObject({ code: 'QuotaExceeded' });

    expect(sim.vms().map((vm) => vm.scaleSet.name)).toEqual(['vmss-finance']);
  });

  test('a fault applies to as many calls as times says, then calls succeed', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    sim.injectFault({ operation: 'setCapacity', kind: 'operation-failed', times: 2 });
    const compute = driver();

    await expect(compute.setCapacity(finance, 1)).rejects.toMatchObject({ code: 'AllocationFailed' });
    await expect(compute.setCapacity(finance, 1)).rejects.toMatchObject({ code: 'AllocationFailed' });
    await compute.setCapacity(finance, 1);

    expect(sim.vms()).toHaveLength(1);
  });

  test('a 429 without Retry-After is not retried by the SDK', async () => {
    const { sim, driver } = await startSim({ scaleSets: [finance] });
    sim.injectFault({ operation: 'listInstances', kind: 'throttle', retryAfterSeconds: null });

    await expect(driver().listInstances(finance)).rejects.toMatchObject({ code: 'TooManyRequests', statusCode: 429 });
    expect(sim.stats.calls.listInstances).toBe(1);
  });

  test('operation-failed is refused for the VM list, which is not a long-running operation', () => {
    const sim = new ArmSim({ bootSeconds: 0 });

    expect(() => sim.injectFault({ operation: 'listInstances', kind: 'operation-failed' })).toThrow(/not a long-running/);
  });
});

describe('agents', () => {
  test('neverRegister makes the next VMs boot without calling onBoot', async () => {
    const bots = agents();
    const { sim, driver } = await startSim({ scaleSets: [finance], onBoot: bots.onBoot });
    sim.neverRegister(2);

    await driver().setCapacity(finance, 3);
    await waitFor(() => sim.vms().every((vm) => vm.provisioningState === 'Succeeded'));
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(sim.vms().map((vm) => vm.powerState)).toEqual(['PowerState/running', 'PowerState/running', 'PowerState/running']);
    expect(bots.booted.map((vm) => vm.name)).toEqual([sim.vms()[2].name]);
  });

  test('neverRegister for one scale set leaves the others registering', async () => {
    const bots = agents();
    const { sim, driver } = await startSim({ scaleSets: [finance, sales], onBoot: bots.onBoot });
    sim.neverRegister(1, 'vmss-sales');
    const compute = driver();

    await compute.setCapacity(finance, 1);
    await compute.setCapacity(sales, 1);
    await waitFor(() => sim.vms().every((vm) => vm.provisioningState === 'Succeeded'));
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(bots.booted.map((vm) => vm.scaleSet.name)).toEqual(['vmss-finance']);
  });

  test('killAgent stops the agent and the VM keeps running', async () => {
    const bots = agents();
    const { sim, driver } = await startSim({ scaleSets: [finance], onBoot: bots.onBoot });
    await driver().setCapacity(finance, 1);
    await waitFor(() => sim.vms()[0]?.agentRunning === true);
    const [vm] = sim.vms();

    expect(await sim.killAgent(vm.name)).toBe(true);

    expect(bots.stopped).toEqual([vm.name]);
    expect(sim.vms()).toEqual([expect.objectContaining({ name: vm.name, provisioningState: 'Succeeded', agentRunning: false })]);
    expect(await sim.killAgent(vm.name)).toBe(false);
  });

  test('an agent that finishes starting after its VM was deleted is stopped', async () => {
    const stopped: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { sim, driver } = await startSim({
      scaleSets: [finance],
      onBoot: async (vm) => {
        await gate;
        return { stop: () => void stopped.push(vm.name) };
      },
    });
    const compute = driver();
    await compute.setCapacity(finance, 1);
    await waitFor(() => sim.vms()[0]?.provisioningState === 'Succeeded');
    const [vm] = sim.vms();

    await compute.deleteInstances(finance, [vm.name]);
    release();

    await waitFor(() => stopped.length === 1);
    expect(stopped).toEqual([vm.name]);
  });

  test('stop() stops every agent and closes the server', async () => {
    const bots = agents();
    const started = await startSim({ scaleSets: [finance], onBoot: bots.onBoot });
    await started.driver().setCapacity(finance, 2);
    await waitFor(() => bots.booted.length === 2);

    await started.sim.stop();

    expect(bots.stopped.sort()).toEqual(bots.booted.map((vm) => vm.name).sort());
    await expect(rawRequest(started, scaleSetPath(finance))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('stop() before boot means onBoot is never called', async () => {
    const bots = agents();
    const started = await startSim({ scaleSets: [finance], onBoot: bots.onBoot, bootSeconds: 0.2 });
    await rawRequest(started, scaleSetPath(finance), { method: 'PATCH', body: { sku: { capacity: 1 } } });

    await started.sim.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(bots.booted).toEqual([]);
  });
});
