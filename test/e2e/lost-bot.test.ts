/** A bot lost mid-run: its run goes back to the queue after the heartbeat time-out. */
import { eventually, startTestFleet, TestFleet } from '../helpers/local-fleet';

describe('a lost bot', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test('the agent is killed mid-run: the run is queued again and completes on another bot', async () => {
    t = await startTestFleet({ groups: { finance: { maxBots: 2 } } });
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 2 } })).body.id;
    const running = await eventually('running', async () => {
      const r = (await t.api('GET', `/v1/runs/${id}`)).body;
      return r.state === 'running' ? r : undefined;
    });
    const firstVm = running.bot.vmName;
    expect(await t.fleet.sim.killAgent(firstVm)).toBe(true);
    const done = await eventually('succeeded on another bot', async () => {
      const r = (await t.api('GET', `/v1/runs/${id}`)).body;
      return r.state === 'succeeded' ? r : undefined;
    }, 20_000);
    expect(done.attempts).toBe(2);
    expect(done.bot.vmName).not.toBe(firstVm);
    // The lost bot's VM is deleted.
    await eventually('lost VM deleted', () => !t.fleet.sim.vms().some((vm) => vm.name === firstVm), 10_000);
  }, 40_000);

  test('after maxAttempts the run ends failed with bot_lost', async () => {
    t = await startTestFleet({ scaling: { maxAttempts: 1 } });
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 5 } })).body.id;
    const running = await eventually('running', async () => {
      const r = (await t.api('GET', `/v1/runs/${id}`)).body;
      return r.state === 'running' ? r : undefined;
    });
    await t.fleet.sim.killAgent(running.bot.vmName);
    const failed = await eventually('failed', async () => {
      const r = (await t.api('GET', `/v1/runs/${id}`)).body;
      return r.state === 'failed' ? r : undefined;
    }, 20_000);
    expect(failed.result.errorCode).toBe('bot_lost');
    expect(failed.attempts).toBe(1);
  }, 40_000);
});
