/**
 * Scale-out and scale-in, end to end: HTTP against the runtime on 127.0.0.1, the real Azure SDK
 * against arm-sim, and the real agent on every simulated VM.
 */
import { eventually, startTestFleet, TestFleet } from '../helpers/local-fleet';

describe('scale-out and scale-in', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test('a group of maxBots 5 with 2 idle bots: 5 runs start 2 at once, provision 3 more, all succeed, then all bots go', async () => {
    t = await startTestFleet({ environment: { botCapacity: 8 }, groups: { finance: { maxBots: 5 } }, scaling: { idleMinutes: 0.1 } }, { bootSeconds: 1 });
    // Two warm bots first.
    const warm = await Promise.all([1, 2].map(() => t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })));
    await eventually('two warm bots', async () => {
      const g = (await t.api('GET', '/v1/groups/finance')).body;
      return g.bots.length === 2 && g.botCounts.idle === 2 && warm.length === 2;
    });
    const scaleOutsBefore = t.fleet.sim.stats.calls.setCapacity;

    const runs = await Promise.all(
      [1, 2, 3, 4, 5].map(() => t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 1.5 } })),
    );
    expect(runs.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    // 2 runs start at once on the warm bots, and 3 bots are provisioned for the other 3.
    const started = await eventually('2 runs running and 3 bots provisioning', async () => {
      const g = (await t.api('GET', '/v1/groups/finance')).body;
      return g.running === 2 && g.botCounts.provisioning === 3 ? g : undefined;
    }, 2000, 20);
    expect(started.queued).toBe(3);
    // The bots are in the store before the scale-out call reaches ARM: wait for the call.
    await eventually('a scale-out call reached ARM', async () => t.fleet.sim.stats.calls.setCapacity > scaleOutsBefore, 2000, 20);

    await eventually('all 5 runs succeeded', async () => {
      const states = await Promise.all(runs.map(async (r) => (await t.api('GET', `/v1/runs/${r.body.id}`)).body.state));
      return states.every((s) => s === 'succeeded');
    }, 20_000);
    await eventually('every bot deleted after the idle time', async () => t.fleet.sim.vms('vmss-demo-finance').length === 0 && (await t.fleet.store.bots('finance')).length === 0, 20_000);
    expect(t.fleet.sim.stats.maxInstancesByScaleSet['vmss-demo-finance']).toBeLessThanOrEqual(5);
    expect(t.fleet.sim.stats.blindScaleIns).toBe(0);
  }, 60_000);
});
