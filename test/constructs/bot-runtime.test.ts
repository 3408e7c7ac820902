import * as fs from 'fs';
import * as path from 'path';
import { App, Testing } from 'cdktf';
import { BotImageSource, BotImagesStack, HostedBotsStack } from '../../index';
import { groupProps, resources, sensitiveVariable, synth } from '../helpers/fleet';

function fleet(options: { subnetId?: string; gallery?: boolean; metrics?: boolean } = {}) {
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
    runtime: options.metrics === undefined ? undefined : { metrics: options.metrics },
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

  test('runs the bundle on a Linux App Service: zip deploy, Node 20, HTTPS only, health check, always on', () => {
    expect(app).toMatchObject({
      https_only: true,
      zip_deploy_file: expect.stringMatching(/^assets\/.+\.zip$/),
      site_config: { always_on: true, health_check_path: '/healthz', application_stack: { node_version: '20-lts' }, app_command_line: 'node main.js runtime' },
      app_settings: expect.objectContaining({ WEBSITE_RUN_FROM_PACKAGE: '1' }),
    });
    expect(resources(json, 'azurerm_service_plan')).toEqual([expect.objectContaining({ os_type: 'Linux', sku_name: 'B1' })]);
  });

  test('runs under its own user-assigned identity, which also reads the Key Vault references', () => {
    expect(app.identity).toEqual({ type: 'UserAssigned', identity_ids: [expect.stringMatching(/runtime_identity/)] });
    expect(app.key_vault_reference_identity_id).toMatch(/runtime_identity/);
    expect(identity).toBeDefined();
  });

  test('the identity\'s role assignments are scoped to each scale set and what scale-out needs, never a subscription or resource group', () => {
    const mine = resources(json, 'azurerm_role_assignment').filter((a) => /runtime_identity/.test(a.principal_id));
    const scopes: string[] = mine.map((a) => a.scope);
    expect(scopes.filter((s) => /azurerm_orchestrated_virtual_machine_scale_set\..+\.id/.test(s))).toHaveLength(2);
    expect(scopes).toEqual(expect.arrayContaining([expect.stringMatching(/azurerm_subnet\..+\.id/), expect.stringMatching(/azurerm_network_security_group\..+\.id/)]));
    for (const scope of scopes) {
      expect(scope).not.toMatch(/azurerm_resource_group|client_config|^\/subscriptions\/[^/]+$|^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+$/);
    }
  });

  test('with a gallery image, the identity may read that version and nothing else of the gallery', () => {
    const stack = fleet({ gallery: true });
    const mine = resources(synth(stack).json, 'azurerm_role_assignment').filter((a) => /runtime_identity/.test(a.principal_id));
    const reads = mine.filter((a) => a.role_definition_name === 'Reader');
    expect(reads.map((a) => a.scope)).toEqual([expect.stringMatching(/azurerm_shared_image_version\..+\.id/), expect.stringMatching(/azurerm_shared_image_version\..+\.id/)]);
  });

  test('stores its state in a PostgreSQL flexible server reached only from Azure services', () => {
    const [server] = resources(json, 'azurerm_postgresql_flexible_server');
    expect(server).toMatchObject({ version: '16', administrator_login: 'hostedbots', administrator_password_wo_version: 1 });
    expect(server.administrator_password).toBeUndefined();
    expect(resources(json, 'azurerm_postgresql_flexible_server_database')).toEqual([expect.objectContaining({ name: 'hostedbots' })]);
    expect(resources(json, 'azurerm_postgresql_flexible_server_firewall_rule')).toEqual([expect.objectContaining({ start_ip_address: '0.0.0.0', end_ip_address: '0.0.0.0' })]);
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
    const off = synth(fleet({ metrics: false })).json;
    const [offApp] = resources(off, 'azurerm_linux_web_app');
    expect(offApp.app_settings.HOSTED_BOTS_METRICS_TOKEN).toBeUndefined();
    expect(resources(off, 'azurerm_key_vault_secret').map((s) => s.name)).not.toContain('runtime-metrics-token');
    expect(off.output.metrics_token_secret).toBeUndefined();
  });

  test('keeps a browser on one instance, where its dashboard session lives', () => {
    expect(app.client_affinity_enabled).toBe(true);
  });

  test('hands the runtime the fleet manifest as a setting, resolved by Terraform at apply', () => {
    const setting: string = app.app_settings.HOSTED_BOTS_MANIFEST;
    expect(setting.startsWith('{"version":1,')).toBe(true);
    expect(setting).toContain('"finance"');
    expect(setting).toContain('"sales"');
    expect(setting).toContain('data.azurerm_client_config.client.subscription_id');
  });

  test('an existing subnet in another resource group makes the runtime role assignable there', () => {
    const subnetId = '/subscriptions/0/resourceGroups/hub-network/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots';
    const [role] = resources(synth(fleet({ subnetId })).json, 'azurerm_role_definition').filter((r) => r.name.includes('runtime'));
    expect(role.assignable_scopes).toEqual([expect.stringMatching(/azurerm_resource_group/), '/subscriptions/0/resourceGroups/hub-network']);
  });

  test('the bundle travels as an asset of the synthesized stack', () => {
    const outdir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'runtime-asset-'));
    const appWithDir = new App({ outdir, stackTraces: false });
    const stack = new HostedBotsStack(appWithDir, 'fleet', { geography: 'Europe', environment: { name: 'demo', botCapacity: 1 } });
    stack.environment.addGroup('finance', groupProps());
    appWithDir.synth();
    const tf = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks/fleet/cdk.tf.json'), 'utf8'));
    const zip = path.join(outdir, 'stacks/fleet', Object.values<any>(tf.resource.azurerm_linux_web_app)[0].zip_deploy_file);
    expect(fs.statSync(zip).size).toBeGreaterThan(100_000);
  });
});
