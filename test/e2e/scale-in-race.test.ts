/**
 * The scale-in race: bots go idle and are scaled in at once (idle time near zero) while runs keep
 * arriving and bots keep claiming. No run may go to a bot being deleted, and none may be lost or
 * killed: every run succeeds on its first attempt.
 */
import { eventually, startTestFleet, TestFleet } from '../helpers/local-fleet';

describe('the scale-in race', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test('claims racing scale-ins never start a run on a deleting bot', async () => {
    t = await startTestFleet(
      { environment: { botCapacity: 5 }, groups: { finance: { maxBots: 5 } }, scaling: { idleMinutes: 0.0005 } },
      { bootSeconds: 0.1, tickMs: 50 },
    );
    const ids: string[] = [];
    // Waves with pauses just long enough for bots to go idle and be picked for deletion.
    for (let wave = 0; wave < 12; wave++) {
      const size = 1 + (wave % 4);
      const posted = await Promise.all(
        Array.from({ length: size }, () => t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05 + (wave % 3) * 0.05 } })),
      );
      ids.push(...posted.map((p) => p.body.id));
      await new Promise((r) => setTimeout(r, 40 + (wave % 5) * 30));
    }
    const runs = await eventually(
      `all ${ids.length} runs final`,
      async () => {
        const all = await Promise.all(ids.map(async (id) => (await t.api('GET', `/v1/runs/${id}`)).body));
        return all.every((r) => ['succeeded', 'failed', 'cancelled', 'expired'].includes(r.state)) ? all : undefined;
      },
      40_000,
      100,
    );
    expect(runs.filter((r) => r.state !== 'succeeded')).toEqual([]);
    expect(runs.filter((r) => r.attempts !== 1)).toEqual([]);
    expect(t.fleet.sim.stats.calls.deleteInstances).toBeGreaterThan(0);
    expect(t.fleet.sim.stats.maxInstances).toBeLessThanOrEqual(5);
  }, 60_000);
});
