/** The environment switch, inactive groups, pause, and who may do what. */
import { localManifest } from '../../runtime/cli/local-fleet';
import { eventually, startTestFleet, synthesizedFleetJson, TestFleet, USERS } from '../helpers/local-fleet';

describe('environment and groups', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test('enabled: false hides the groups, refuses runs, and scales every bot to zero', async () => {
    t = await startTestFleet({ scaling: { idleMinutes: 10 } });
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })).body.id;
    await eventually('succeeded', async () => (await t.api('GET', `/v1/runs/${id}`)).body.state === 'succeeded');
    expect(t.fleet.sim.vms().length).toBe(1);

    const disabled = localManifest(synthesizedFleetJson(), {
      botTokens: t.botTokens,
      environment: { enabled: false },
      scaling: { heartbeatSeconds: 0.5, idleMinutes: 10, bootTimeoutMinutes: 0.5 },
    }).manifest;
    await t.fleet.restartRuntime(disabled);

    expect((await t.api('GET', '/v1/groups')).body).toEqual({ groups: [] });
    const refused = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({ code: 'environment_disabled', message: expect.stringMatching(/^environment demo is disabled \(enabled: false in its stack\)/) });
    expect((await t.api('GET', '/v1/environment')).body.enabled).toBe(false);
    await eventually('every bot scaled to zero', async () => t.fleet.sim.vms().length === 0 && (await t.fleet.store.bots()).length === 0, 10_000);
  }, 30_000);

  test('a group inactive for inactiveDays expires: 409 with how to revive it, then a co-owner revives it', async () => {
    t = await startTestFleet({ scaling: { inactiveDays: 1 / 86400 } });
    await eventually('finance expired', async () => (await t.api('GET', '/v1/groups')).body.groups.find((g: { name: string }) => g.name === 'finance').state === 'expired', 10_000);
    const refused = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('group_expired');
    expect(refused.body.error.message).toMatch(/revive it with POST \/v1\/groups\/finance\/resume/);
    expect((await t.api('POST', '/v1/groups/finance/resume', undefined, USERS.financeClerk)).status).toBe(403);
    const revived = await t.api('POST', '/v1/groups/finance/resume', undefined, USERS.financeLead);
    expect(revived.body).toEqual({ name: 'finance', state: 'active' });
    expect((await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } }, USERS.financeClerk)).status).toBe(202);
  }, 30_000);

  test('pause: running flows finish and nothing new starts until resume', async () => {
    t = await startTestFleet({ groups: { finance: { maxBots: 1 } } });
    const first = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 1 } })).body.id;
    await eventually('running', async () => (await t.api('GET', `/v1/runs/${first}`)).body.state === 'running');
    expect((await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead)).body.state).toBe('paused');
    const second = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.1 } })).body.id;
    await eventually('the running flow finished', async () => (await t.api('GET', `/v1/runs/${first}`)).body.state === 'succeeded');
    await new Promise((r) => setTimeout(r, 800));
    const group = (await t.api('GET', '/v1/groups/finance')).body;
    expect(group.queue.map((r: { id: string }) => r.id)).toEqual([second]);
    expect(group.waitingBecause).toEqual(['group paused']);
    await t.api('POST', '/v1/groups/finance/resume', undefined, USERS.financeLead);
    await eventually('the queued run ran after resume', async () => (await t.api('GET', `/v1/runs/${second}`)).body.state === 'succeeded');
  }, 30_000);

  test('users act on their own runs only; co-owners on every run of their group', async () => {
    t = await startTestFleet();
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    const mine = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeLead)).body.id;
    expect((await t.api('GET', `/v1/runs/${mine}`, undefined, USERS.financeClerk)).status).toBe(404);
    expect((await t.api('POST', `/v1/runs/${mine}/cancel`, undefined, USERS.financeClerk)).status).toBe(404);
    const theirs = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    expect((await t.api('POST', `/v1/runs/${theirs}/move-to-top`, undefined, USERS.financeClerk)).status).toBe(403);
    expect((await t.api('POST', `/v1/runs/${theirs}/move-to-top`, undefined, USERS.financeLead)).status).toBe(200);
    expect((await t.api('POST', `/v1/runs/${theirs}/cancel`, undefined, USERS.financeLead)).status).toBe(200);
    expect((await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeClerk)).status).toBe(403);
    // The sales rep sees only sales; the admin sees both.
    expect((await t.api('GET', '/v1/groups', undefined, USERS.salesRep)).body.groups.map((g: { name: string; access: string }) => [g.name, g.access])).toEqual([['sales', 'user']]);
    expect((await t.api('GET', '/v1/groups')).body.groups.map((g: { access: string }) => g.access)).toEqual(['admin', 'admin']);
  });

  test('/healthz needs no token and reports the store and leadership', async () => {
    t = await startTestFleet();
    const res = await fetch(`${t.fleet.url}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok', store: 'sqlite', leader: true });
  });
});
