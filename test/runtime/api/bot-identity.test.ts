/**
 * Bots prove who they are in layers: the group (a managed identity's access token, or a group
 * token where the group opts into one), the VM (with a managed identity, the VM's attested data,
 * which Azure signs with its vmId) and the bot (the credential its registration returned). A bot
 * acts only on its own runs, and no agent can take another bot's VM.
 */
import { randomUUID } from 'crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import { BOT_CREDENTIAL_HEADER, MAX_OUTPUT_BYTES } from '../../../runtime/agent/agent';
import { attestedContent, generateSimAttestationChain, sharedSimAttestationChain, signAttestedContent } from '../../../runtime/arm-sim/attestation';
import { LOCAL_SUBSCRIPTION } from '../../../runtime/cli/local-values';
import { MAX_CLAIM_WAIT_MS } from '../../../runtime/queue/queue';
import { eventually, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

const TENANT = '11111111-2222-3333-4444-555555555555';
const AUDIENCE = 'api://hosted-bots-test';
const identityOf = (group: string) => ({
  kind: 'managed-identity' as const,
  principalId: `00000000-0000-0000-0000-${group === 'finance' ? '00000000f1a0' : '00000000sa1e'.replace(/[^0-9a-f]/g, '0')}`,
  resourceId: `/subscriptions/0/resourceGroups/rg-hostedbots-demo-northeurope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-demo-${group}-bots`,
  clientId: `client-${group}`,
});

describe('bot identity: the bot layer', () => {
  let t: TestFleet;
  /** VMs arm-sim created for finance whose agents never start: the test plays their agents. */
  let vms: string[];
  let runs: string[];
  /** The first bot's credential, for the cross-group test. */
  let financeCredential: string;
  beforeAll(async () => {
    t = await startTestFleet({ scaling: { heartbeatSeconds: 30, idleMinutes: 10, bootTimeoutMinutes: 5 } });
    t.fleet.sim.neverRegister(10);
    runs = [];
    for (let i = 0; i < 3; i++) runs.push((await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.admin)).body.id);
    vms = await eventually('three silent VMs bound to finance bots', async () => {
      const names = (await t.fleet.store.bots('finance')).map((b) => b.vmName).filter((n): n is string => n !== undefined);
      return names.length === 3 ? names : undefined;
    }, 20_000);
  }, 40_000);
  afterAll(async () => t.stop());

  const agent = (credential: string | undefined, group = 'finance') => ({
    call: (route: string, body: unknown) => t.api('POST', route, body, t.botTokens[group], credential ? { [BOT_CREDENTIAL_HEADER]: credential } : {}),
  });
  const register = async (vmName: string, group = 'finance') => {
    const res = await t.api('POST', '/v1/agent/register', { vmName }, t.botTokens[group]);
    expect([vmName, res.status]).toEqual([vmName, 201]);
    return { botId: res.body.botId as string, credential: res.body.credential as string };
  };

  test('register returns the bot\'s own credential; agent routes refuse a group token without one, and bad credentials', async () => {
    const first = await register(vms[0]);
    financeCredential = first.credential;
    expect(first.credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bare = await agent(undefined).call('/v1/agent/runs/run_000000000000000000000000/heartbeat', { attempt: 1 });
    expect(bare.status).toBe(401);
    expect(bare.body.error.message).toMatch(/x-bot-credential/);
    expect((await agent('A'.repeat(43)).call('/v1/agent/runs/run_000000000000000000000000/heartbeat', { attempt: 1 })).status).toBe(401);
    // With its credential, the bot's call gets through to the run check.
    expect((await agent(first.credential).call('/v1/agent/runs/run_000000000000000000000000/heartbeat', { attempt: 1 })).status).toBe(409);
  });

  test('a second bot of the group cannot heartbeat, complete or cancel the first bot\'s run, nor act as it', async () => {
    const first = await register(vms[1]);
    const second = await register(vms[2]);
    const claimed = await eventually('the first bot claims a run', async () => {
      const res = await agent(first.credential).call('/v1/agent/claim', { waitSeconds: 0 });
      return res.status === 200 ? res.body.run : undefined;
    });
    const { runId, attempt } = claimed;
    expect(runs).toContain(runId);
    const byOther = agent(second.credential);
    expect((await byOther.call(`/v1/agent/runs/${runId}/heartbeat`, { attempt })).status).toBe(409);
    expect((await byOther.call(`/v1/agent/runs/${runId}/complete`, { attempt, status: 'succeeded', output: 'forged' })).status).toBe(409);
    expect((await byOther.call(`/v1/agent/runs/${runId}/complete`, { attempt, status: 'cancelled' })).status).toBe(409);
    // Naming the first bot in the body does not help: the credential says who calls.
    const posing = await byOther.call(`/v1/agent/runs/${runId}/complete`, { botId: first.botId, attempt, status: 'succeeded', output: 'forged' });
    expect(posing.status).toBe(403);
    const run = (await t.api('GET', `/v1/runs/${runId}`, undefined, USERS.admin)).body;
    expect([run.state, run.bot.id]).toEqual(['running', first.botId]);
    // The first bot still may.
    expect((await agent(first.credential).call(`/v1/agent/runs/${runId}/complete`, { attempt, status: 'succeeded', output: 'real' })).status).toBe(200);
    expect((await t.api('GET', `/v1/runs/${runId}`, undefined, USERS.admin)).body.result.output).toBe('real');
  });

  test('a bot may hold only a bounded number of open long-polls', async () => {
    // Paused, so that every claim waits rather than taking a run.
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.admin);
    try {
      const polls = [1, 2, 3].map(() => agent(financeCredential).call('/v1/agent/claim', { waitSeconds: 2 }));
      const statuses = (await Promise.all(polls)).map((r) => r.status).sort();
      expect(statuses).toEqual([204, 204, 429]);
    } finally {
      await t.api('POST', '/v1/groups/finance/resume', undefined, USERS.admin);
    }
  });

  test('an agent cannot register another bot\'s VM name: 409 vm_name_taken, and no credential', async () => {
    const res = await t.api('POST', '/v1/agent/register', { vmName: vms[0] }, t.botTokens.finance);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('vm_name_taken');
    expect(res.body.credential).toBeUndefined();
  });

  test.each([
    ['a vmName of 81 characters', { vmName: 'v'.repeat(81) }, /^vmName: /],
    ['attested data of 16,385 base64 characters', { attestedData: { encoding: 'pkcs7', signature: 'A'.repeat(16_385) } }, /^attestedData\.signature: /],
  ])('a registration with %s is refused with 400 naming the field', async (_what, body, message) => {
    const res = await t.api('POST', '/v1/agent/register', body, t.botTokens.finance);
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_request']);
    expect(res.body.error.message).toMatch(message);
  });

  test.each([
    [`output of ${MAX_OUTPUT_BYTES} characters`, 409, 'run_not_running', { output: 'x'.repeat(MAX_OUTPUT_BYTES) }],
    [`output of ${MAX_OUTPUT_BYTES + 1} characters`, 400, 'invalid_request', { output: 'x'.repeat(MAX_OUTPUT_BYTES + 1) }],
    ['error text of 2,000 characters', 409, 'run_not_running', { error: 'e'.repeat(2000) }],
    ['error text of 2,001 characters', 400, 'invalid_request', { error: 'e'.repeat(2001) }],
    ['an error message of 2,001 characters', 400, 'invalid_request', { error: { message: 'e'.repeat(2001) } }],
  ])("a completion with %s is answered %i %s: within its caps it reaches the run's check", async (_what, status, code, fields) => {
    const res = await agent(financeCredential).call('/v1/agent/runs/run_000000000000000000000000/complete', { attempt: 1, status: 'failed', ...fields });
    expect([res.status, res.body.error.code]).toEqual([status, code]);
  });

  test(`a claim asking to wait more than ${MAX_CLAIM_WAIT_MS / 1000} s is refused with 400 naming waitSeconds, before it waits`, async () => {
    const res = await agent(financeCredential).call('/v1/agent/claim', { waitSeconds: MAX_CLAIM_WAIT_MS / 1000 + 1 });
    expect([res.status, res.body.error.code]).toEqual([400, 'invalid_request']);
    expect(res.body.error.message).toMatch(/^waitSeconds: /);
  });

  test('another group\'s token with this group\'s bot credential is refused', async () => {
    const other = await agent(financeCredential, 'sales').call('/v1/agent/runs/run_000000000000000000000000/heartbeat', { attempt: 1 });
    expect(other.status).toBe(401);
    expect((await agent(financeCredential, 'finance').call('/v1/agent/runs/run_000000000000000000000000/heartbeat', { attempt: 1 })).status).toBe(409);
  });
});

describe('bot identity: the group layer, by managed identity, and the VM by its attested data', () => {
  let t: TestFleet;
  let sign: (claims: Record<string, unknown>, audience?: string) => Promise<string>;
  /** Silent VMs arm-sim created, per group: the test plays their agents. */
  const vms: Record<string, string[]> = {};

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'mi-key', alg: 'RS256', use: 'sig' };
    // Managed identity tokens are v1 tokens: issuer sts.windows.net.
    sign = (claims, audience = AUDIENCE) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'mi-key' })
        .setIssuer(`https://sts.windows.net/${TENANT}/`)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
    t = await startTestFleet(
      {
        groups: { finance: { botAuth: identityOf('finance') }, sales: { botAuth: identityOf('sales') } },
        scaling: { heartbeatSeconds: 30, idleMinutes: 10, bootTimeoutMinutes: 5 },
      },
      { entra: { tenantId: TENANT, audience: AUDIENCE, jwks: createLocalJWKSet({ keys: [jwk] }) } },
    );
    t.fleet.sim.neverRegister(10);
    for (const [group, flow] of [['finance', 'invoice-entry'], ['finance', 'invoice-entry'], ['finance', 'invoice-entry'], ['sales', 'lead-sync']]) {
      await t.api('POST', `/v1/groups/${group}/runs`, { flow }, USERS.admin);
    }
    for (const [group, count] of [['finance', 3], ['sales', 1]] as const) {
      vms[group] = await eventually(`${count} silent VMs for ${group}, with their vmIds`, async () => {
        const bots = (await t.fleet.store.bots(group)).filter((b) => b.vmName !== undefined && b.vmId !== undefined);
        return bots.length >= count ? bots.map((b) => b.vmName!) : undefined;
      }, 20_000);
    }
  }, 40_000);
  afterAll(async () => t.stop());

  const asIdentity = (group: string, extra: Record<string, unknown> = {}, audience?: string) =>
    sign({ oid: identityOf(group).principalId, xms_mirid: identityOf(group).resourceId, idtyp: 'app', ...extra }, audience);
  const registered = async (vmName: string) => (await t.fleet.store.bots()).find((b) => b.vmName === vmName)?.registeredAt !== undefined;
  const nonceFor = async (group: string) => {
    const res = await t.api('POST', '/v1/agent/register/nonce', {}, await asIdentity(group));
    expect(res.status).toBe(201);
    return res.body.nonce as string;
  };
  /** What the agent on `vmName` sends: the VM's attested data for a nonce of `group`. */
  const attestedAs = async (vmName: string, group: string) => ({ attestedData: await t.fleet.sim.attest(vmName, await nonceFor(group)) });
  const register = async (body: unknown, group: string) => t.api('POST', '/v1/agent/register', body, await asIdentity(group));

  test.each([
    ['for another audience', () => asIdentity('finance', {}, 'https://management.azure.com/'), 401],
    ['whose xms_mirid names another identity', () => asIdentity('finance', { xms_mirid: identityOf('sales').resourceId }), 401],
    // A valid token of the tenant, but of no group's identity: a user, and users may not call agent routes.
    ['of an identity no group has', () => sign({ oid: '99999999-9999-9999-9999-999999999999', idtyp: 'app' }), 403],
  ])('a token %s is refused, and registers nothing', async (_name, token, status) => {
    const res = await t.api('POST', '/v1/agent/register', await attestedAs(vms.finance[1], 'finance'), await token());
    expect(res.status).toBe(status);
    expect(await registered(vms.finance[1])).toBe(false);
  });

  test('a group that proves itself by identity takes no shared token', async () => {
    expect((await t.api('POST', '/v1/agent/register', { vmName: vms.finance[1] }, t.botTokens.finance)).status).toBe(401);
    expect(await registered(vms.finance[1])).toBe(false);
  });

  test("the group's identity alone proves no VM: a VM name without attested data is refused as attestation_required", async () => {
    const res = await register({ vmName: vms.finance[1] }, 'finance');
    expect(res.status).toBe(401);
    expect(res.body.error).toEqual({
      code: 'attestation_required',
      message: expect.stringMatching(/^attestedData: required: the bots of group finance register with their VM's attested data\. POST \/v1\/agent\/register\/nonce/),
    });
    expect(await registered(vms.finance[1])).toBe(false);
  });

  test('the group\'s identity with its VM\'s attested data registers the bot as that VM, whatever name the body gives; sent again, it is refused as nonce_invalid', async () => {
    const body = { ...(await attestedAs(vms.finance[0], 'finance')), vmName: vms.finance[2] };
    const res = await register(body, 'finance');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ group: 'finance', vmName: vms.finance[0] });
    expect(await registered(vms.finance[0])).toBe(true);
    expect(await registered(vms.finance[2])).toBe(false);
    const replay = await register(body, 'finance');
    expect([replay.status, replay.body.error.code]).toEqual([401, 'nonce_invalid']);
  });

  test('a nonce issued to another group is refused as nonce_invalid', async () => {
    const res = await register({ attestedData: await t.fleet.sim.attest(vms.finance[2], await nonceFor('sales')) }, 'finance');
    expect([res.status, res.body.error.code]).toEqual([401, 'nonce_invalid']);
    expect(await registered(vms.finance[2])).toBe(false);
  });

  test("another group's identity with a finance VM's attested data is refused as vm_of_another_group", async () => {
    const nonce = await nonceFor('sales');
    const res = await register({ attestedData: await t.fleet.sim.attest(vms.finance[2], nonce) }, 'sales');
    expect([res.status, res.body.error.code]).toEqual([403, 'vm_of_another_group']);
    expect(await registered(vms.finance[2])).toBe(false);
  });

  test('attested data of a VM no scale-out created is refused as vm_not_created', async () => {
    const chain = await sharedSimAttestationChain();
    const content = attestedContent({ vmId: randomUUID(), subscriptionId: LOCAL_SUBSCRIPTION, nonce: await nonceFor('finance'), now: Date.now() });
    const res = await register({ attestedData: signAttestedContent(Buffer.from(JSON.stringify(content)), chain.signer) }, 'finance');
    expect([res.status, res.body.error.code]).toEqual([403, 'vm_not_created']);
  });

  test('attested data signed by a chain the runtime does not trust is refused as attestation_chain', async () => {
    const other = await generateSimAttestationChain();
    const vmId = (await t.fleet.store.bots('finance')).find((b) => b.vmName === vms.finance[2])!.vmId!;
    const content = attestedContent({ vmId, subscriptionId: LOCAL_SUBSCRIPTION, nonce: await nonceFor('finance'), now: Date.now() });
    const res = await register({ attestedData: signAttestedContent(Buffer.from(JSON.stringify(content)), other.signer) }, 'finance');
    expect([res.status, res.body.error.code]).toEqual([401, 'attestation_chain']);
    expect(await registered(vms.finance[2])).toBe(false);
  });

  test("another group's identity is that group's bot, and cannot act as this group's bots", async () => {
    const finance = await register(await attestedAs(vms.finance[1], 'finance'), 'finance');
    expect(finance.status).toBe(201);
    const sales = await register(await attestedAs(vms.sales[0], 'sales'), 'sales');
    expect(sales.body.group).toBe('sales');
    // Sales' identity may not use a finance bot's credential.
    const claim = await t.api('POST', '/v1/agent/claim', { waitSeconds: 0 }, await asIdentity('sales'), { [BOT_CREDENTIAL_HEADER]: finance.body.credential });
    expect(claim.status).toBe(401);
    // The same credential with its own group's identity gets through.
    expect([200, 204]).toContain((await t.api('POST', '/v1/agent/claim', { waitSeconds: 0 }, await asIdentity('finance'), { [BOT_CREDENTIAL_HEADER]: finance.body.credential })).status);
  });
});
