/**
 * The offline review of two synthesized stacks: what Terraform would replace or destroy, from
 * the ForceNew table, without cloud credentials. Stacks are synthesized with the library as a
 * fleet repository would; edits the library cannot make (an image definition's os_type, a SKU
 * it fixes) are made to the synthesized JSON.
 */
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { Id } from '@cdktf/provider-random/lib/id';
import { TerraformVariable } from 'cdktf';
import { BotImagesStack, HostedBotsStack, HostedBotsStackProps } from '../../../index';
import { diffExitCode, diffFleets, FleetChange, FleetSide } from '../../../runtime/cli/fleet-diff';
import { readFleetSide } from '../../../runtime/cli/fleet-diff-command';
import { diffStackResources, TerraformConfig } from '../../../runtime/cli/stack-diff';
import { synthApp } from '../../helpers/app';
import { groupProps } from '../../helpers/fleet';

interface Options {
  readonly props?: Partial<HostedBotsStackProps>;
  readonly groupId?: string;
}

/** One environment stack `bots` with one group, synthesized and read as the diff reads it. */
function environment(options: Options = {}): FleetSide {
  const app = synthApp((scope) => {
    const stack = new HostedBotsStack(scope, 'bots', {
      geography: 'Europe',
      environment: { name: 'demo', botCapacity: 4 },
      runtime: { botAuthentication: 'token' },
      ...options.props,
    });
    const password = new TerraformVariable(stack, 'bot_admin_password', { type: 'string', sensitive: true }).stringValue;
    stack.environment.addGroup(options.groupId ?? 'finance', groupProps({ adminPassword: password }));
  });
  return readFleetSide(app.outdir, 'test');
}

/** An image stack with one image definition and one version. */
function images(image: { publisher?: string; offer?: string; sku?: string } = {}): FleetSide {
  const app = synthApp((scope) => {
    const stack = new BotImagesStack(scope, 'images', { location: 'northeurope' });
    stack.gallery
      .addImage('windows', { name: 'windows-rpa', publisher: image.publisher ?? 'contoso', offer: image.offer ?? 'rpa', sku: image.sku ?? 'win11' })
      .addVersion('1.0.0', { source: { managedImageId: '/subscriptions/0/resourceGroups/img/providers/Microsoft.Compute/images/rpa' }, geographies: ['Europe'] });
  });
  return readFleetSide(app.outdir, 'test');
}

const terraformOf = (side: FleetSide): TerraformConfig => side.stacks[0].terraform!;
const edited = (side: FleetSide, edit: (resources: Record<string, Record<string, any>>) => void): TerraformConfig => {
  const copy = JSON.parse(JSON.stringify(terraformOf(side)));
  edit(copy.resource);
  return copy;
};
const only = (resources: Record<string, Record<string, any>>, type: string): any => {
  const all = Object.values(resources[type]);
  expect(all).toHaveLength(1);
  return all[0];
};
const single = (changes: FleetChange[]): FleetChange => {
  expect(changes).toHaveLength(1);
  return changes[0];
};
const lineAbout = (changes: FleetChange[], type: string): FleetChange => {
  const found = changes.filter((c) => c.resource?.startsWith(`${type}.`));
  expect(found).toHaveLength(1);
  return found[0];
};

let base: FleetSide;
beforeAll(() => {
  base = environment();
}, 60_000);

describe('diffStackResources', () => {
  test('a changed globalNamePrefix renames the vault, PostgreSQL server, storage account and App Service: each replaced, naming the attribute; exit code 2', () => {
    const changes = diffFleets(base, environment({ props: { globalNamePrefix: 'contoso' } }));
    for (const type of ['azurerm_key_vault', 'azurerm_postgresql_flexible_server', 'azurerm_storage_account', 'azurerm_linux_web_app']) {
      const c = lineAbout(changes, type);
      expect(c).toMatchObject({ kind: 'resource-replaced', destructive: true, stack: 'bots' });
      expect(c.text).toMatch(new RegExp(`^${type}\\.\\S+ \\(.+\\) is replaced: name \\S+ → contoso\\S+ \\(a rename\\) forces a new resource`));
    }
    expect(lineAbout(changes, 'azurerm_postgresql_flexible_server').text).toContain('run history');
    expect(lineAbout(changes, 'azurerm_key_vault').text).toContain('internal/services/keyvault/key_vault_resource.go of hashicorp/terraform-provider-azurerm at v4.55.0');
    expect(diffExitCode(changes)).toBe(2);
  }, 60_000);

  test('what refers to a replaced resource through a ForceNew attribute is replaced with it: the database, the container and the blob', () => {
    const changes = diffFleets(base, environment({ props: { globalNamePrefix: 'contoso' } }));
    expect(lineAbout(changes, 'azurerm_postgresql_flexible_server_database').text).toMatch(
      /is replaced: server_id refers to azurerm_postgresql_flexible_server\.\S+\.id, which changes when that resource is replaced, and server_id forces a new resource/,
    );
    expect(lineAbout(changes, 'azurerm_storage_container').text).toMatch(/storage_account_id refers to azurerm_storage_account\.\S+\.id/);
    expect(lineAbout(changes, 'azurerm_storage_blob').text).toMatch(/storage_account_name refers to azurerm_storage_account\.\S+\.name/);
    const vaultEndpoint = changes.find((c) => c.resource?.startsWith('azurerm_private_endpoint.runtime_vault-private-endpoint'));
    expect(vaultEndpoint?.text).toMatch(/private_connection_resource_id refers to azurerm_key_vault\.\S+\.id/);
    // The scale set's extension settings name the new runtime URL, but no ForceNew attribute changes.
    expect(changes.some((c) => c.resource?.startsWith('azurerm_orchestrated_virtual_machine_scale_set.'))).toBe(false);
  }, 60_000);

  test('a region move replaces every located resource, each with location old → new (a region move)', () => {
    const changes = diffFleets(base, environment({ props: { region: 'westeurope' } }));
    for (const type of ['azurerm_resource_group', 'azurerm_virtual_network', 'azurerm_key_vault', 'azurerm_orchestrated_virtual_machine_scale_set']) {
      expect(lineAbout(changes, type).text).toContain('location northeurope → westeurope (a region move) forces a new resource');
    }
    expect(changes.find((c) => c.kind === 'location')).toMatchObject({ destructive: true });
    expect(diffExitCode(changes)).toBe(2);
  }, 60_000);

  test("an image definition's identity (publisher, offer, sku) replaces it; its versions are named as lost", () => {
    const changes = diffFleets(images(), images({ sku: 'win11-ltsc' }));
    const c = lineAbout(changes, 'azurerm_shared_image');
    expect(c.text).toMatch(/\(image definition\) is replaced: identifier\.sku win11 → win11-ltsc forces a new resource \(internal\/services\/compute\/shared_image_resource\.go/);
    expect(c.text).toContain('lost with it: its image versions');
    expect(diffExitCode(changes)).toBe(2);
  }, 60_000);

  test("an image definition's os_type and hyper_v_generation force a new one", () => {
    const before = images();
    const after = edited(before, (r) => Object.assign(only(r, 'azurerm_shared_image'), { os_type: 'Linux', hyper_v_generation: 'V1' }));
    const c = single(diffStackResources('images', terraformOf(before), after));
    expect(c.text).toContain('os_type Windows → Linux forces a new resource');
    expect(c.text).toContain('hyper_v_generation V2 → V1 forces a new resource');
  }, 60_000);

  test("a SKU the provider updates in place (the database's sku_name) is no replacement: exit code 0", () => {
    const changes = diffFleets(base, environment({ props: { runtime: { botAuthentication: 'token', database: { skuName: 'GP_Standard_D2ds_v5' } } } }));
    expect(changes).toEqual([]);
    expect(diffExitCode(changes)).toBe(0);
  }, 60_000);

  test('SKU tiers that force replacement: storage account_tier and the public IP sku', () => {
    const after = edited(base, (r) => {
      only(r, 'azurerm_storage_account').account_tier = 'Premium';
      only(r, 'azurerm_public_ip').sku = 'Basic';
    });
    const changes = diffStackResources('bots', terraformOf(base), after);
    expect(lineAbout(changes, 'azurerm_storage_account').text).toContain('account_tier Standard → Premium forces a new resource');
    expect(lineAbout(changes, 'azurerm_public_ip').text).toContain('sku Standard → Basic forces a new resource');
    expect(diffExitCode(changes)).toBe(2);
  });

  test('a replication change between zone-redundant and not replaces the storage account; within one kind it is in place', () => {
    const replication = (type: string) => edited(base, (r) => (only(r, 'azurerm_storage_account').account_replication_type = type));
    expect(lineAbout(diffStackResources('bots', terraformOf(base), replication('ZRS')), 'azurerm_storage_account').text).toContain(
      'account_replication_type LRS → ZRS forces a new resource (between a zone-redundant kind (ZRS, GZRS, RAGZRS) and one that is not (LRS, GRS, RAGRS))',
    );
    expect(diffStackResources('bots', terraformOf(base), replication('GRS'))).toEqual([]);
  });

  test("a smaller database storage replaces the server (the provider's CustomizeDiff); a larger one does not", () => {
    const withStorage = (storageMb: number) => environment({ props: { runtime: { botAuthentication: 'token', database: { storageMb } } } });
    const large = withStorage(65536);
    const smaller = diffFleets(large, withStorage(32768));
    expect(lineAbout(smaller, 'azurerm_postgresql_flexible_server').text).toContain('storage_mb 65536 → 32768 forces a new resource (a smaller size)');
    expect(diffFleets(withStorage(32768), large)).toEqual([]);
  }, 60_000);

  test('a changed VNet address space is a network change: exit code 2, naming the VNet and address_space', () => {
    const changes = diffFleets(base, environment({ props: { environment: { name: 'demo', botCapacity: 4, network: { addressSpace: '10.90.0.0/16' } } } }));
    const c = lineAbout(changes.filter((ch) => ch.kind === 'network'), 'azurerm_virtual_network');
    expect(c.destructive).toBe(true);
    expect(c.text).toMatch(/^azurerm_virtual_network\.\S+ \(virtual network\): network change: address_space 10\.80\.0\.0\/16 → 10\.90\.0\.0\/16; .*Add, change, or delete a virtual network subnet/);
    expect(diffExitCode(changes)).toBe(2);
  }, 60_000);

  test("a changed subnet prefix is a network change naming the subnet and address_prefixes", () => {
    const after = edited(base, (r) => {
      const subnet = Object.values(r.azurerm_subnet).find((s: any) => s.name === 'snet-bots');
      subnet.address_prefixes = ['10.80.8.0/22'];
    });
    const changes = diffStackResources('bots', terraformOf(base), after);
    expect(changes).toEqual([
      expect.objectContaining({ kind: 'network', destructive: true, text: expect.stringMatching(/^azurerm_subnet\.\S+ \(subnet\): network change: address_prefixes 10\.80\.0\.0\/22 → 10\.80\.8\.0\/22; /) }),
    ]);
  });

  test('a resource no longer declared is destroyed: exit code 2, naming it', () => {
    const withReader = environment({ props: { runtime: { botAuthentication: 'token', secretReaders: ['00000000-0000-0000-0000-00000000beef'] } } });
    const changes = diffFleets(withReader, base);
    const destroyed = changes.filter((c) => c.kind === 'resource-destroyed');
    expect(destroyed.map((c) => c.text)).toEqual([expect.stringMatching(/^azurerm_role_assignment\.runtime_vault-reader-0_\w+ \(role assignment\) is destroyed: it is no longer declared/)]);
    expect(diffExitCode(changes)).toBe(2);
  }, 60_000);

  // The password is the stack's own literal here so that the synthesized stacks differ; with a
  // sensitive variable (the usual case) a rotation changes no line of the stack at all.
  test('a rotated admin password replaces no scale set: the ignored model password is not a change, the version stamp is a routine replacement, exit code 0', () => {
    const withPassword = (adminPassword: string) =>
      readFleetSide(
        synthApp((scope) => {
          const stack = new HostedBotsStack(scope, 'bots', { geography: 'Europe', environment: { name: 'demo', botCapacity: 4 }, runtime: { botAuthentication: 'token' } });
          stack.environment.addGroup('finance', groupProps({ adminPassword }));
        }).outdir,
        'test',
      );
    const changes = diffFleets(withPassword('First-Passw0rd-2026'), withPassword('Second-Passw0rd-2027'));
    expect(changes.map((c) => [c.kind, c.resource, c.destructive])).toEqual([['resource-replaced', expect.stringMatching(/^random_id\.environment_finance_admin-password-version_/), false]]);
    expect(changes[0].text).toMatch(/keepers.*routine, nothing is lost: a bot group's admin password version/);
    expect(changes[0].text).not.toContain('Passw0rd');
    expect(diffExitCode(changes)).toBe(0);
  }, 60_000);

  /** The stack of environment(), with a random_id and a storage blob of the user's own, under the construct IDs of the library's. */
  const withOwnResources = (generation: string) =>
    readFleetSide(
      synthApp((scope) => {
        const stack = new HostedBotsStack(scope, 'bots', { geography: 'Europe', environment: { name: 'demo', botCapacity: 4 }, runtime: { botAuthentication: 'token' } });
        stack.environment.addGroup('finance', groupProps());
        new Id(stack, 'admin-password-version', { byteLength: 4, keepers: { generation } });
        new StorageBlob(stack, 'package', { name: `report-${generation}.csv`, storageAccountName: 'stcontoso', storageContainerName: 'reports', type: 'Block', sourceContent: generation });
      }).outdir,
      'test',
    );

  test("a user's own random_id and storage blob replaced in the same stack are destructive and named, exit code 2: only the library's own are routine", () => {
    const changes = diffFleets(withOwnResources('1'), withOwnResources('2'));
    expect(changes.map((c) => [c.kind, c.resource, c.destructive])).toEqual([
      ['resource-replaced', 'azurerm_storage_blob.package', true],
      ['resource-replaced', 'random_id.admin-password-version', true],
    ]);
    expect(changes.map((c) => c.text).join('\n')).not.toContain('routine');
    expect(diffExitCode(changes)).toBe(2);
  }, 60_000);

  test("a new runtime package beside a user's own blob is routine, exit code 0", () => {
    const side = withOwnResources('1');
    const after = edited(side, (resources) => {
      const [name] = Object.keys(resources.azurerm_storage_blob).filter((n) => n.startsWith('runtime_package_'));
      resources.azurerm_storage_blob[name].name = 'hosted-bots-runtime-0123456789ab.zip';
    });
    const changes = diffStackResources('bots', terraformOf(side), after);
    expect(changes.map((c) => [c.kind, c.resource, c.destructive])).toEqual([['resource-replaced', expect.stringMatching(/^azurerm_storage_blob\.runtime_package_/), false]]);
    expect(changes[0].text).toContain('routine, nothing is lost: the runtime package');
    expect(diffExitCode(changes)).toBe(0);
  }, 60_000);

  test("a resource whose address changes (a group's construct ID) is destroyed and created anew: both named", () => {
    const changes = diffFleets(base, environment({ groupId: 'finance-bots' }));
    const c = lineAbout(changes.filter((ch) => ch.kind === 'resource-destroyed'), 'azurerm_orchestrated_virtual_machine_scale_set');
    expect(c.text).toMatch(
      /^azurerm_orchestrated_virtual_machine_scale_set\.environment_finance_scale-set_\w+ \(scale set\) is destroyed and azurerm_orchestrated_virtual_machine_scale_set\.environment_finance-bots_scale-set_\w+ created in its place: its address changed \(construct path bots\/environment\/finance\/scale-set → bots\/environment\/finance-bots\/scale-set\)/,
    );
    expect(c.text).toContain("the group's bots are deleted");
    expect(diffExitCode(changes)).toBe(2);
  }, 60_000);

  test('an in-place change (a tag) is not reported and exits 0', () => {
    const changes = diffFleets(base, environment({ props: { tags: { 'cost-center': 'rpa' } } }));
    expect(changes).toEqual([]);
    expect(diffExitCode(changes)).toBe(0);
  }, 60_000);

  test('an expression that changes is said to change at apply time', () => {
    const after = edited(base, (r) => {
      Object.values<any>(r.azurerm_private_endpoint).find((pe) => pe.name.endsWith('-runtime')).subnet_id = '${azurerm_subnet.other.id}';
    });
    const c = single(diffStackResources('bots', terraformOf(base), after));
    expect(c.text).toMatch(/is replaced: subnet_id changes at apply time \(\$\{azurerm_subnet\.\S+\.id\} → \$\{azurerm_subnet\.other\.id\}\) forces a new resource/);
  });

  test('a changed local changes every ForceNew attribute that uses it, at apply time', () => {
    const after: any = edited(base, () => undefined);
    after.locals.global_name_suffix = '${substr(sha256("elsewhere"), 0, 10)}';
    const changes = diffStackResources('bots', terraformOf(base), after);
    expect(lineAbout(changes, 'azurerm_key_vault').text).toContain('name changes at apply time: it uses local.global_name_suffix, which changed');
  });

  test('lifecycle.ignore_changes is honoured: an ignored ForceNew attribute replaces nothing', () => {
    const identity = (name: string, ignore?: string[]): TerraformConfig => ({
      resource: { azurerm_user_assigned_identity: { bots: { name, location: 'northeurope', resource_group_name: 'rg', ...(ignore ? { lifecycle: { ignore_changes: ignore } } : {}) } } },
    });
    expect(diffStackResources('bots', identity('id-a', ['name']), identity('id-b', ['name']))).toEqual([]);
    expect(single(diffStackResources('bots', identity('id-a'), identity('id-b'))).text).toContain('name id-a → id-b (a rename) forces a new resource');
  });

  test('a conditional replacement that cannot be decided offline says the resource may be replaced', () => {
    const after = edited(base, (r) => (only(r, 'azurerm_postgresql_flexible_server').storage_mb = '${var.storage}'));
    const c = lineAbout(diffStackResources('bots', terraformOf(base), after), 'azurerm_postgresql_flexible_server');
    expect(c).toMatchObject({ kind: 'resource-replaced', destructive: true });
    expect(c.text).toMatch(/may be replaced: storage_mb changes at apply time \(32768 → \$\{var\.storage\}\) may force a new resource \(a smaller size; the values are known only at apply time\)/);
  });

  test('a secret is never printed: a changed admin password shows no value', () => {
    // Without the library's ignore_changes on it, the model password is ForceNew.
    const unignored = (r: Record<string, Record<string, any>>) => (only(r, 'azurerm_orchestrated_virtual_machine_scale_set').lifecycle.ignore_changes = ['instances']);
    const before = edited(base, unignored);
    const after = edited(base, (r) => {
      unignored(r);
      only(r, 'azurerm_orchestrated_virtual_machine_scale_set').os_profile.windows_configuration.admin_password = 'An0ther!Passw0rd';
    });
    const c = lineAbout(diffStackResources('bots', before, after), 'azurerm_orchestrated_virtual_machine_scale_set');
    expect(c.text).toContain('os_profile.windows_configuration.admin_password changes (its value is not shown) forces a new resource');
    expect(c.text).not.toContain('An0ther');
  });

  test('a type without a row is reported for hosted-bots plan to settle, not as destructive', () => {
    const before: TerraformConfig = { resource: { time_sleep: { wait: { create_duration: '30s' } } } };
    const after: TerraformConfig = { resource: { time_sleep: { wait: { create_duration: '60s' } } } };
    expect(diffStackResources('bots', before, after)).toEqual([
      {
        kind: 'setting',
        destructive: false,
        stack: 'bots',
        resource: 'time_sleep.wait',
        text: 'time_sleep.wait: create_duration changed; time_sleep has no row in the ForceNew table (runtime/cli/force-new-attributes.ts), so hosted-bots plan must tell whether Terraform replaces it',
      },
    ]);
  });
});
