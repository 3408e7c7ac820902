import * as fs from 'fs';
import * as path from 'path';
import { App, Fn, Testing } from 'cdktf';
import { BotImageSource, BotImagesStack, BotRuntimeProps, HostedBotsStack, NODE_END_OF_LIFE, RUNTIME_INSTANCE_ACTIONS } from '../../index';
import { parseManifest, sha256Hex } from '../../runtime/config/manifest';
import { DEPLOYER_IP, groupProps, resources, sensitiveVariable, synth } from '../helpers/fleet';
import { evaluateWithTerraform, terraformFor } from '../helpers/terraform';

function fleet(options: { subnetId?: string; gallery?: boolean; runtime?: BotRuntimeProps } = {}) {
  const app = Testing.app();
  let image: BotImageSource | undefined;
  if (options.gallery) {
    const images = new BotImagesStack(app, 'images', { location: 'northeurope' });
    const version = images.gallery
      .addImage('windows', { name: 'windows-rpa', publisher: 'contoso', offer: 'rpa', sku: 'win11' })
      .addVersion('1.0.0', { source: { managedImageId: '/img' }, geographies: ['Europe'] });
    image = BotImageSource.fromVersion(version);
  }
  const stack = new HostedBotsStack(app, 'fleet', {
    geography: 'Europe',
    environment: { name: 'demo', botCapacity: 4, network: options.subnetId ? { subnetId: options.subnetId } : undefined },
    runtime: options.runtime ?? { deployerIpRanges: [DEPLOYER_IP] },
  });
  const password = sensitiveVariable(stack, 'pw');
  stack.environment.addGroup('finance', groupProps({ adminPassword: password, image }));
  stack.environment.addGroup('sales', groupProps({ name: 'sales', adminPassword: password, image }));
  return stack;
}

describe('BotRuntime', () => {
  const { json } = synth(fleet());
  const [app] = resources(json, 'azurerm_linux_web_app');
  const [identity] = resources(json, 'azurerm_user_assigned_identity').filter((i) => i.name.endsWith('-runtime'));

  test('runs the bundle on a Linux App Service: supported Node LTS, HTTPS only, health check, always on', () => {
    expect(app).toMatchObject({
      https_only: true,
      site_config: { always_on: true, health_check_path: '/healthz', application_stack: { node_version: '22-lts' }, app_command_line: 'node main.js runtime' },
    });
    expect(resources(json, 'azurerm_service_plan')).toEqual([expect.objectContaining({ os_type: 'Linux', sku_name: 'B1' })]);
  });

  test('the App Service Node.js line is supported today (Node.js 20 reached end of life on 2026-04-30)', () => {
    const major = /^(\d+)-lts$/.exec(app.site_config.application_stack.node_version)![1];
    expect(Number(major)).toBeGreaterThanOrEqual(22);
    expect(NODE_END_OF_LIFE[major] > new Date().toISOString().slice(0, 10)).toBe(true);
  });

  // zip_deploy_file publishes with basic authentication (azurerm docs for linux_web_app;
  // hashicorp/terraform-provider-azurerm#25775): with it off, every apply after the first fails.
  test('loads its package from a blob with its managed identity: no zip deploy, no basic authentication', () => {
    expect(app.zip_deploy_file).toBeUndefined();
    expect(app.webdeploy_publish_basic_authentication_enabled).toBe(false);
    expect(app.ftp_publish_basic_authentication_enabled).toBe(false);
    expect(app.site_config.scm_ip_restriction_default_action).toBe('Deny');
    expect(app.app_settings.WEBSITE_RUN_FROM_PACKAGE).toMatch(/^\$\{azurerm_storage_blob\..+\.url\}$/);
    expect(app.app_settings.WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID).toMatch(/^\$\{azurerm_user_assigned_identity\.runtime_identity_.+\.id\}$/);
    expect(app.app_settings.SCM_DO_BUILD_DURING_DEPLOYMENT).toBeUndefined();
  });

  test('the package blob is named by its content, in a private container, and replaced create-before-destroy', () => {
    const [blob] = resources(json, 'azurerm_storage_blob');
    expect(blob).toMatchObject({ type: 'Block', name: expect.stringMatching(/^runtime-[0-9a-f]{16}\.zip$/), lifecycle: { create_before_destroy: true } });
    expect(blob.source).toMatch(/^assets\/.+\.zip$/);
    expect(resources(json, 'azurerm_storage_container')).toEqual([expect.objectContaining({ container_access_type: 'private' })]);
    expect(resources(json, 'azurerm_storage_account')).toEqual([
      expect.objectContaining({ allow_nested_items_to_be_public: false, min_tls_version: 'TLS1_2', https_traffic_only_enabled: true }),
    ]);
  });

  test("the app's identity may read the package's storage account, and the app waits for that grant", () => {
    const [account] = Object.keys(json.resource.azurerm_storage_account);
    const [readPackage] = Object.entries<any>(json.resource.azurerm_role_assignment).filter(([, a]) => a.role_definition_name === 'Storage Blob Data Reader');
    expect(readPackage[1]).toMatchObject({ scope: `\${azurerm_storage_account.${account}.id}`, principal_id: expect.stringMatching(/runtime_identity/) });
    expect(app.depends_on).toContain(`azurerm_role_assignment.${readPackage[0]}`);
  });

  test('runs under its own user-assigned identity, which also reads the Key Vault references', () => {
    expect(app.identity).toEqual({ type: 'UserAssigned', identity_ids: [expect.stringMatching(/runtime_identity/)] });
    expect(app.key_vault_reference_identity_id).toMatch(/runtime_identity/);
    expect(identity).toBeDefined();
  });

  test("the identity's scaling role is assigned only at each scale set, identity, the subnet and the NSG", () => {
    const mine = resources(json, 'azurerm_role_assignment').filter((a) => /runtime_identity/.test(a.principal_id) && /runtime-role_/.test(a.role_definition_id ?? ''));
    const scopes: string[] = mine.map((a) => a.scope);
    expect(scopes.filter((s) => /azurerm_orchestrated_virtual_machine_scale_set\..+\.id/.test(s))).toHaveLength(2);
    expect(scopes.filter((s) => /azurerm_user_assigned_identity\..+\.id/.test(s))).toHaveLength(2);
    expect(scopes).toEqual(expect.arrayContaining([expect.stringMatching(/azurerm_subnet\..+\.id/), expect.stringMatching(/azurerm_network_security_group\..+\.id/)]));
    for (const scope of scopes) expect(scope).not.toMatch(/azurerm_resource_group|client_config/);
  });

  // Flexible orchestration: "RBAC Permissions Required: Compute Virtual Machine Scale Sets Write,
  // Compute VM Write, Network" (virtual-machine-scale-sets-orchestration-modes.md): the VMs, NICs
  // and disks a scale-out creates are resource-group resources that do not exist beforehand.
  test('the only resource-group grant is the instances role: VMs, their extensions, NICs and disks, nothing else', () => {
    const atGroup = resources(json, 'azurerm_role_assignment').filter((a) => /runtime_identity/.test(a.principal_id) && /azurerm_resource_group/.test(a.scope));
    expect(atGroup).toEqual([expect.objectContaining({ role_definition_id: expect.stringMatching(/runtime-instances-role/) })]);
    const [role] = resources(json, 'azurerm_role_definition').filter((r) => r.name.includes('runtime instances'));
    expect(role.permissions).toEqual([{ actions: [...RUNTIME_INSTANCE_ACTIONS] }]);
    for (const action of role.permissions[0].actions) expect(action).toMatch(/^Microsoft\.(Compute\/(virtualMachines|disks)|Network\/networkInterfaces)\//);
  });

  test('with a gallery image, the identity may read that version and nothing else of the gallery', () => {
    const stack = fleet({ gallery: true });
    const mine = resources(synth(stack).json, 'azurerm_role_assignment').filter((a) => /runtime_identity/.test(a.principal_id));
    const reads = mine.filter((a) => a.role_definition_name === 'Reader');
    expect(reads.map((a) => a.scope)).toEqual([expect.stringMatching(/azurerm_shared_image_version\..+\.id/), expect.stringMatching(/azurerm_shared_image_version\..+\.id/)]);
  });

  test('stores its state in a PostgreSQL flexible server with private access only: a delegated subnet and a private DNS zone', () => {
    const [server] = resources(json, 'azurerm_postgresql_flexible_server');
    expect(server).toMatchObject({ version: '16', administrator_login: 'hostedbots', administrator_password_wo_version: 1, public_network_access_enabled: false });
    expect(server.administrator_password).toBeUndefined();
    expect(server.delegated_subnet_id).toMatch(/azurerm_subnet\.environment_network_database-subnet_.+\.id/);
    expect(server.private_dns_zone_id).toMatch(/azurerm_private_dns_zone\.runtime_database-dns_.+\.id/);
    expect(server.depends_on).toEqual([expect.stringMatching(/^azurerm_private_dns_zone_virtual_network_link\.runtime_database-dns-link_/)]);
    const zones = resources(json, 'azurerm_private_dns_zone').map((z) => z.name);
    expect(zones).toContain('hostedbots-demo.private.postgres.database.azure.com');
    expect(resources(json, 'azurerm_postgresql_flexible_server_database')).toEqual([expect.objectContaining({ name: 'hostedbots' })]);
    expect(resources(json, 'azurerm_postgresql_flexible_server_firewall_rule')).toEqual([]);
  });

  test('publicNetworkAccess opts out: public database with the 0.0.0.0 Azure-services rule, Key Vault open', () => {
    const open = synth(fleet({ runtime: { publicNetworkAccess: true } })).json;
    expect(resources(open, 'azurerm_postgresql_flexible_server')[0]).toMatchObject({ public_network_access_enabled: true });
    expect(resources(open, 'azurerm_postgresql_flexible_server')[0].delegated_subnet_id).toBeUndefined();
    expect(resources(open, 'azurerm_postgresql_flexible_server_firewall_rule')).toEqual([expect.objectContaining({ start_ip_address: '0.0.0.0', end_ip_address: '0.0.0.0' })]);
    expect(resources(open, 'azurerm_key_vault')[0].network_acls.default_action).toBe('Allow');
  });

  test('the Key Vault admits only the runtime subnet and the deploying machine', () => {
    const [vault] = resources(synth(fleet({ runtime: { deployerIpRanges: ['203.0.113.7/32', '198.51.100.0/24'] } })).json, 'azurerm_key_vault');
    expect(vault.network_acls).toEqual({
      default_action: 'Deny',
      bypass: 'AzureServices',
      ip_rules: ['203.0.113.7', '198.51.100.0/24'],
      virtual_network_subnet_ids: [expect.stringMatching(/azurerm_subnet\.environment_network_runtime-subnet_.+\.id/)],
    });
  });

  test('the App Service is integrated into the VNet and routes all its traffic there', () => {
    expect(app.virtual_network_subnet_id).toMatch(/azurerm_subnet\.environment_network_runtime-subnet_.+\.id/);
    expect(app.site_config.vnet_route_all_enabled).toBe(true);
    expect(app.public_network_access_enabled).toBe(true);
  });

  test('bots reach the runtime through a private endpoint in their subnet, resolved by the privatelink zone', () => {
    const [endpoint] = resources(json, 'azurerm_private_endpoint');
    expect(endpoint.subnet_id).toMatch(/azurerm_subnet\.environment_network_subnet_.+\.id/);
    expect(endpoint.private_service_connection).toEqual({
      name: 'runtime',
      private_connection_resource_id: expect.stringMatching(/azurerm_linux_web_app\.runtime_app_.+\.id/),
      subresource_names: ['sites'],
      is_manual_connection: false,
    });
    const [zoneId, zone] = Object.entries<any>(json.resource.azurerm_private_dns_zone).find(([, z]) => z.name === 'privatelink.azurewebsites.net')!;
    expect(endpoint.private_dns_zone_group).toEqual({ name: 'runtime', private_dns_zone_ids: [`\${azurerm_private_dns_zone.${zoneId}.id}`] });
    expect(resources(json, 'azurerm_private_dns_zone_virtual_network_link')).toEqual(
      expect.arrayContaining([expect.objectContaining({ private_dns_zone_name: `\${azurerm_private_dns_zone.${zoneId}.name}`, registration_enabled: false })]),
    );
    expect(zone).toBeDefined();
  });

  test('keeps every secret in Key Vault, written write-only, and reads the connection through a Key Vault reference', () => {
    const secrets = resources(json, 'azurerm_key_vault_secret');
    expect(secrets.map((s) => s.name).sort()).toEqual([
      'bot-admin-password-finance',
      'bot-admin-password-sales',
      'bot-token-finance',
      'bot-token-sales',
      'runtime-admin-token',
      'runtime-metrics-token',
      'runtime-store-connection',
    ]);
    for (const secret of secrets) {
      expect(secret.value).toBeUndefined();
      expect(secret.value_wo).toMatch(/\$\{/);
    }
    expect(app.app_settings.HOSTED_BOTS_STORE).toMatch(/^@Microsoft\.KeyVault\(SecretUri=\$\{azurerm_key_vault_secret\..+\.versionless_id\}\)$/);
    expect(app.app_settings.HOSTED_BOTS_ADMIN_TOKEN_SHA256).toMatch(/^\$\{sha256\(random_password\./);
  });

  test('no secret appears in an output', () => {
    for (const [name, output] of Object.entries<any>(json.output)) {
      expect([name, String(output.value)]).not.toEqual([name, expect.stringMatching(/random_password|var\.|value_wo|connection/)]);
    }
    expect(Object.keys(json.output).sort()).toEqual(['admin_token_secret', 'key_vault_name', 'metrics_token_secret', 'runtime_principal_id', 'runtime_url']);
  });

  test('serves /metrics to a generated token it reads from Key Vault', () => {
    expect(app.app_settings.HOSTED_BOTS_METRICS_TOKEN).toMatch(/^@Microsoft\.KeyVault\(SecretUri=\$\{azurerm_key_vault_secret\..+\.versionless_id\}\)$/);
    expect(json.output.metrics_token_secret.value).toMatch(/azurerm_key_vault_secret\..+\.name/);
  });

  test('with metrics: false, /metrics is off: no token, no setting, no output', () => {
    const off = synth(fleet({ runtime: { metrics: false } })).json;
    const [offApp] = resources(off, 'azurerm_linux_web_app');
    expect(offApp.app_settings.HOSTED_BOTS_METRICS_TOKEN).toBeUndefined();
    expect(resources(off, 'azurerm_key_vault_secret').map((s) => s.name)).not.toContain('runtime-metrics-token');
    expect(off.output.metrics_token_secret).toBeUndefined();
  });

  test('keeps a browser on one instance, where its dashboard session lives', () => {
    expect(app.client_affinity_enabled).toBe(true);
  });

  test('hands the runtime the fleet manifest as a setting, its apply-time values JSON-encoded by Terraform', () => {
    const setting: string = app.app_settings.HOSTED_BOTS_MANIFEST;
    expect(setting.startsWith('${join("", ["{\\"version\\":1,')).toBe(true);
    expect(setting).toContain('jsonencode(data.azurerm_client_config.client.subscription_id)');
    expect(setting).toContain('\\"name\\":\\"finance\\"');
    expect(setting).toContain('\\"name\\":\\"sales\\"');
  });

  test('an existing subnet in another resource group makes the runtime role assignable there', () => {
    const subnetId = '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots';
    const [role] = resources(synth(fleet({ subnetId })).json, 'azurerm_role_definition').filter((r) => r.name.startsWith('Hosted RPA bots runtime ('));
    expect(role.assignable_scopes).toEqual([expect.stringMatching(/azurerm_resource_group/), '/subscriptions/0/resourceGroups/hub-network']);
  });

  test("with an existing subnet, both private DNS zones are linked to that subnet's VNet too", () => {
    const subnetId = '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots';
    const existing = synth(fleet({ subnetId })).json;
    const zoneIds = Object.keys(existing.resource.azurerm_private_dns_zone);
    expect(zoneIds).toHaveLength(2);
    const toHub = resources(existing, 'azurerm_private_dns_zone_virtual_network_link').filter((l) => l.name === 'link-hostedbots-demo-bots');
    expect(toHub.map((l) => l.private_dns_zone_name).sort()).toEqual(zoneIds.map((id) => `\${azurerm_private_dns_zone.${id}.name}`).sort());
    for (const link of toHub) {
      expect(link).toMatchObject({ virtual_network_id: '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub', registration_enabled: false });
    }
  });

  test("the VNet of an existing subnet is its ID without /subnets/<name>, in whatever case the ID spells it", () => {
    const vnetId = '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub';
    const links = resources(synth(fleet({ subnetId: `${vnetId}/Subnets/bots` })).json, 'azurerm_private_dns_zone_virtual_network_link');
    expect(links.filter((l) => l.name === 'link-hostedbots-demo-bots').map((l) => l.virtual_network_id)).toEqual([vnetId, vnetId]);
  });

  test("without an existing subnet, each zone is linked to the environment's VNet only", () => {
    const links = resources(json, 'azurerm_private_dns_zone_virtual_network_link');
    expect(links).toHaveLength(2);
    for (const link of links) expect(link.virtual_network_id).toMatch(/^\$\{azurerm_virtual_network\.[\w-]+\.id\}$/);
  });

  test('the bundle travels as an asset of the synthesized stack, uploaded as the package blob', () => {
    const outdir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'runtime-asset-'));
    const appWithDir = new App({ outdir, stackTraces: false });
    const stack = new HostedBotsStack(appWithDir, 'fleet', { geography: 'Europe', environment: { name: 'demo', botCapacity: 1 } });
    stack.environment.addGroup('finance', groupProps());
    appWithDir.synth();
    const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks/fleet/cdk.tf.json'), 'utf8'));
    const zip = path.join(outdir, 'stacks/fleet', Object.values<any>(tf.resource.azurerm_storage_blob)[0].source);
    expect(fs.statSync(zip).size).toBeGreaterThan(100_000);
  });
});

describe('what Terraform hands the runtime at apply', () => {
  test("an existing subnet known only at apply time: Terraform links the zones to the VNet part of its ID", () => {
    const binary = terraformFor('the evaluation of the VNet ID of an apply-time subnet ID');
    if (!binary) return;
    const vnetId = '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub';
    const links = resources(synth(fleet({ subnetId: Fn.trimspace(`${vnetId}/subnets/bots`) })).json, 'azurerm_private_dns_zone_virtual_network_link').filter(
      (l) => l.name === 'link-hostedbots-demo-bots',
    );
    expect(links).toHaveLength(2);
    const evaluated = evaluateWithTerraform(Object.fromEntries(links.map((l, i) => [`link${i}`, l.virtual_network_id])), {}, binary);
    expect(Object.values(evaluated)).toEqual([vnetId, vnetId]);
  });


  test('HOSTED_BOTS_MANIFEST evaluates to a manifest the runtime accepts, user text intact', () => {
    const binary = terraformFor('the evaluation of the manifest setting');
    if (!binary) return;
    const command = 'powershell.exe -NoProfile -Command "& { ${env:TEMP}; \'%{x}\' }" C:\\flows\\run.ps1';
    const stack = fleet();
    stack.environment.addGroup('ops', groupProps({ name: 'ops', description: 'Say "hi" \\ ${y}', flows: { run: { command } } }));
    const [webApp] = resources(synth(stack).json, 'azurerm_linux_web_app');
    const subscriptionId = '11111111-2222-3333-4444-555555555555';
    const { manifest } = evaluateWithTerraform(
      { manifest: webApp.app_settings.HOSTED_BOTS_MANIFEST },
      { 'data\\.azurerm_client_config\\.client\\.subscription_id': `"${subscriptionId}"`, 'random_password\\.[\\w-]+\\.result': '"the-bot-token"' },
      binary,
    );
    const parsed = parseManifest(JSON.parse(manifest), { source: 'HOSTED_BOTS_MANIFEST' });
    expect(parsed.groups.map((g) => g.name)).toEqual(['finance', 'sales', 'ops']);
    const ops = parsed.groups[2];
    expect(ops.flows.run.command).toBe(command);
    expect(ops.description).toBe('Say "hi" \\ ${y}');
    expect(ops.vmss.subscriptionId).toBe(subscriptionId);
    expect(ops.botTokenSha256).toBe(sha256Hex('the-bot-token'));
  });
});
