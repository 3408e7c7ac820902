import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Testing } from 'cdktf';
import { BotImageSource, HostedBotsStack } from '../../index';
import { ADMIN_PASSWORD_PATH, ADMIN_PASSWORD_RULE } from '../../constructs/bot-group';
import { evaluateWithTerraform, terraformFor } from '../helpers/terraform';
import { readZipEntry, zipFolder } from '../../runtime/cli/bundle';
import { DEPLOYER_IP, fleetStack, groupProps, plainEnvironment, resources, sensitiveVariable, synth } from '../helpers/fleet';

const scaleSets = (json: Record<string, any>) => resources(json, 'azurerm_orchestrated_virtual_machine_scale_set');

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** The agent's SHA-256 as the bootstrap config carries it, a literal inside the protected settings' expression. */
function configuredAgentSha256(vmss: Record<string, any>): string {
  return /"agentSha256" = "([0-9a-f]{64})"/.exec(vmss.extension[0].protected_settings)![1];
}

describe('HostedBotGroup', () => {
  test('declares a Flexible scale set with no instances and ignores changes to the count', () => {
    const [vmss] = scaleSets(synth(fleetStack()).json);
    expect(vmss).toMatchObject({
      name: 'vmss-demo-finance',
      platform_fault_domain_count: 1,
      instances: 0,
      lifecycle: { ignore_changes: ['instances', 'os_profile[0].windows_configuration[0].admin_password'] },
    });
  });

  test('has a Windows os_profile with the local admin account and a derived computer-name prefix', () => {
    const stack = fleetStack({ groups: [] });
    stack.environment.addGroup('billing', groupProps({ name: 'accounts-payable', adminPassword: sensitiveVariable(stack, 'pw') }));
    const [vmss] = scaleSets(synth(stack).json);
    expect(vmss.os_profile.windows_configuration).toMatchObject({
      admin_username: 'botadmin',
      admin_password: '${var.pw}',
      computer_name_prefix: 'accounts-',
    });
    expect(vmss.os_profile.linux_configuration).toBeUndefined();
  });

  test('boots the Windows 11 desktop marketplace image by default', () => {
    const [vmss] = scaleSets(synth(fleetStack()).json);
    expect(vmss.source_image_reference).toEqual({
      publisher: 'MicrosoftWindowsDesktop',
      offer: 'windows-11',
      sku: 'win11-24h2-pro',
      version: 'latest',
    });
    expect(vmss.source_image_id).toBeUndefined();
  });

  test('a custom marketplace image can be named', () => {
    const [vmss] = scaleSets(synth(fleetStack({ groups: [{ image: BotImageSource.windowsDesktop({ sku: 'win11-23h2-ent' }) }] })).json);
    expect(vmss.source_image_reference.sku).toBe('win11-23h2-ent');
  });

  test('runs under its own user-assigned identity', () => {
    const { json } = synth(fleetStack());
    const [vmss] = scaleSets(json);
    const [identity] = resources(json, 'azurerm_user_assigned_identity');
    expect(identity.name).toBe('id-demo-finance-bots');
    expect(vmss.identity).toEqual({ type: 'UserAssigned', identity_ids: [expect.stringMatching(/^\$\{azurerm_user_assigned_identity\..+\.id\}$/)] });
  });

  test('has no public IP: no public IP configuration on the NIC', () => {
    const { json } = synth(fleetStack());
    const [vmss] = scaleSets(json);
    for (const nic of vmss.network_interface) {
      for (const ip of nic.ip_configuration) expect(ip.public_ip_address).toBeUndefined();
      expect(nic.network_security_group_id).toMatch(/azurerm_network_security_group/);
    }
  });

  test('the bootstrap extension carries the bot token in protected settings only', () => {
    const [vmss] = scaleSets(synth(fleetStack()).json);
    const [extension] = vmss.extension;
    expect(extension).toMatchObject({ publisher: 'Microsoft.Compute', type: 'CustomScriptExtension', type_handler_version: '1.10' });
    expect(extension.settings).toBeUndefined();
    expect(extension.protected_settings).toMatch(/commandToExecute/);
    expect(extension.protected_settings).toMatch(/random_password\.[^.]+bot-token[^.]+\.result/);
  });

  test('the token and the password never appear outside protected settings and the os profile', () => {
    const stack = fleetStack({ groups: [] });
    stack.environment.addGroup('finance', groupProps({ adminPassword: sensitiveVariable(stack, 'pw') }));
    const { json } = synth(stack);
    const [vmss] = scaleSets(json);
    const { extension, os_profile: _profile, ...rest } = vmss;
    expect(JSON.stringify(rest)).not.toMatch(/random_password|var\.pw/);
    expect(JSON.stringify(json.output ?? {})).not.toMatch(/random_password|var\.pw/);
  });

  test("the bootstrap config carries the SHA-256 of the agent.js inside the runtime package the stack ships", () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'group-agent-'));
    const app = new App({ outdir, stackTraces: false });
    const stack = new HostedBotsStack(app, 'fleet', { geography: 'Europe', environment: { name: 'demo', botCapacity: 1 }, runtime: {} });
    stack.environment.addGroup('finance', groupProps());
    app.synth();
    const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks/fleet/cdk.tf.json'), 'utf8'));
    const shipped = path.join(outdir, 'stacks/fleet', Object.values<any>(tf.resource.azurerm_storage_blob)[0].source);
    const [vmss] = scaleSets(tf);
    expect(configuredAgentSha256(vmss)).toBe(sha256(readZipEntry(shipped, 'agent.js')));
  });

  test('a stack given its own runtime bundleZip checks the agent.js inside that one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'own-bundle-'));
    fs.writeFileSync(path.join(dir, 'main.js'), 'require("./agent.js");\n');
    fs.writeFileSync(path.join(dir, 'agent.js'), 'console.log("my agent");\n');
    const bundleZip = zipFolder(dir, `${dir}.zip`);
    const [vmss] = scaleSets(synth(fleetStack({ runtime: { bundleZip } })).json);
    expect(configuredAgentSha256(vmss)).toBe(sha256('console.log("my agent");\n'));
  });

  test('a standby pool is declared only when scaling.standbyPool is set', () => {
    expect(resources(synth(fleetStack()).json, 'azurerm_virtual_machine_scale_set_standby_pool')).toEqual([]);
    const stack = fleetStack({ groups: [{ scaling: { standbyPool: { maxReadyCapacity: 2 } } }] });
    const [pool] = resources(synth(stack).json, 'azurerm_virtual_machine_scale_set_standby_pool');
    expect(pool).toMatchObject({
      name: 'sbp-demo-finance',
      virtual_machine_state: 'Deallocated',
      elasticity_profile: { max_ready_capacity: 2, min_ready_capacity: 0 },
      attached_virtual_machine_scale_set_id: expect.stringMatching(/azurerm_orchestrated_virtual_machine_scale_set/),
    });
  });

  test("a standby pool of an ordinary environment and group gets a name Azure accepts, and synth reports nothing about it", () => {
    const stack = fleetStack({ environment: { name: 'finance-ops-eu' }, groups: [{ name: 'invoices', scaling: { standbyPool: { maxReadyCapacity: 2 } } }] });
    const result = synth(stack);
    const [pool] = resources(result.json, 'azurerm_virtual_machine_scale_set_standby_pool');
    expect(pool.name).toMatch(/^[a-zA-Z0-9-]{3,24}$/);
    expect(result.annotations.filter((a) => a.message.includes('[HRB-NAME-9]'))).toEqual([]);
  });

  test('group settings override environment scaling settings', () => {
    const stack = fleetStack({ environment: { scaling: { idleMinutes: 20, maxAttempts: 5 } }, groups: [{ scaling: { idleMinutes: 5 } }] });
    expect(stack.environment.groups[0].scaling).toMatchObject({ idleMinutes: 5, maxAttempts: 5, queueTimeoutHours: 6 });
  });

  test('predictive warm-up is on with a 15-minute lead by default, capped by maxBots unless set', () => {
    const stack = fleetStack({ environment: { scaling: { predictiveLeadMinutes: 20 } }, groups: [{ name: 'finance' }, { name: 'sales', scaling: { predictive: false, predictiveMaxBots: 1 } }] });
    const [finance, sales] = stack.environment.groups;
    expect(finance.scaling).toMatchObject({ predictive: true, predictiveLeadMinutes: 20 });
    expect(finance.scaling.predictiveMaxBots).toBeUndefined();
    expect(sales.scaling).toMatchObject({ predictive: false, predictiveLeadMinutes: 20, predictiveMaxBots: 1 });
  });
});

// Rotation: the scale set's admin_password is ForceNew ("admin_password": ForceNew: true in
// internal/services/compute/orchestrated_virtual_machine_scale_set.go at v4.55.0), while a change to
// `extension` is applied in place by the resource's Update ("d.HasChanges(\"extension\", ...)" in
// orchestrated_virtual_machine_scale_set_resource.go).
describe('webhooks', () => {
  test("a group's webhooks reach the manifest, its format json unless given, and no secret with them", () => {
    const stack = fleetStack({ groups: [{ webhooks: [{ url: 'https://hooks.example.com/in', events: ['run.failed'] }, { url: 'https://prod.westeurope.logic.azure.com/workflows/1', events: ['run.succeeded'], format: 'teams', secretName: 'teams-finance' }] }] });
    expect(stack.resolvedFleetManifest().groups[0].webhooks).toEqual([
      { url: 'https://hooks.example.com/in', events: ['run.failed'], format: 'json' },
      { url: 'https://prod.westeurope.logic.azure.com/workflows/1', events: ['run.succeeded'], format: 'teams', secretName: 'teams-finance' },
    ]);
  });

  test('a group without webhooks declares none', () => {
    expect(fleetStack().resolvedFleetManifest().groups[0].webhooks).toEqual([]);
  });

  test.each([
    [{ url: 'ftp://hooks.example.com/in', events: ['run.failed'] }, /HostedBotGroup finance: webhooks\[0\]\.url: must be an absolute https URL/],
    [{ url: 'https://hooks.example.com/in', events: [] }, /webhooks\[0\]\.events: must name at least one event type/],
    [{ url: 'https://hooks.example.com/in', events: ['queue.wait_exceeded'] }, /webhooks\[0\]\.waitAboveMinutes: is required with the event queue\.wait_exceeded/],
    [{ url: 'https://hooks.example.com/in', events: ['run.failed'], secretName: 'no_underscores' }, /webhooks\[0\]\.secretName: Key Vault secret names are 1-127 letters, digits and hyphens/],
  ] as const)('a bad webhook %j fails at once, naming the group, the field and the rule', (webhook, message) => {
    expect(() => fleetStack({ groups: [{ webhooks: [webhook as never] }] })).toThrow(message);
  });

  test('one URL declared twice in a group is refused', () => {
    const twice = { url: 'https://hooks.example.com/in', events: ['run.failed'] as const };
    expect(() => fleetStack({ groups: [{ webhooks: [twice, twice] }] })).toThrow(/webhooks\[1\]\.url: https:\/\/hooks\.example\.com\/in is declared twice/);
  });
});

describe('rotating the admin password', () => {
  const withPassword = (password: string) => {
    const stack = fleetStack({ groups: [{ adminPassword: password }] });
    return synth(stack).json;
  };
  const before = withPassword('First-Passw0rd-2026');
  const after = withPassword('Second-Passw0rd-2027');

  test('changes only what is updated in place: the bootstrap settings and the credential version, never the ignored model password', () => {
    const [a] = scaleSets(before);
    const [b] = scaleSets(after);
    expect(b.lifecycle.ignore_changes).toContain(ADMIN_PASSWORD_PATH);
    expect(b.extension[0].protected_settings).not.toEqual(a.extension[0].protected_settings);
    const { extension: _ea, os_profile: oa, ...restA } = a;
    const { extension: _eb, os_profile: ob, ...restB } = b;
    expect(restB).toEqual(restA);
    // The only difference in os_profile is the ignored admin_password.
    expect({ ...ob.windows_configuration, admin_password: 'x' }).toEqual({ ...oa.windows_configuration, admin_password: 'x' });
  });

  test('the credential version is a random value kept by the password\'s SHA-256, and reaches the manifest', () => {
    const [version] = resources(after, 'random_id');
    expect(version).toMatchObject({ byte_length: 6, keepers: { admin_password_sha256: '${sha256("Second-Passw0rd-2027")}' } });
    const [id] = Object.keys(after.resource.random_id);
    const [webApp] = resources(after, 'azurerm_linux_web_app');
    expect(webApp.app_settings.HOSTED_BOTS_MANIFEST).toContain(`\\"credentialVersion\\":", jsonencode(random_id.${id}.hex)`);
  });

  test('Terraform checks Azure\'s password rules at plan, for a sensitive variable too, on the credential version', () => {
    const binary = terraformFor('the password precondition');
    if (!binary) return;
    const stack = fleetStack({ groups: [] });
    stack.environment.addGroup('finance', groupProps({ adminPassword: sensitiveVariable(stack, 'bot_admin_password') }));
    const [version] = resources(synth(stack).json, 'random_id');
    const [precondition] = version.lifecycle.precondition;
    expect(precondition.error_message).toBe(`Bot group "finance": adminPassword ${ADMIN_PASSWORD_RULE}.`);
    const verdict = (password: string) =>
      evaluateWithTerraform({ ok: precondition.condition }, { 'var\\.bot_admin_password': JSON.stringify(password) }, binary).ok as unknown as boolean;
    expect(verdict('Str0ng-Rotation!')).toBe(true);
    expect(verdict('Short1!a')).toBe(false); // 8 characters
    expect(verdict('alllowercaseletters')).toBe(false); // one class
    expect(verdict('lowercase-and-digits-123')).toBe(true); // three classes
    expect(verdict('Password22')).toBe(false); // banned, and short
    expect(verdict('P@ssword123')).toBe(false); // banned
    expect(verdict(`Aa1!${'x'.repeat(120)}`)).toBe(false); // 124 characters
  });
});

describe('HostedBotGroup checks itself, in any stack', () => {
  test('in a plain TerraformStack, app.synth() refuses a reserved admin username, naming the path, rule ID, field, value and rule', () => {
    const { app, environment } = plainEnvironment();
    environment.addGroup('finance', groupProps({ adminUsername: 'admin' }));
    expect(() => app.synth()).toThrow(/plain\/environment\/finance: \[HRB-ADMIN-1\] adminUsername "admin" is reserved by Azure/);
  });

  test('in a plain TerraformStack, a full synth refuses committedBots above maxBots', () => {
    const { stack, environment } = plainEnvironment();
    environment.addGroup('finance', groupProps({ maxBots: 3, committedBots: 4 }));
    expect(() => Testing.fullSynth(stack)).toThrow(/plain\/environment\/finance: \[HRB-CAP-1\] committedBots 4 must be at most the group's maxBots \(3\)/);
  });
});
