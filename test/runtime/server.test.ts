/**
 * createRuntime: what the queue announces reaches a listener subscribed to the runtime's events,
 * and the scaler is one of those listeners.
 */
import { eventually, startTestFleet, TestFleet, USERS } from '../helpers/local-fleet';

describe('runtime events', () => {
  let t: TestFleet;
  afterAll(async () => t?.stop());

  test('a listener on runtime.events hears a run queued, claimed and finished, in that order', async () => {
    t = await startTestFleet();
    const heard: string[] = [];
    t.fleet.runtime.events.subscribe({
      runQueued: (run) => heard.push(`queued ${run.id}`),
      runClaimed: (run) => heard.push(`claimed ${run.id}`),
      runFinished: (run) => heard.push(`finished ${run.id} ${run.state}`),
    });
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05 } }, USERS.financeClerk)).body.id;
    await eventually('the run is heard finished', async () => heard.some((e) => e.startsWith(`finished ${id}`)) || undefined);
    expect(heard).toEqual([`queued ${id}`, `claimed ${id}`, `finished ${id} succeeded`]);
  });
});

describe('the scaler listens to the queue', () => {
  let t: TestFleet;
  afterAll(async () => t?.stop());

  test('with its ticks an hour apart, a run queued on an empty group still gets a bot: the scaler re-plans on groupChanged', async () => {
    t = await startTestFleet({}, { tickMs: 3_600_000 });
    const replans: string[] = [];
    t.fleet.runtime.events.subscribe({ groupChanged: (group) => replans.push(group) });
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05 } }, USERS.financeClerk)).body.id;
    const run = await eventually('the run ends', async () => {
      const view = (await t.api('GET', `/v1/runs/${id}`, undefined, USERS.financeClerk)).body;
      return view.state === 'succeeded' ? view : undefined;
    }, 20_000);
    expect(run.state).toBe('succeeded');
    expect(replans[0]).toBe('finance');
  });
});
