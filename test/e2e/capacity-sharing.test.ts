/**
 * Two groups with long queues share a capacity smaller than their two maxima: committed bots are
 * honoured, the rest is split fairly, and the bots never exceed the capacity at any instant.
 */
import { eventually, startTestFleet, TestFleet } from '../helpers/local-fleet';

describe('sharing capacity', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test('committed first, the rest fair, never above the capacity', async () => {
    t = await startTestFleet({
      environment: { botCapacity: 4 },
      groups: { finance: { maxBots: 3, committedBots: 1 }, sales: { maxBots: 3 } },
      scaling: { idleMinutes: 0.02 },
    });
    const samples: Array<{ finance: number; sales: number; financeQueued: number; salesQueued: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [bots, counts] = await Promise.all([t.fleet.store.bots(), t.fleet.store.queueCounts()]);
        const count = (g: string) => bots.filter((b) => b.group === g).length;
        const queued = (g: string) => counts.find((c) => c.group === g)?.queued ?? 0;
        samples.push({ finance: count('finance'), sales: count('sales'), financeQueued: queued('finance'), salesQueued: queued('sales') });
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    const runs: Array<{ body: { id: string } }> = [];
    for (let i = 0; i < 10; i++) {
      runs.push(await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.6 } }));
      runs.push(await t.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync', inputs: { simulateSeconds: 0.6 } }));
    }
    await eventually(
      'all 20 runs succeeded',
      async () => (await Promise.all(runs.map(async (r) => (await t.api('GET', `/v1/runs/${r.body.id}`)).body.state))).every((s) => s === 'succeeded'),
      40_000,
      100,
    ).finally(async () => {
      sampling = false;
      await sampler;
    });

    // Never above the capacity: in the store at every sample, and in ARM at every instant.
    expect(Math.max(...samples.map((s) => s.finance + s.sales))).toBeLessThanOrEqual(4);
    expect(t.fleet.sim.stats.maxInstances).toBeLessThanOrEqual(4);
    // While both groups had work waiting, the capacity was split 2 and 2 at some point, and
    // finance, with its committed bot, always had at least one bot once it had one.
    const contended = samples.filter((s) => s.financeQueued > 0 && s.salesQueued > 0);
    expect(contended.some((s) => s.finance === 2 && s.sales === 2)).toBe(true);
    const firstFinanceBot = samples.findIndex((s) => s.finance > 0);
    expect(samples.slice(firstFinanceBot).filter((s) => s.financeQueued > 0).every((s) => s.finance >= 1)).toBe(true);
  }, 60_000);
});
