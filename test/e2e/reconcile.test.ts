/** VMs the runtime does not know (made by hand, or left by a crash) are adopted within the caps, or deleted. */
import { sharedSimCertificate } from '../../runtime/arm-sim';
import { createAzureDriver } from '../../runtime/azure/azure-driver';
import { localArmCredential } from '../../runtime/cli/local-fleet';
import { eventually, startTestFleet, TestFleet } from '../helpers/local-fleet';

describe('reconciling with ARM', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test('unknown VMs are adopted up to maxBots; the rest are deleted when seen again a lease later', async () => {
    t = await startTestFleet({ groups: { finance: { maxBots: 3 } }, scaling: { idleMinutes: 5 } });
    const vmss = t.fleet.manifest.groups.find((g) => g.name === 'finance')!.vmss;
    // Someone scales the scale set to 5 behind the runtime's back.
    const driver = createAzureDriver({ credential: localArmCredential(), endpoint: t.fleet.sim.url, ca: (await sharedSimCertificate()).cert, pollIntervalMs: 20 });
    await driver.setCapacity(vmss, 5);
    expect(t.fleet.sim.vms('vmss-demo-finance')).toHaveLength(5);

    await eventually('3 adopted', async () => (await t.fleet.store.bots('finance')).filter((b) => b.state === 'idle').length === 3, 10_000);
    // The 2 over maxBots are suspects, not yet orphans: they stay until seen again a lease later.
    expect(t.fleet.sim.vms('vmss-demo-finance')).toHaveLength(5);
    await eventually('3 adopted, 2 deleted', async () => {
      const bots = await t.fleet.store.bots('finance');
      return t.fleet.sim.vms('vmss-demo-finance').length === 3 && bots.length === 3 && bots.every((b) => b.state === 'idle');
    }, 20_000);
    expect(t.fleet.sim.stats.blindScaleIns).toBe(0);
    // The adopted bots take runs.
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })).body.id;
    await eventually('succeeded', async () => (await t.api('GET', `/v1/runs/${id}`)).body.state === 'succeeded');
    expect(t.fleet.sim.stats.calls.setCapacity).toBe(1);
  }, 40_000);
});
