/**
 * One user's share of a group's queue: a per-user limit of queued runs, high priority for
 * co-owners unless the group widens it, and retention that deletes finished runs in time.
 */
import { eventually, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

describe('queue share', () => {
  let t: TestFleet;
  beforeAll(async () => {
    t = await startTestFleet({
      groups: {
        finance: { access: { users: [USERS.financeClerk], coOwners: [USERS.financeLead] }, queue: { maxQueuedPerUser: 3, highPriority: 'co-owners' } },
        sales: { queue: { maxQueuedPerUser: 100, highPriority: 'users' } },
      },
    });
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    await t.api('POST', '/v1/groups/sales/pause', undefined, USERS.admin);
  });
  afterAll(async () => t.stop());

  test('a user past queue.maxQueuedPerUser gets 429 user_queue_full, naming the limit; a co-worker still queues', async () => {
    for (let i = 0; i < 3; i++) expect((await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).status).toBe(202);
    const refused = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toEqual({
      code: 'user_queue_full',
      message: 'you have 3 runs queued in group finance, the most one user may (queue.maxQueuedPerUser 3); wait for some to start, or cancel some',
    });
    expect((await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeLead)).status).toBe(202);
    expect((await t.fleet.store.queue('finance')).filter((r) => r.createdBy === USERS.financeClerk)).toHaveLength(3);
  });

  test('high priority is for co-owners by default: a user gets 403 priority_not_allowed, on enqueue and on PATCH', async () => {
    expect((await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', priority: 'high' }, USERS.financeLead)).status).toBe(202);
    const mine = (await t.fleet.store.queue('finance')).find((r) => r.createdBy === USERS.financeClerk)!;
    const patch = await t.api('PATCH', `/v1/runs/${mine.id}`, { priority: 'high' }, USERS.financeClerk);
    expect(patch.status).toBe(403);
    expect(patch.body.error.code).toBe('priority_not_allowed');
    expect(patch.body.error.message).toMatch(/only co-owners of group finance may use priority high \(its queue\.highPriority is co-owners\)/);
    expect((await t.fleet.store.getRun(mine.id))!.priority).toBe('normal');
  });

  test('a user may not enqueue at high priority either, and nothing is written', async () => {
    const before = (await t.fleet.store.queue('finance')).length;
    await t.api('POST', `/v1/runs/${(await t.fleet.store.queue('finance')).find((r) => r.createdBy === USERS.financeClerk)!.id}/cancel`, undefined, USERS.financeClerk);
    const res = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', priority: 'high' }, USERS.financeClerk);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('priority_not_allowed');
    expect((await t.fleet.store.queue('finance')).length).toBe(before - 1);
  });

  test('a group with queue.highPriority users lets its users queue at high priority', async () => {
    const res = await t.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync', priority: 'high' }, USERS.salesRep);
    expect(res.status).toBe(202);
    expect(res.body.priority).toBe('high');
  });
});

describe('retention in the running runtime', () => {
  test('a finished run is deleted once runRetentionDays have passed, and its idempotency key after idempotencyKeyHours', async () => {
    // 0.00005 days is about 4 s; 0.0005 hours about 2 s.
    const t = await startTestFleet({ environment: { runRetentionDays: 0.00005, idempotencyKeyHours: 0.0005 } });
    try {
      const run = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05 } }, USERS.admin, { 'idempotency-key': 'once' })).body;
      await eventually('the run finished', async () => (await t.api('GET', `/v1/runs/${run.id}`)).body.finishedAt, 15_000);
      await eventually('the key dropped', async () => (await t.fleet.store.getRun(run.id))?.idempotencyKey === undefined, 15_000);
      await eventually('the run deleted', async () => (await t.api('GET', `/v1/runs/${run.id}`)).status === 404, 20_000);
    } finally {
      await t.stop();
    }
  }, 40_000);
});
