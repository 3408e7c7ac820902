/**
 * Names: every name the library derives fits Azure's rule for its resource type, for generated
 * environment, group, region and prefix inputs the library accepts; global names are unique per
 * subscription (Terraform computes the suffix, and is asked here) and the same on every synth.
 */
import { environmentName, globalNamePrefix, groupName, NAME_RULES, NameKind, nameFits, standbyPoolName } from '../../constructs/azure-rules';
import { computerNamePrefix } from '../../constructs/azure-rules';
import { GEOGRAPHIES, regionsOf } from '../../constructs/geography';
import { globalNameSuffix, NAME_SUFFIX_LENGTH, names } from '../../constructs/naming';
import { fleetStack, resources, synth } from '../helpers/fleet';
import { evaluateWithTerraform, terraformFor } from '../helpers/terraform';

/** A small seeded generator (mulberry32), so a failure names an input that reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';

/** A name of the form the library accepts for environments and groups: lowercase, digits, hyphens (runs too). */
function libraryName(next: () => number, max: number): string {
  const length = 1 + Math.floor(next() * max);
  const pick = (chars: string) => chars[Math.floor(next() * chars.length)];
  let name = pick(LOWER);
  while (name.length < length) {
    const r = next();
    name += r < 0.2 ? '-' : r < 0.4 ? pick(DIGITS) : pick(LOWER);
  }
  return name.replace(/-+$/, '') || 'a';
}

interface Inputs {
  readonly environment: string;
  readonly group: string;
  readonly region: string;
  readonly prefix?: string;
  readonly suffix: string;
}

const ALL_REGIONS = GEOGRAPHIES.flatMap((g) => regionsOf(g));

function generated(count: number): Inputs[] {
  const next = random(20261201);
  const hex = () => Array.from({ length: NAME_SUFFIX_LENGTH }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join('');
  const edges: Inputs[] = [
    { environment: 'finance-ops-eu', group: 'invoices', region: 'germanywestcentral', suffix: hex() },
    { environment: 'a', group: 'b', region: 'westus', suffix: hex() },
    { environment: 'e'.repeat(24), group: 'g'.repeat(40), region: 'australiaeast', prefix: 'contoso1', suffix: hex() },
    { environment: 'a--b---c-1', group: 'x--y', region: 'switzerlandnorth', prefix: 'z', suffix: hex() },
    { environment: 'abcdefghi-jklmnopqrstuvw', group: 'g-', region: 'uksouth', suffix: hex() },
  ].map((e) => ({ ...e, group: e.group.replace(/-+$/, '') }));
  const out = [...edges];
  while (out.length < count) {
    out.push({
      environment: libraryName(next, 24),
      group: libraryName(next, 40),
      region: ALL_REGIONS[Math.floor(next() * ALL_REGIONS.length)],
      prefix: next() < 0.5 ? undefined : libraryName(next, 8).replace(/-/g, '') || 'p',
      suffix: hex(),
    });
  }
  return out;
}

/** Every name the library makes for these inputs, with the resource type whose rule it must meet. */
function namesFor(i: Inputs): Array<[NameKind, string]> {
  const global = { prefix: i.prefix, environment: i.environment, suffix: i.suffix };
  return [
    ['resourceGroup', names.resourceGroup(i.environment, i.region)],
    ['virtualNetwork', names.virtualNetwork(i.environment)],
    ['networkResource', names.subnet()],
    ['networkResource', names.runtimeSubnet()],
    ['networkResource', names.databaseSubnet()],
    ['networkResource', names.networkSecurityGroup(i.environment)],
    ['networkResource', names.natGateway(i.environment)],
    ['networkResource', names.natPublicIp(i.environment)],
    ['privateEndpoint', names.runtimePrivateEndpoint(i.environment)],
    ['scaleSet', names.scaleSet(i.environment, i.group)],
    ['standbyPool', names.standbyPool(i.environment, i.group)],
    ['networkResource', names.botNetworkLink(i.environment)],
    ['identity', names.botIdentity(i.environment, i.group)],
    ['identity', names.runtimeIdentity(i.environment)],
    ['servicePlan', names.servicePlan(i.environment)],
    ...['environment maker', 'machine owner', 'image admin', 'runtime', 'runtime instances'].map(
      (role) => ['roleDefinition', names.roleDefinition(role, i.environment, i.region, i.suffix)] as [NameKind, string],
    ),
    ['keyVault', names.keyVault(global)],
    ['storageAccount', names.storageAccount(global)],
    ['postgresServer', names.postgresServer(global)],
    ['webApp', names.webApp(global)],
  ];
}

describe('names', () => {
  const inputs = generated(600);

  test('the generated inputs are ones the library accepts', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(500);
    for (const i of inputs) {
      expect([i.environment, environmentName({ name: i.environment })]).toEqual([i.environment, []]);
      expect([i.group, groupName({ name: i.group })]).toEqual([i.group, []]);
      expect(globalNamePrefix({ prefix: i.prefix })).toEqual([]);
    }
  });

  test('no derived name breaks Azure\'s rule for its resource type', () => {
    const broken: string[] = [];
    for (const i of inputs) {
      for (const [kind, name] of namesFor(i)) {
        if (!nameFits(kind, name)) broken.push(`${kind} "${name}" from ${JSON.stringify(i)}: must be ${NAME_RULES[kind].text}`);
      }
      const prefix = names.computerNamePrefix(i.group);
      if (computerNamePrefix({ prefix, derived: true }).length > 0) broken.push(`computer-name prefix "${prefix}" from group "${i.group}"`);
    }
    expect(broken).toEqual([]);
  });

  test('Key Vault names never hold consecutive hyphens, e.g. for environment finance-ops-eu', () => {
    expect(names.keyVault({ environment: 'finance-ops-eu', suffix: '0123456789' })).toBe('kv-finance-op-0123456789');
    expect(names.keyVault({ environment: 'a--b', suffix: '0123456789' })).toBe('kv-a-b-0123456789');
  });

  test('a scale set name over 64 characters is shortened, and two long pairs stay apart', () => {
    const a = names.scaleSet('e'.repeat(24), 'g'.repeat(40));
    const b = names.scaleSet('e'.repeat(24), `${'g'.repeat(39)}h`);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    expect(names.scaleSet('demo', 'finance')).toBe('vmss-demo-finance');
  });

  test('a standby pool name fits 24 characters for ordinary names, e.g. environment finance-ops-eu and group invoices', () => {
    const name = names.standbyPool('finance-ops-eu', 'invoices');
    expect(`sbp-finance-ops-eu-invoices`.length).toBeGreaterThan(24);
    expect(name.length).toBeLessThanOrEqual(24);
    expect(name).toMatch(/^sbp-finance-ops-e-[0-9a-f]{6}$/);
    expect(standbyPoolName({ name })).toEqual([]);
    expect(names.standbyPool('demo', 'finance')).toBe('sbp-demo-finance');
  });

  test('two standby pool names cut to 24 characters stay apart', () => {
    const a = names.standbyPool('e'.repeat(24), 'g'.repeat(40));
    const b = names.standbyPool('e'.repeat(24), `${'g'.repeat(39)}h`);
    expect([a.length, b.length]).toEqual([24, 24]);
    expect(a).not.toBe(b);
  });

  test('the same stack synthesized twice gets the same names', () => {
    const namesOf = () => {
      const { json } = synth(fleetStack());
      return ['azurerm_key_vault', 'azurerm_storage_account', 'azurerm_postgresql_flexible_server', 'azurerm_linux_web_app', 'azurerm_role_definition']
        .flatMap((type) => resources(json, type).map((r) => r.name))
        .concat(json.locals.global_name_suffix);
    };
    const first = namesOf();
    expect(first.length).toBeGreaterThan(5);
    expect(namesOf()).toEqual(first);
  });

  test('Terraform derives the suffix from the subscription: two subscriptions get different global names, one gets the same each time', () => {
    const binary = terraformFor('the evaluation of the name suffix');
    if (!binary) return;
    const { json } = synth(fleetStack());
    const templates = {
      suffix: json.locals.global_name_suffix,
      key_vault: resources(json, 'azurerm_key_vault')[0].name.replace(/local\.global_name_suffix/g, 'local.suffix'),
      web_app: resources(json, 'azurerm_linux_web_app')[0].name.replace(/local\.global_name_suffix/g, 'local.suffix'),
    };
    // The stack's own expressions, with the data source's value put in.
    const evaluate = (subscriptionId: string) => {
      const v = evaluateWithTerraform(templates, { 'data\\.azurerm_client_config\\.client\\.subscription_id': `"${subscriptionId}"` }, binary);
      return [v.suffix, v.key_vault, v.web_app];
    };
    const one = '11111111-2222-3333-4444-555555555555';
    const two = '99999999-8888-7777-6666-555555555555';
    const [suffixOne, vaultOne, appOne] = evaluate(one);
    const [suffixTwo, vaultTwo, appTwo] = evaluate(two);
    expect(suffixOne).toBe(globalNameSuffix(one, 'rg-hostedbots-demo-northeurope'));
    expect(suffixTwo).toBe(globalNameSuffix(two, 'rg-hostedbots-demo-northeurope'));
    expect(vaultOne).toBe(`kv-demo-${suffixOne}`);
    expect(appOne).toBe(`hostedbots-demo-${suffixOne}`);
    expect([vaultTwo, appTwo]).not.toEqual([vaultOne, appOne]);
    expect(evaluate(one)).toEqual([suffixOne, vaultOne, appOne]);
    expect(nameFits('keyVault', vaultOne) && nameFits('webApp', appOne)).toBe(true);
  });
});
