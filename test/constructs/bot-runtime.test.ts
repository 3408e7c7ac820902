import * as fs from 'fs';
import * as path from 'path';
import { App, Fn, Testing } from 'cdktf';
import { BotImageSource, BotImagesStack, BotRuntimeProps, HostedBotsStack, NODE_END_OF_LIFE, RUNTIME_INSTANCE_ACTIONS } from '../../index';
import { parseManifest, sha256Hex } from '../../runtime/config/manifest';
import { groupProps, resources, sensitiveVariable, synth } from '../helpers/fleet';
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
    runtime: options.runtime ?? {},
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

  test('runs under its own user-assigned identity', () => {
    expect(app.identity).toEqual({ type: 'UserAssigned', identity_ids: [expect.stringMatching(/runtime_identity/)] });
    expect(app.app_settings.AZURE_CLIENT_ID).toMatch(/runtime_identity_.+\.client_id/);
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
    expect(server).toMatchObject({ version: '16', public_network_access_enabled: false });
    expect(server.delegated_subnet_id).toMatch(/azurerm_subnet\.environment_network_database-subnet_.+\.id/);
    expect(server.private_dns_zone_id).toMatch(/azurerm_private_dns_zone\.runtime_database-dns_.+\.id/);
    expect(server.depends_on).toEqual([expect.stringMatching(/^azurerm_private_dns_zone_virtual_network_link\.runtime_database-dns-link_/)]);
    const zones = resources(json, 'azurerm_private_dns_zone').map((z) => z.name);
    expect(zones).toContain('hostedbots-demo.private.postgres.database.azure.com');
    expect(resources(json, 'azurerm_postgresql_flexible_server_database')).toEqual([expect.objectContaining({ name: 'hostedbots' })]);
    expect(resources(json, 'azurerm_postgresql_flexible_server_firewall_rule')).toEqual([]);
  });

  // "`administrator_login`, `administrator_password` and `administrator_password_wo` cannot be set
  // during creation when `authentication.password_auth_enabled` is set to `false`"
  // (internal/services/postgres/postgresql_flexible_server_resource.go, v4.55.0).
  test('the database has no password: Entra ID sign-in only, with the runtime identity as its administrator', () => {
    const [server] = resources(json, 'azurerm_postgresql_flexible_server');
    expect(server.authentication).toEqual({ active_directory_auth_enabled: true, password_auth_enabled: false, tenant_id: '${data.azurerm_client_config.client.tenant_id}' });
    for (const key of ['administrator_login', 'administrator_password', 'administrator_password_wo', 'administrator_password_wo_version']) expect(server[key]).toBeUndefined();
    const [admin] = resources(json, 'azurerm_postgresql_flexible_server_active_directory_administrator');
    expect(admin).toMatchObject({
      server_name: expect.stringMatching(/azurerm_postgresql_flexible_server\.runtime_database_.+\.name/),
      object_id: expect.stringMatching(/runtime_identity_.+\.principal_id/),
      principal_name: expect.stringMatching(/runtime_identity_.+\.name/),
      principal_type: 'ServicePrincipal',
      tenant_id: '${data.azurerm_client_config.client.tenant_id}',
    });
    // The only generated secrets left are the groups' bot tokens (this fleet's bots use tokens).
    expect(Object.keys(json.resource.random_password)).toEqual([expect.stringMatching(/^environment_finance_bot-token_/), expect.stringMatching(/^environment_sales_bot-token_/)]);
  });

  test('the runtime signs in to the database as its identity: a URL with no password, and managed-identity sign-in', () => {
    expect(app.app_settings.HOSTED_BOTS_STORE).toMatch(/^postgresql:\/\/id-hostedbots-demo-runtime@\$\{azurerm_postgresql_flexible_server\.runtime_database_.+\.fqdn\}:5432\/hostedbots\?sslmode=require$/);
    expect(app.app_settings.HOSTED_BOTS_STORE_AUTH).toBe('managed-identity');
    const [adminId] = Object.keys(json.resource.azurerm_postgresql_flexible_server_active_directory_administrator);
    expect(app.depends_on).toContain(`azurerm_postgresql_flexible_server_active_directory_administrator.${adminId}`);
  });

  test('publicNetworkAccess opts out: public database with the 0.0.0.0 Azure-services rule, Key Vault open', () => {
    const open = synth(fleet({ runtime: { publicNetworkAccess: true } })).json;
    expect(resources(open, 'azurerm_postgresql_flexible_server')[0]).toMatchObject({ public_network_access_enabled: true });
    expect(resources(open, 'azurerm_postgresql_flexible_server')[0].delegated_subnet_id).toBeUndefined();
    expect(resources(open, 'azurerm_postgresql_flexible_server_firewall_rule')).toEqual([expect.objectContaining({ start_ip_address: '0.0.0.0', end_ip_address: '0.0.0.0' })]);
    expect(resources(open, 'azurerm_key_vault')[0]).toMatchObject({ public_network_access_enabled: true, network_acls: { default_action: 'Allow' } });
  });

  test('the Key Vault has no public network access by default: the runtime reaches it through a private endpoint', () => {
    const [vault] = resources(json, 'azurerm_key_vault');
    expect(vault).toMatchObject({ public_network_access_enabled: false, rbac_authorization_enabled: true });
    expect(vault.network_acls).toEqual({ default_action: 'Deny', bypass: 'AzureServices', ip_rules: [] });
    const endpoint = resources(json, 'azurerm_private_endpoint').find((e) => e.private_service_connection.subresource_names[0] === 'vault')!;
    expect(endpoint.private_service_connection.private_connection_resource_id).toMatch(/azurerm_key_vault\.runtime_key-vault_.+\.id/);
    const [zoneId] = Object.entries<any>(json.resource.azurerm_private_dns_zone).find(([, z]) => z.name === 'privatelink.vaultcore.azure.net')!;
    expect(endpoint.private_dns_zone_group).toEqual({ name: 'vault', private_dns_zone_ids: [`\${azurerm_private_dns_zone.${zoneId}.id}`] });
    const [endpointId] = Object.entries<any>(json.resource.azurerm_private_endpoint).find(([, e]) => e === endpoint)!;
    expect(app.depends_on).toContain(`azurerm_private_endpoint.${endpointId}`);
  });

  test('operatorIpRanges open the vault\'s firewall to those addresses only, for people who read the admin token', () => {
    const [vault] = resources(synth(fleet({ runtime: { operatorIpRanges: ['203.0.113.7/32', '198.51.100.0/24'] } })).json, 'azurerm_key_vault');
    expect(vault.public_network_access_enabled).toBe(true);
    expect(vault.network_acls).toEqual({ default_action: 'Deny', bypass: 'AzureServices', ip_rules: ['203.0.113.7', '198.51.100.0/24'] });
  });

  // Access policies inline on the vault are replaced as a whole on every apply, so the principal
  // of each deployer (a pipeline, a person) removed the other's; RBAC grants are resources of
  // their own ("rbac_authorization_enabled", internal/services/keyvault/key_vault_resource.go).
  test('the vault authorizes with Azure RBAC: one role assignment per principal, and no access policy', () => {
    const { json: withRoles } = synth(fleet({ runtime: { secretReaders: ['reader-object-id'], secretOfficers: ['oncall-group-id'] } }));
    const [vault] = resources(withRoles, 'azurerm_key_vault');
    expect(vault.access_policy).toBeUndefined();
    const atVault = resources(withRoles, 'azurerm_role_assignment').filter((a) => /azurerm_key_vault\./.test(a.scope));
    expect(atVault.map((a) => [a.role_definition_name, a.principal_id])).toEqual(expect.arrayContaining([
      ['Key Vault Secrets Officer', expect.stringMatching(/runtime_identity_.+\.principal_id/)],
      ['Key Vault Secrets User', 'reader-object-id'],
      ['Key Vault Secrets Officer', 'oncall-group-id'],
    ]));
    expect(atVault).toHaveLength(3);
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

  test('no secret is a Terraform resource: the runtime keeps its own tokens in the vault', () => {
    expect(resources(json, 'azurerm_key_vault_secret')).toEqual([]);
    expect(app.app_settings.HOSTED_BOTS_KEY_VAULT_URL).toMatch(/^\$\{azurerm_key_vault\.runtime_key-vault_.+\.vault_uri\}$/);
    expect(app.app_settings.HOSTED_BOTS_ADMIN_TOKEN_SHA256).toBeUndefined();
    expect(Object.values<string>(app.app_settings).filter((v) => v.includes('@Microsoft.KeyVault'))).toEqual([]);
    expect(json.output.admin_token_secret.value).toBe('runtime-admin-token');
  });

  test('no secret appears in an output', () => {
    for (const [name, output] of Object.entries<any>(json.output)) {
      expect([name, String(output.value)]).not.toEqual([name, expect.stringMatching(/random_password|var\.|value_wo|connection/)]);
    }
    expect(Object.keys(json.output).sort()).toEqual(['admin_token_secret', 'key_vault_name', 'metrics_token_secret', 'runtime_principal_id', 'runtime_url']);
  });

  test('serves /metrics to a token the runtime generates in Key Vault', () => {
    expect(app.app_settings.HOSTED_BOTS_METRICS_TOKEN_SECRET).toBe('runtime-metrics-token');
    expect(app.app_settings.HOSTED_BOTS_METRICS_TOKEN).toBeUndefined();
    expect(json.output.metrics_token_secret.value).toBe('runtime-metrics-token');
  });

  test('with metrics: false, /metrics is off: no token, no setting, no output', () => {
    const off = synth(fleet({ runtime: { metrics: false } })).json;
    const [offApp] = resources(off, 'azurerm_linux_web_app');
    expect(offApp.app_settings.HOSTED_BOTS_METRICS_TOKEN_SECRET).toBeUndefined();
    expect(off.output.metrics_token_secret).toBeUndefined();
  });

  test("hands the runtime the issuing CAs and roots of attested data when given, and no such setting otherwise", () => {
    const pem = (name: string) => `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`;
    const given = synth(fleet({ runtime: { attestationIssuers: pem('issuers'), attestationRoots: pem('roots') } })).json;
    const [givenApp] = resources(given, 'azurerm_linux_web_app');
    expect([givenApp.app_settings.HOSTED_BOTS_ATTESTATION_INTERMEDIATES, givenApp.app_settings.HOSTED_BOTS_ATTESTATION_ROOTS]).toEqual([pem('issuers'), pem('roots')]);
    expect(Object.keys(app.app_settings).filter((k) => k.startsWith('HOSTED_BOTS_ATTESTATION'))).toEqual([]);
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

  test("with an existing subnet, every private DNS zone (app, database, vault) is linked to that subnet's VNet too", () => {
    const subnetId = '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots';
    const existing = synth(fleet({ subnetId })).json;
    const zoneIds = Object.keys(existing.resource.azurerm_private_dns_zone);
    expect(zoneIds).toHaveLength(3);
    const toHub = resources(existing, 'azurerm_private_dns_zone_virtual_network_link').filter((l) => l.name === 'link-hostedbots-demo-bots');
    expect(toHub.map((l) => l.private_dns_zone_name).sort()).toEqual(zoneIds.map((id) => `\${azurerm_private_dns_zone.${id}.name}`).sort());
    for (const link of toHub) {
      expect(link).toMatchObject({ virtual_network_id: '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub', registration_enabled: false });
    }
  });

  test("the VNet of an existing subnet is its ID without /subnets/<name>, in whatever case the ID spells it", () => {
    const vnetId = '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub';
    const links = resources(synth(fleet({ subnetId: `${vnetId}/Subnets/bots` })).json, 'azurerm_private_dns_zone_virtual_network_link');
    expect(links.filter((l) => l.name === 'link-hostedbots-demo-bots').map((l) => l.virtual_network_id)).toEqual([vnetId, vnetId, vnetId]);
  });

  test("without an existing subnet, each zone is linked to the environment's VNet only", () => {
    const links = resources(json, 'azurerm_private_dns_zone_virtual_network_link');
    expect(links).toHaveLength(3);
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
    expect(links).toHaveLength(3);
    const evaluated = evaluateWithTerraform(Object.fromEntries(links.map((l, i) => [`link${i}`, l.virtual_network_id])), {}, binary);
    expect(Object.values(evaluated)).toEqual([vnetId, vnetId, vnetId]);
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
      {
        'data\\.azurerm_client_config\\.client\\.subscription_id': `"${subscriptionId}"`,
        'random_password\\.[\\w-]+\\.result': '"the-bot-token"',
        'random_id\\.[\\w-]+\\.hex': '"0a1b2c3d4e5f"',
      },
      binary,
    );
    const parsed = parseManifest(JSON.parse(manifest), { source: 'HOSTED_BOTS_MANIFEST' });
    expect(parsed.groups.map((g) => g.name)).toEqual(['finance', 'sales', 'ops']);
    const ops = parsed.groups[2];
    expect(ops.flows.run.command).toBe(command);
    expect(ops.description).toBe('Say "hi" \\ ${y}');
    expect(ops.vmss.subscriptionId).toBe(subscriptionId);
    expect(ops.botTokenSha256).toBe(sha256Hex('the-bot-token'));
    expect(ops.credentialVersion).toBe('0a1b2c3d4e5f');
  });
});

/**
 * What a Terraform refresh reads from a Key Vault's data plane, in azurerm 4.55.0: every type whose
 * file in internal/services/keyvault/ calls the vault's data-plane client (KeyVault.ManagementClient
 * or the dataplane SDK). azurerm_key_vault itself reads only its certificate contacts there, and
 * ignores the error when the vault has no public network access or answers 403
 * (resourceKeyVaultRead, key_vault_resource.go), so a runner outside the firewall refreshes it.
 */
const VAULT_DATA_PLANE = {
  resource: [
    'azurerm_key_vault_certificate',
    'azurerm_key_vault_certificate_contacts',
    'azurerm_key_vault_certificate_issuer',
    'azurerm_key_vault_key',
    'azurerm_key_vault_managed_storage_account',
    'azurerm_key_vault_managed_storage_account_sas_token_definition',
    'azurerm_key_vault_secret',
  ],
  data: [
    'azurerm_key_vault_certificate',
    'azurerm_key_vault_certificate_data',
    'azurerm_key_vault_certificate_issuer',
    'azurerm_key_vault_certificates',
    'azurerm_key_vault_encrypted_value',
    'azurerm_key_vault_key',
    'azurerm_key_vault_secret',
    'azurerm_key_vault_secrets',
  ],
};

describe('a deploy from a runner nobody knew at synth, the second time as well as the first', () => {
  const stacks = () => {
    const app = Testing.app();
    const { buildSingleGeo } = require('../../examples/single-geo/main') as typeof import('../../examples/single-geo/main');
    const { buildMultiGeo } = require('../../examples/multi-geo/main') as typeof import('../../examples/multi-geo/main');
    const multi = buildMultiGeo(app);
    return [buildSingleGeo(app), multi.europe, multi.us, fleet({ runtime: { operatorIpRanges: ['203.0.113.7'], secretReaders: ['r'], secretOfficers: ['o'], metrics: true } })];
  };

  test("no resource or data source of any stack reads the vault's data plane, and the vault has no data-plane field", () => {
    for (const stack of stacks()) {
      const { json } = synth(stack);
      const types = { resource: Object.keys(json.resource ?? {}), data: Object.keys(json.data ?? {}) };
      expect(types.resource.filter((t) => VAULT_DATA_PLANE.resource.includes(t))).toEqual([]);
      expect(types.data.filter((t) => VAULT_DATA_PLANE.data.includes(t))).toEqual([]);
      for (const vault of resources(json, 'azurerm_key_vault')) expect(vault.contact).toBeUndefined();
    }
  });

  test('the runner\'s address changes nothing: a synth with another one (or none) gives the same stacks', () => {
    const render = () => stacks().slice(0, 3).map((s) => Testing.synth(s));
    const saved = process.env.HOSTED_BOTS_DEPLOYER_IPS;
    try {
      process.env.HOSTED_BOTS_DEPLOYER_IPS = '198.51.100.23';
      const first = render();
      process.env.HOSTED_BOTS_DEPLOYER_IPS = '203.0.113.99';
      const second = render();
      delete process.env.HOSTED_BOTS_DEPLOYER_IPS;
      expect(second).toEqual(first);
      expect(render()).toEqual(first);
      for (const text of first) expect(text).not.toMatch(/198\.51\.100\.23/);
    } finally {
      if (saved === undefined) delete process.env.HOSTED_BOTS_DEPLOYER_IPS;
      else process.env.HOSTED_BOTS_DEPLOYER_IPS = saved;
    }
  });
});
