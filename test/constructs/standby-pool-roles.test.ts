/**
 * The roles of the Standby Pool Resource Provider (Microsoft Learn, "Configure role permissions for
 * standby pools"): declared for a group with a standby pool when the environment names the
 * provider, once per scope, before the pool; warned about when it does not.
 */
import { App, Fn, Testing } from 'cdktf';
import { BotImageGallery, BotImagesStack, BotImageSource, HostedBotsStack, HostedBotGroupProps, RuleSuppressions, STANDBY_POOL_PERMISSIONS_DOC } from '../../index';
import { fleetStack, groupProps, QUIET_MONITORING, resources, synth, warnings } from '../helpers/fleet';
import { checkExpressions, describeProblems, evaluateWithTerraform, expressionsOf, terraformFor } from '../helpers/terraform';

const PROVIDER = '6a0f1ba4-3c2e-4d7b-9f51-0c8e2d7a4b13';
const POOL = { standbyPool: { maxReadyCapacity: 2 } };
const HUB_GROUP = '/subscriptions/0/resourceGroups/hub-network';
const HUB_SUBNET = `${HUB_GROUP}/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots`;

/** The provider's role assignments, by role name, with their scopes. */
function providerRoles(json: Record<string, any>): Array<{ role: string; scope: string }> {
  return resources(json, 'azurerm_role_assignment')
    .filter((a) => a.principal_id === PROVIDER)
    .map((a) => ({ role: a.role_definition_name, scope: a.scope }))
    .sort((a, b) => a.role.localeCompare(b.role) || a.scope.localeCompare(b.scope));
}

/** The address of each of the provider's role assignments, as `depends_on` names them. */
function providerRoleAddresses(json: Record<string, any>): string[] {
  return Object.entries<any>(json.resource.azurerm_role_assignment)
    .filter(([, a]) => a.principal_id === PROVIDER)
    .map(([key]) => `azurerm_role_assignment.${key}`)
    .sort();
}

const pools = (json: Record<string, any>) => resources(json, 'azurerm_virtual_machine_scale_set_standby_pool');

/** An images stack in North Europe with one image version, replicated to the geographies given. */
function imagesWithVersion(app: App, geographies: readonly ('Europe' | 'US')[]) {
  const images = new BotImagesStack(app, 'images', { location: 'northeurope', gallery: { name: 'botimages' } });
  const version = images.gallery
    .addImage('windows', { name: 'windows-rpa', publisher: 'contoso', offer: 'rpa', sku: 'win11' })
    .addVersion('1.0.0', { source: { managedImageId: '/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/images/rpa' }, geographies: [...geographies] });
  return { images, version };
}

/** An images stack with one version, and a Europe stack whose groups boot it. */
function galleryApp(geographies: readonly ('Europe' | 'US')[], groups: ReadonlyArray<Partial<HostedBotGroupProps>>, principalId = PROVIDER) {
  const app = Testing.app();
  const { images, version } = imagesWithVersion(app, geographies);
  const stacks = geographies.map((geography) => {
    const stack = new HostedBotsStack(app, `bots-${geography.toLowerCase()}`, {
      geography,
      environment: { name: 'demo', botCapacity: 4, monitoring: QUIET_MONITORING, standbyPoolProvider: { principalId } },
      runtime: { botAuthentication: 'token' },
    });
    groups.forEach((g, i) => stack.environment.addGroup(`group-${i}`, groupProps({ image: BotImageSource.fromVersion(version), ...g })));
    return stack;
  });
  return { images, stacks };
}

describe('standby pool roles, with standbyPoolProvider', () => {
  test("a group's pool gives the provider Virtual Machine Contributor, Managed Identity Operator and Network Contributor on the environment's resource group", () => {
    const { json } = synth(fleetStack({ environment: { standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ scaling: POOL }] }));
    const group = expect.stringMatching(/^\$\{azurerm_resource_group\.[\w-]+\.id\}$/);
    expect(providerRoles(json)).toEqual([
      { role: 'Managed Identity Operator', scope: group },
      { role: 'Network Contributor', scope: group },
      { role: 'Virtual Machine Contributor', scope: group },
    ]);
  });

  test('the assignments name a service principal, so that Azure needs no directory look-up', () => {
    const { json } = synth(fleetStack({ environment: { standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ scaling: POOL }] }));
    const assignments = resources(json, 'azurerm_role_assignment').filter((a) => a.principal_id === PROVIDER);
    expect(assignments).toHaveLength(3);
    for (const a of assignments) expect(a.principal_type).toBe('ServicePrincipal');
  });

  test("with an existing subnet, Network Contributor is on the subnet's resource group and the others stay on the environment's", () => {
    const { json } = synth(fleetStack({ environment: { network: { subnetId: HUB_SUBNET }, standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ scaling: POOL }] }));
    const roles = providerRoles(json);
    expect(roles.find((r) => r.role === 'Network Contributor')!.scope).toBe(HUB_GROUP);
    for (const r of roles.filter((r) => r.role !== 'Network Contributor')) expect(r.scope).toMatch(/^\$\{azurerm_resource_group\./);
  });

  test('an existing subnet known only at apply time: Terraform cuts its resource group out of its ID', () => {
    const binary = terraformFor("the evaluation of the Network Contributor scope of an apply-time subnet ID");
    if (!binary) return;
    const subnetId = Fn.trimspace(HUB_SUBNET);
    const { json } = synth(fleetStack({ environment: { network: { subnetId }, standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ scaling: POOL }] }));
    const scope = providerRoles(json).find((r) => r.role === 'Network Contributor')!.scope;
    expect(scope).toContain('regex');
    expect(evaluateWithTerraform({ scope }, {}, binary).scope).toBe(HUB_GROUP);
  });

  test('a subnet ID with no resource group in it is refused, naming the field', () => {
    expect(() => fleetStack({ environment: { network: { subnetId: 'bots' }, standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ scaling: POOL }] })).toThrow(
      /^BotEnvironment demo: network\.subnetId "bots" is not a subnet resource ID/,
    );
  });

  test('two groups with pools share one assignment of each role', () => {
    const { json } = synth(
      fleetStack({ environment: { standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ name: 'finance', scaling: POOL }, { name: 'sales', scaling: POOL }] }),
    );
    expect(pools(json)).toHaveLength(2);
    expect(providerRoles(json).map((r) => r.role)).toEqual(['Managed Identity Operator', 'Network Contributor', 'Virtual Machine Contributor']);
  });

  test('each pool depends on the role assignments, so that it is created after its permissions', () => {
    const { json } = synth(
      fleetStack({ environment: { standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ name: 'finance', scaling: POOL }, { name: 'sales', scaling: POOL }] }),
    );
    const addresses = providerRoleAddresses(json);
    expect(addresses).toHaveLength(3);
    for (const pool of pools(json)) expect([...pool.depends_on].sort()).toEqual(addresses);
  });

  test('a pool set on the environment gives every group one, and the roles once', () => {
    const { json } = synth(
      fleetStack({ environment: { scaling: POOL, standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ name: 'finance' }, { name: 'sales' }] }),
    );
    expect(pools(json)).toHaveLength(2);
    expect(providerRoles(json)).toHaveLength(3);
  });

  test('without a standby pool, the provider gets no role', () => {
    const { json } = synth(fleetStack({ environment: { standbyPoolProvider: { principalId: PROVIDER } } }));
    expect(providerRoles(json)).toEqual([]);
  });

  test('a gallery image adds Compute Gallery Sharing Admin and Compute Gallery Artifacts Publisher on the gallery, declared with the gallery', () => {
    const { images, stacks } = galleryApp(['Europe'], [{ scaling: POOL }]);
    const gallery = expect.stringMatching(/^\$\{azurerm_shared_image_gallery\.[\w-]+\.id\}$/);
    expect(providerRoles(synth(images).json)).toEqual([
      { role: 'Compute Gallery Artifacts Publisher', scope: gallery },
      { role: 'Compute Gallery Sharing Admin', scope: gallery },
    ]);
    expect(providerRoles(synth(stacks[0]).json).map((r) => r.role)).toEqual(['Managed Identity Operator', 'Network Contributor', 'Virtual Machine Contributor']);
  });

  test('geography stacks whose pools boot images of one gallery assign its roles once', () => {
    const { images, stacks } = galleryApp(['Europe', 'US'], [{ name: 'finance', scaling: POOL }, { name: 'sales', scaling: POOL }]);
    expect(providerRoles(synth(images).json)).toHaveLength(2);
    for (const stack of stacks) expect(providerRoles(synth(stack).json)).toHaveLength(3);
  });

  test("a pool waits for the gallery's roles when the gallery is in its own stack", () => {
    const app = Testing.app();
    const stack = new HostedBotsStack(app, 'bots', {
      geography: 'Europe',
      environment: { name: 'demo', botCapacity: 4, monitoring: QUIET_MONITORING, standbyPoolProvider: { principalId: PROVIDER } },
      runtime: { botAuthentication: 'token' },
    });
    const version = new BotImageGallery(stack, 'gallery', { name: 'botimages' })
      .addImage('windows', { name: 'windows-rpa', publisher: 'contoso', offer: 'rpa', sku: 'win11' })
      .addVersion('1.0.0', { source: { managedImageId: '/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/images/rpa' }, geographies: ['Europe'] });
    stack.environment.addGroup('finance', groupProps({ image: BotImageSource.fromVersion(version), scaling: POOL }));
    const { json } = synth(stack);
    const addresses = providerRoleAddresses(json);
    expect(addresses).toHaveLength(5);
    expect([...pools(json)[0].depends_on].sort()).toEqual(addresses);
  });

  test('a principal known only at apply time cannot reach a gallery in another stack: refused, naming the prop', () => {
    const app = Testing.app();
    const { images, version } = imagesWithVersion(app, ['Europe']);
    const stack = new HostedBotsStack(app, 'bots', {
      geography: 'Europe',
      environment: { name: 'demo', botCapacity: 4, monitoring: QUIET_MONITORING, standbyPoolProvider: { principalId: Fn.trimspace(PROVIDER) } },
      runtime: { botAuthentication: 'token' },
    });
    expect(() => stack.environment.addGroup('finance', groupProps({ image: BotImageSource.fromVersion(version), scaling: POOL }))).toThrow(
      /standbyPoolProvider\.principalId is only known at apply time, but gallery botimages, whose roles it needs, is in stack images: give the object ID as a plain string/,
    );
  });

  test('with the provider given, a pool gets no HRB-SCALE-2 warning', () => {
    const result = synth(fleetStack({ environment: { standbyPoolProvider: { principalId: PROVIDER } }, groups: [{ scaling: POOL }] }));
    expect(warnings(result).filter((w) => w.includes('[HRB-SCALE-2]'))).toEqual([]);
  });

  test('every expression of the stacks, the scopes cut from apply-time IDs included, parses in Terraform', async () => {
    const app = Testing.app();
    const { images, version } = imagesWithVersion(app, ['Europe']);
    const stack = new HostedBotsStack(app, 'bots', {
      geography: 'Europe',
      environment: { name: 'demo', botCapacity: 4, monitoring: QUIET_MONITORING, network: { subnetId: Fn.trimspace(HUB_SUBNET) }, standbyPoolProvider: { principalId: PROVIDER } },
      runtime: { botAuthentication: 'token' },
    });
    stack.environment.addGroup('finance', groupProps({ image: BotImageSource.fromVersion(version), scaling: POOL }));
    const expressions = [images, stack].flatMap((s) => expressionsOf(s.node.id, synth(s).json));
    expect(expressions.some((e) => /azurerm_role_assignment\..*\.scope$/.test(e.path) && e.text.includes('regex'))).toBe(true);
    const check = await checkExpressions(expressions);
    expect(describeProblems(check.problems)).toBe('');
    if (process.env.CI) expect(check.checker).toBe('terraform');
  }, 60_000);
});

describe('standby pool roles, without standbyPoolProvider', () => {
  test('a group with a standby pool gets the HRB-SCALE-2 warning naming the group, the roles, the page and the prop', () => {
    const result = synth(fleetStack({ groups: [{ name: 'finance', scaling: POOL }] }));
    expect(providerRoles(result.json)).toEqual([]);
    const [warning] = warnings(result).filter((w) => w.includes('[HRB-SCALE-2]'));
    expect(warning).toMatch(/^fleet\/environment\/group-0: \[HRB-SCALE-2\] scaling\.standbyPool \(group finance\) deploys but never fills/);
    for (const text of ['Virtual Machine Contributor', 'Managed Identity Operator', 'Network Contributor', STANDBY_POOL_PERMISSIONS_DOC, 'standbyPoolProvider: { principalId }']) {
      expect(warning).toContain(text);
    }
    expect(warning).not.toContain('Compute Gallery');
  });

  test('a group without a standby pool gets no warning', () => {
    expect(warnings(synth(fleetStack())).filter((w) => w.includes('[HRB-SCALE-2]'))).toEqual([]);
  });

  test('a team that assigns the roles itself can suppress the warning with its reason', () => {
    const stack = fleetStack({ groups: [{ scaling: POOL }] });
    RuleSuppressions.of(stack.environment).suppress('HRB-SCALE-2', 'the platform team assigns these roles at the subscription');
    const result = synth(stack);
    expect(warnings(result).filter((w) => w.includes('[HRB-SCALE-2]'))).toEqual([]);
    expect(result.annotations.filter((a) => a.level === 'info' && a.message.includes('[HRB-SCALE-2] suppressed'))).toHaveLength(1);
  });
});
