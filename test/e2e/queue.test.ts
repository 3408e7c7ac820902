/** Queue order, cancel, and the two time-outs, end to end. */
import { eventually, startTestFleet, TestFleet, USERS } from '../helpers/local-fleet';

const runState = async (t: TestFleet, id: string) => (await t.api('GET', `/v1/runs/${id}`)).body;

describe('queue order and time-outs', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test('move-to-top first, then high priority, then FIFO', async () => {
    // Users may queue at high priority here; who may is the queue-share test's subject.
    t = await startTestFleet({ groups: { finance: { maxBots: 1, queue: { maxQueuedPerUser: 100, highPriority: 'users' } } } });
    expect((await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead)).status).toBe(200);
    const enqueue = async (priority: string) =>
      (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', priority, inputs: { simulateSeconds: 0.05 } }, USERS.financeClerk)).body.id as string;
    const r1 = await enqueue('normal');
    const r2 = await enqueue('high');
    const r3 = await enqueue('normal');
    const r4 = await enqueue('normal');
    expect((await t.api('POST', `/v1/runs/${r4}/move-to-top`, undefined, USERS.financeLead)).status).toBe(200);
    const queue = (await t.api('GET', '/v1/groups/finance')).body.queue.map((r: { id: string }) => r.id);
    expect(queue).toEqual([r4, r2, r1, r3]);
    expect((await t.api('POST', '/v1/groups/finance/resume', undefined, USERS.financeLead)).status).toBe(200);
    const finished = await eventually('all four done', async () => {
      const runs = await Promise.all([r1, r2, r3, r4].map((id) => runState(t, id)));
      return runs.every((r) => r.state === 'succeeded') ? runs : undefined;
    });
    const byStart = [...finished].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)).map((r) => r.id);
    expect(byStart).toEqual([r4, r2, r1, r3]);
  }, 30_000);

  test('a changed priority reorders the queue', async () => {
    t = await startTestFleet({ groups: { finance: { queue: { maxQueuedPerUser: 100, highPriority: 'users' } } } });
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    const a = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    const b = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    expect((await t.api('PATCH', `/v1/runs/${b}`, { priority: 'high' }, USERS.financeClerk)).body.priority).toBe('high');
    expect((await t.api('GET', '/v1/groups/finance')).body.queue.map((r: { id: string }) => r.id)).toEqual([b, a]);
  });

  test('a queued run is cancelled at once', async () => {
    t = await startTestFleet();
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    const cancelled = await t.api('POST', `/v1/runs/${id}/cancel`, undefined, USERS.financeClerk);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    expect((await t.api('GET', '/v1/groups/finance')).body.queued).toBe(0);
  });

  test('a running run is cancelled through the heartbeat, and its bot is free again', async () => {
    t = await startTestFleet();
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 60 } })).body.id;
    await eventually('running', async () => (await runState(t, id)).state === 'running');
    const asked = await t.api('POST', `/v1/runs/${id}/cancel`);
    expect(asked.status).toBe(202);
    expect(asked.body.cancelRequested).toBe(true);
    const run = await eventually('cancelled', async () => {
      const r = await runState(t, id);
      return r.state === 'cancelled' ? r : undefined;
    }, 10_000);
    expect(run.result.exitCode).toBe(130);
    await eventually('bot idle again', async () => (await t.fleet.store.bots('finance')).some((b) => b.state === 'idle'));
  }, 30_000);

  test('a run that waits longer than the queue time-out ends expired', async () => {
    t = await startTestFleet({ scaling: { queueTimeoutHours: 1 / 3600 } });
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    const run = await eventually('expired', async () => {
      const r = await runState(t, id);
      return r.state === 'expired' ? r : undefined;
    }, 10_000);
    expect(run.result.errorCode).toBe('queue_timeout');
  }, 20_000);

  test('a run longer than its flow time-out fails with run_timeout', async () => {
    // Flow time-outs are declared per flow; shorten invoice-entry's to 1.2 s.
    t = await startTestFleet({
      groups: {
        finance: {
          flows: { 'invoice-entry': { command: 'powershell.exe -NoProfile -File C:\\flows\\invoice-entry.ps1', timeoutMinutes: 0.02 } },
        },
      },
    });
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 60 } })).body.id;
    const run = await eventually('failed', async () => {
      const r = await runState(t, id);
      return r.state === 'failed' ? r : undefined;
    }, 15_000);
    expect(run.result.errorCode).toBe('run_timeout');
    // The agent is told to stop the flow, and the bot takes work again.
    await eventually('bot idle again', async () => (await t.fleet.store.bots('finance')).some((b) => b.state === 'idle'), 10_000);
  }, 40_000);
});
