/**
 * What a deploy changes, applied by the runtime on restart with the new manifest: a new image, a
 * rotated admin password, bots recycled after N runs, a group removed from code, and limits
 * lowered below what exists.
 * No bot is ever cut off mid-run.
 */
import { localManifest } from '../../runtime/cli/local-fleet';
import { eventually, startTestFleet, synthesizedFleetJson, TestFleet, USERS } from '../helpers/local-fleet';

const SCALING = { heartbeatSeconds: 0.5, idleMinutes: 5, bootTimeoutMinutes: 0.5 };

describe('lifecycle after a deploy', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  const redeploy = (options: Parameters<typeof localManifest>[1] = {}, raw: unknown = synthesizedFleetJson()) =>
    t.fleet.restartRuntime(localManifest(raw, { botTokens: t.botTokens, ...options, scaling: { ...SCALING, ...options.scaling } }).manifest);
  const run = async (group: string, seconds: number) =>
    (await t.api('POST', `/v1/groups/${group}/runs`, { flow: group === 'sales' ? 'lead-sync' : 'invoice-entry', inputs: { simulateSeconds: seconds } })).body.id as string;
  const state = async (id: string) => (await t.api('GET', `/v1/runs/${id}`)).body;

  test('a new image: bots on the old one finish their run, then are replaced', async () => {
    t = await startTestFleet({ groups: { finance: { maxBots: 2 } }, scaling: SCALING });
    const long = await run('finance', 3);
    await eventually('running', async () => (await state(long)).state === 'running');
    const oldVm = (await state(long)).bot.vmName;

    await redeploy({ groups: { finance: { maxBots: 2, image: { kind: 'marketplace', publisher: 'MicrosoftWindowsDesktop', offer: 'windows-11', sku: 'win11-24h2-ent', version: 'latest' } } } });
    const next = await run('finance', 0.1);
    const done = await eventually('the long run finished on its old bot', async () => {
      const r = await state(long);
      return r.state === 'succeeded' ? r : undefined;
    }, 15_000);
    expect(done).toMatchObject({ attempts: 1, bot: { vmName: oldVm } });
    expect((await eventually('the new run ran', async () => {
      const r = await state(next);
      return r.state === 'succeeded' ? r : undefined;
    }, 15_000)).bot.vmName).not.toBe(oldVm);
    await eventually(
      'the old bot is gone, in ARM and in the store',
      async () => !t.fleet.sim.vms().some((vm) => vm.name === oldVm) && !(await t.fleet.store.bots('finance')).some((b) => b.vmName === oldVm),
      15_000,
    );
    const bots = await t.fleet.store.bots('finance');
    expect(bots.map((b) => b.imageKey)).toEqual(bots.map(() => expect.stringContaining('win11-24h2-ent')));
  }, 60_000);

  // A rotation's deploy changes the group's credential version (a random_id kept by the password's
  // SHA-256, constructs/bot-group.ts) and nothing else the runtime reads.
  test('a rotated admin password: a busy bot finishes its run, the idle one goes, new bots are of the new version', async () => {
    t = await startTestFleet({ groups: { finance: { maxBots: 2 } }, scaling: SCALING });
    const long = await run('finance', 3);
    const short = await run('finance', 0.05);
    await eventually('the long run is running and the short one done', async () => (await state(long)).state === 'running' && (await state(short)).state === 'succeeded', 15_000);
    const busyVm = (await state(long)).bot.vmName;
    const idleVm = (await state(short)).bot.vmName;
    expect(idleVm).not.toBe(busyVm);

    await redeploy({ groups: { finance: { maxBots: 2, credentialVersion: 'rotated-2' } } });
    await eventually('the idle bot with the old password is deleted', () => !t.fleet.sim.vms().some((vm) => vm.name === idleVm), 15_000);
    expect((await state(long)).state).toBe('running');
    const done = await eventually('the long run finished on its bot', async () => {
      const r = await state(long);
      return r.state === 'succeeded' ? r : undefined;
    }, 15_000);
    expect(done).toMatchObject({ attempts: 1, bot: { vmName: busyVm } });
    const next = await run('finance', 0.05);
    const ran = await eventually('a new run ran', async () => {
      const r = await state(next);
      return r.state === 'succeeded' ? r : undefined;
    }, 15_000);
    expect([idleVm, busyVm]).not.toContain(ran.bot.vmName);
    await eventually('only bots of the new version are left', async () => {
      const bots = await t.fleet.store.bots('finance');
      return bots.length > 0 && bots.every((b) => b.imageKey.endsWith('#admin:rotated-2'));
    }, 15_000);
  }, 60_000);

  test('recycleAfterRuns: a bot is replaced after that many runs', async () => {
    t = await startTestFleet({ groups: { finance: { maxBots: 1 } }, scaling: { ...SCALING, recycleAfterRuns: 2 } });
    const vms: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await run('finance', 0.05);
      const r = await eventually(`run ${i + 1} done`, async () => {
        const s = await state(id);
        return s.state === 'succeeded' ? s : undefined;
      }, 15_000);
      vms.push(r.bot.vmName);
    }
    expect(vms[0]).toBe(vms[1]);
    expect(vms[2]).not.toBe(vms[0]);
  }, 60_000);

  test('a group removed from code: its queued runs end cancelled with group_removed, its bots are deleted', async () => {
    t = await startTestFleet({ scaling: SCALING });
    await run('sales', 0.05);
    await eventually('a sales bot', async () => (await t.fleet.store.bots('sales')).some((b) => b.state === 'idle'));
    await t.api('POST', '/v1/groups/sales/pause', undefined, USERS.admin);
    const queued = await run('sales', 0.05);

    const raw = synthesizedFleetJson() as { groups: Array<{ name: string }> };
    await redeploy({}, { ...raw, groups: raw.groups.filter((g) => g.name !== 'sales') });
    const store = t.fleet.store;
    expect(await store.getRun(queued)).toMatchObject({ state: 'cancelled', errorCode: 'group_removed' });
    await eventually('the sales bots are deleted', async () => (await store.bots('sales')).length === 0 && t.fleet.sim.vms('vmss-demo-sales').length === 0, 15_000);
    expect((await t.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync' })).status).toBe(404);
  }, 60_000);

  test('maxBots lowered below the bots that exist: the excess goes as bots become idle, never mid-run', async () => {
    t = await startTestFleet({ groups: { finance: { maxBots: 3 } }, scaling: SCALING });
    const ids = await Promise.all([1.5, 2, 2.5].map((s) => run('finance', s)));
    await eventually('three bots busy', async () => (await t.fleet.store.bots('finance')).filter((b) => b.state === 'busy').length === 3, 15_000);

    await redeploy({ groups: { finance: { maxBots: 1 } } });
    const more = await Promise.all([0.1, 0.1].map((s) => run('finance', s)));
    const runs = await eventually('every run done', async () => {
      const all = await Promise.all([...ids, ...more].map(state));
      return all.every((r) => r.state === 'succeeded') ? all : undefined;
    }, 30_000);
    expect(runs.map((r) => r.attempts)).toEqual([1, 1, 1, 1, 1]);
    await eventually('one bot left', async () => (await t.fleet.store.bots('finance')).length === 1, 15_000);
  }, 60_000);
});
