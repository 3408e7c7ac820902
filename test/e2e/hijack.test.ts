/**
 * A bot credential cannot take over a bot. With arm-sim and the real agents: whoever holds a
 * group's proof (its token, or its managed identity's token) registering a name no scale-out
 * created, a VM already registered, or a VM of another group is refused with a code and a message
 * that name the rule, and the real VMs still register and run their runs. With a managed identity,
 * a name proves nothing at all: only the VM's attested data does.
 */
import { localIdentities, LocalIdentities } from '../../runtime/cli/local-identity';
import { eventually, startTestFleet, TestFleet, USERS } from '../helpers/local-fleet';

const SCALING = { heartbeatSeconds: 0.5, idleMinutes: 5, bootTimeoutMinutes: 1 };

const runOf = (t: TestFleet, group: string) =>
  t.api('POST', `/v1/groups/${group}/runs`, { flow: group === 'sales' ? 'lead-sync' : 'invoice-entry', inputs: { simulateSeconds: 0.05 } }, USERS.admin).then((r) => r.body.id as string);
const succeeded = (t: TestFleet, id: string) =>
  eventually(`run ${id} succeeded`, async () => {
    const run = (await t.api('GET', `/v1/runs/${id}`)).body;
    return run.state === 'succeeded' ? run : undefined;
  }, 20_000);
/** The VM a scale-out of the group created and the scaler listed, before its agent has registered. */
const listedNotRegistered = (t: TestFleet, group: string) =>
  eventually(`a listed VM of ${group} whose agent has not registered`, async () => {
    const bot = (await t.fleet.store.bots(group)).find((b) => b.vmName !== undefined && b.vmId !== undefined && b.registeredAt === undefined);
    return bot && { name: bot.vmName!, botId: bot.id };
  }, 10_000);

describe('hijack: a group token cannot register as a VM that is not its own', () => {
  let t: TestFleet;
  beforeAll(async () => {
    // VMs boot slowly here, so that the test holds a listed VM's name before its agent starts.
    t = await startTestFleet({ scaling: SCALING }, { bootSeconds: 2 });
  }, 30_000);
  afterAll(async () => t.stop());

  const register = (vmName: string, group = 'finance') => t.api('POST', '/v1/agent/register', { vmName }, t.botTokens[group]);

  test('every attempt is refused naming its rule, and the real VMs register and run their runs', async () => {
    const financeRun = await runOf(t, 'finance');
    const salesRun = await runOf(t, 'sales');
    const salesVm = await listedNotRegistered(t, 'sales');

    // A name no scale-out created.
    const invented = await register('vmss-finance_deadbeef');
    expect(invented.status).toBe(403);
    expect(invented.body.error).toEqual({
      code: 'vm_not_created',
      message:
        'VM vmss-finance_deadbeef is not a VM the scaler created for group finance: no VM the scaler listed in its scale set has that name. ' +
        'A bot registers only as a VM a scale-out of its group created; the agent of a new VM retries until the scaler has listed it',
    });

    // Another group's VM, listed and waiting for its own agent.
    const otherGroup = await register(salesVm.name);
    expect(otherGroup.status).toBe(403);
    expect(otherGroup.body.error).toEqual({
      code: 'vm_of_another_group',
      message: `VM ${salesVm.name} was created for another group, not finance; a bot registers only as a VM of its own group`,
    });
    expect(otherGroup.body.credential).toBeUndefined();

    // The real VMs register as themselves and run the runs.
    const [financeDone, salesDone] = await Promise.all([succeeded(t, financeRun), succeeded(t, salesRun)]);
    expect(salesDone.bot.vmName).toBe(salesVm.name);
    expect(salesDone.bot.id).toBe(salesVm.botId);

    // A VM that registered already.
    const taken = await register(financeDone.bot.vmName);
    expect(taken.status).toBe(409);
    expect(taken.body.error).toEqual({
      code: 'vm_name_taken',
      message: expect.stringMatching(
        new RegExp(`^VM ${financeDone.bot.vmName} is already registered as bot ${financeDone.bot.id}; its agent keeps its bot credential across restarts, and no other agent may register it$`),
      ),
    });

    // No attempt made a bot: every bot of the store is a VM arm-sim created, registered by its own agent.
    const vms = new Set(t.fleet.sim.vms().map((vm) => vm.name));
    const bots = await t.fleet.store.bots();
    expect(bots.filter((b) => !vms.has(b.vmName ?? ''))).toEqual([]);
    expect(bots.filter((b) => b.registeredAt !== undefined).map((b) => b.vmName).sort()).toEqual([financeDone.bot.vmName, salesVm.name].sort());
  }, 60_000);
});

describe('hijack: with a managed identity, only the VM\'s own attested data registers it', () => {
  let t: TestFleet;
  let identities: LocalIdentities;
  beforeAll(async () => {
    identities = await localIdentities(['finance', 'sales']);
    t = await startTestFleet({ scaling: SCALING, identities: identities.identities }, { bootSeconds: 2, identities });
  }, 30_000);
  afterAll(async () => t.stop());

  const asGroup = async (group: string) => identities.tokenFor(group)();
  const attested = async (vmName: string, group: string) => {
    const nonce = (await t.api('POST', '/v1/agent/register/nonce', {}, await asGroup(group))).body.nonce as string;
    return { attestedData: await t.fleet.sim.attest(vmName, nonce) };
  };
  const register = async (body: unknown, group = 'finance') => t.api('POST', '/v1/agent/register', body, await asGroup(group));

  test('a name alone, another group\'s VM and a registered VM are refused; the real VMs register by attested data and run their runs', async () => {
    const financeRun = await runOf(t, 'finance');
    const salesRun = await runOf(t, 'sales');
    const financeVm = await listedNotRegistered(t, 'finance');
    const salesVm = await listedNotRegistered(t, 'sales');

    // The group's identity proves the group, not a VM: the name of its own listed VM is not enough.
    const byName = await register({ vmName: financeVm.name });
    expect([byName.status, byName.body.error.code]).toEqual([401, 'attestation_required']);

    // Attested data of another group's VM (had the holder been on it) with this group's identity.
    const otherGroup = await register(await attested(salesVm.name, 'finance'));
    expect(otherGroup.status).toBe(403);
    expect(otherGroup.body.error).toEqual({
      code: 'vm_of_another_group',
      message: expect.stringMatching(/^the VM with vmId [0-9a-f-]{36} was created for another group, not finance; a bot registers only as a VM of its own group$/),
    });

    const [financeDone, salesDone] = await Promise.all([succeeded(t, financeRun), succeeded(t, salesRun)]);
    expect([financeDone.bot.vmName, salesDone.bot.vmName]).toEqual([financeVm.name, salesVm.name]);

    // A VM that registered already, even with its own fresh attested data.
    const taken = await register(await attested(financeVm.name, 'finance'));
    expect([taken.status, taken.body.error.code]).toEqual([409, 'vm_name_taken']);
    expect(taken.body.error.message).toMatch(/^the VM with vmId [0-9a-f-]{36} is already registered as bot /);
  }, 60_000);
});
