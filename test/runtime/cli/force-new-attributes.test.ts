/**
 * The ForceNew table covers every resource type the library declares, and names only attributes
 * the provider bindings know. A type a future construct adds without a row fails here, so the
 * offline review can never pass it over in silence.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { buildMultiGeo } from '../../../examples/multi-geo/main';
import { buildSingleGeo } from '../../../examples/single-geo/main';
import { BotImageSource, BotImagesStack, HostedBotsStack, HostedBotsStackProps } from '../../../index';
import { coveredBy, FORCE_NEW_ATTRIBUTES, replacementRule, sourceCitation } from '../../../runtime/cli/force-new-attributes';
import { synthApp } from '../../helpers/app';
import { groupProps } from '../../helpers/fleet';

const root = path.resolve(__dirname, '../../..');
const principal = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;

/** An image stack and one environment stack per way of building one, with every option the public API has. */
function buildEveryOption(scope: Construct): string[] {
  const images = new BotImagesStack(scope, 'images', {
    location: 'northeurope',
    gallery: { name: 'botimages', sharing: 'groups', readers: [principal(1)] },
  });
  const version = images.gallery
    .addImage('windows', { name: 'windows-rpa', publisher: 'contoso', offer: 'rpa', sku: 'win11' })
    .addVersion('1.0.0', { source: { managedImageId: '/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/images/rpa' }, geographies: ['Europe'] });
  const variants: Record<string, Partial<HostedBotsStackProps>> = {
    defaults: {},
    'existing-subnet': {
      environment: { name: 'hub', botCapacity: 4, network: { subnetId: '/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots' } },
    },
    'public-entra': {
      globalNamePrefix: 'contoso',
      environment: { name: 'entra', botCapacity: 4, roles: { environmentMakers: [principal(2)], machineOwners: [principal(3)], imageAdmins: [principal(4)] } },
      runtime: {
        publicNetworkAccess: true,
        appName: 'contoso-bots-runtime',
        entra: { tenantId: principal(5), audience: 'api://hosted-bots' },
        botAuthentication: 'managed-identity',
        secretReaders: [principal(6)],
        database: { skuName: 'GP_Standard_D2ds_v5', version: '16', storageMb: 65536, backupRetentionDays: 14 },
      },
    },
    'trial-standby': { environment: { name: 'trial', botCapacity: 2, plan: 'trial', scaling: { standbyPool: { maxReadyCapacity: 2 } } } },
  };
  for (const [id, props] of Object.entries(variants)) {
    const stack = new HostedBotsStack(scope, id, { geography: 'Europe', environment: { name: id, botCapacity: 4 }, runtime: {}, ...props });
    const password = new TerraformVariable(stack, 'admin_password', { type: 'string', sensitive: true }).stringValue;
    stack.environment.addGroup('finance', groupProps({ adminPassword: password, access: { users: [principal(7)], coOwners: [principal(8)] } }));
    stack.environment.addGroup('gallery', groupProps({ name: 'gallery', image: BotImageSource.fromVersion(version), adminPassword: password }));
  }
  return ['images', ...Object.keys(variants)];
}

/** Every resource type in the named stacks of an app. */
function resourceTypes(build: (scope: Construct) => unknown, stacks: readonly string[]): Set<string> {
  const app = synthApp(build);
  return new Set(stacks.flatMap((s) => Object.keys(app.terraform(s).resource ?? {})));
}

describe('the ForceNew table', () => {
  let declared: Set<string>;
  beforeAll(() => {
    declared = new Set([
      ...resourceTypes(buildSingleGeo, ['demo']),
      ...resourceTypes(buildMultiGeo, ['bot-images', 'bots-europe', 'bots-us']),
      ...resourceTypes(buildEveryOption, ['images', 'defaults', 'existing-subnet', 'public-entra', 'trial-standby']),
    ]);
  }, 120_000);

  test('has a row for every resource type the examples and a stack with every option declare', () => {
    // The builds reach the optional types too, so that this test sees them.
    for (const type of ['azurerm_virtual_machine_scale_set_standby_pool', 'azurerm_postgresql_flexible_server_firewall_rule', 'azurerm_shared_image_version']) expect(declared.has(type)).toBe(true);
    expect([...declared].filter((type) => !replacementRule(type))).toEqual([]);
  });

  test('names only attributes the provider bindings declare for the type', () => {
    const unknown: string[] = [];
    for (const [type, rule] of Object.entries(FORCE_NEW_ATTRIBUTES)) {
      const [prefix, ...rest] = type.split('_');
      const file = path.join(root, 'node_modules', '@cdktf', `provider-${prefix}`, 'lib', rest.join('-'), 'index.js');
      const binding = fs.readFileSync(file, 'utf8');
      const paths = [...rule.forceNew, ...(rule.forceNewWhen ?? []).map((w) => w.path), ...(rule.network ?? [])];
      for (const p of paths) {
        for (const segment of p.split('.')) if (!new RegExp(`\\b${segment}: `).test(binding)) unknown.push(`${type}: ${p} (${segment})`);
      }
    }
    expect(unknown).toEqual([]);
  });

  test('cites a provider source file for each row, in the provider and at the tag the bindings pin', () => {
    for (const rule of Object.values(FORCE_NEW_ATTRIBUTES)) {
      expect(rule.sources.length).toBeGreaterThan(0);
      for (const source of rule.sources) expect(source).toMatch(rule.provider === 'azurerm' ? /^internal\/services\/\w+\/\w+\.go$/ : /^internal\/provider\/resource_\w+\.go$/);
    }
    expect(sourceCitation(FORCE_NEW_ATTRIBUTES.azurerm_key_vault)).toBe('internal/services/keyvault/key_vault_resource.go of hashicorp/terraform-provider-azurerm at v4.55.0');
    expect(sourceCitation(FORCE_NEW_ATTRIBUTES.random_password)).toBe('internal/provider/resource_password.go of hashicorp/terraform-provider-random at v3.7.2');
    const pinned = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@cdktf/provider-random/package.json'), 'utf8'));
    expect(JSON.stringify(pinned)).toContain('3.7.2');
  });

  test('has the rows of the runtime secrets change: the PostgreSQL Entra administrator and random_id', () => {
    expect(FORCE_NEW_ATTRIBUTES.azurerm_postgresql_flexible_server_active_directory_administrator.forceNew).toEqual(
      expect.arrayContaining(['server_name', 'object_id', 'principal_name', 'principal_type', 'tenant_id']),
    );
    expect(FORCE_NEW_ATTRIBUTES.random_id.forceNew).toEqual(['keepers', 'byte_length', 'prefix']);
  });
});

describe('the Log Analytics workspace row', () => {
  // resourceLogAnalyticsWorkspaceCustomDiff in log_analytics_workspace_resource.go at v4.55.0.
  const [sku] = FORCE_NEW_ATTRIBUTES.azurerm_log_analytics_workspace.forceNewWhen!;

  test('a change of sku replaces the workspace, except from LACluster and between PerGB2018 and CapacityReservation', () => {
    expect(sku.forces('PerGB2018', 'Standalone', {})).toBe(true);
    expect(sku.forces('LACluster', 'PerGB2018', {})).toBe(false);
    expect(sku.forces('PerGB2018', 'CapacityReservation', {})).toBe(false);
    expect(sku.forces('CapacityReservation', 'PerGB2018', {})).toBe(false);
    expect(sku.forces('PerGB2018', 'PerGB2018', {})).toBe(false);
  });

  test('an sku known only at apply time, or unset, cannot be told offline', () => {
    expect(sku.forces('PerGB2018', '${var.sku}', {})).toBeUndefined();
    expect(sku.forces(undefined, 'PerGB2018', {})).toBeUndefined();
  });
});

describe('coveredBy', () => {
  test('an attribute is covered by itself and by a block around it, not by a sibling with the same prefix', () => {
    expect(coveredBy('sharing.permission', ['sharing'])).toBe('sharing');
    expect(coveredBy('name', ['name'])).toBe('name');
    expect(coveredBy('name_prefix', ['name'])).toBeUndefined();
  });
});
