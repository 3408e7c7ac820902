import { annotationsOf } from '../../index';
import { buildSingleGeo } from '../../examples/single-geo/main';
import { synthApp } from '../helpers/app';
import { resources } from '../helpers/fleet';

describe('examples/single-geo', () => {
  const synthesized = synthApp(buildSingleGeo);
  const tf = synthesized.terraform('demo');
  const fleet = synthesized.fleet('demo');

  test('runs in northeurope', () => {
    expect(resources(tf, 'azurerm_resource_group')[0].location).toBe('northeurope');
    expect(fleet.environment).toMatchObject({ name: 'demo', geography: 'Europe', region: 'northeurope', botCapacity: 4 });
  });

  test('declares finance (maxBots 3, invoice-entry) and sales (maxBots 2, lead-sync)', () => {
    expect(fleet.groups.map((g: any) => [g.name, g.maxBots, Object.keys(g.flows)])).toEqual([
      ['finance', 3, ['invoice-entry']],
      ['sales', 2, ['lead-sync']],
    ]);
    expect(fleet.groups.every((g: any) => g.image.kind === 'marketplace')).toBe(true);
  });

  test('the sensitive-variable password warns and never appears in plain text', () => {
    const warnings = annotationsOf(synthesized.built).filter((a) => a.level === 'warning' && a.message.includes('adminPassword'));
    expect(warnings.map((w) => w.path)).toEqual(['demo/environment/finance', 'demo/environment/sales']);
    expect(tf.variable.bot_admin_password).toMatchObject({ sensitive: true });
    for (const vmss of resources(tf, 'azurerm_orchestrated_virtual_machine_scale_set')) {
      expect(vmss.os_profile.windows_configuration.admin_password).toBe('${var.bot_admin_password}');
    }
    expect(synthesized.fleetText('demo')).not.toContain('bot_admin_password');
  });

  test('the NSG denies all inbound traffic from the Internet', () => {
    expect(resources(tf, 'azurerm_network_security_rule')).toEqual([
      expect.objectContaining({ direction: 'Inbound', access: 'Deny', source_address_prefix: 'Internet', destination_port_range: '*' }),
    ]);
  });

  test("no bot has a public IP: the only one is the NAT gateway's, for outbound", () => {
    expect(synthesized.terraformText('demo')).not.toMatch(/public_ip_address"|public_ip_prefix/);
    expect(resources(tf, 'azurerm_public_ip')).toHaveLength(1);
    expect(resources(tf, 'azurerm_nat_gateway_public_ip_association')).toHaveLength(1);
  });

  test('synth needs no address of the deploying machine: no Key Vault warning, whatever HOSTED_BOTS_DEPLOYER_IPS says', () => {
    const warnings = annotationsOf(synthesized.built).filter((a) => a.level === 'warning' && /Key Vault|deployerIpRanges/.test(a.message));
    expect(warnings).toEqual([]);
  });

  test('each scale set has instances 0 and ignores changes to its instance count and its first admin password', () => {
    const scaleSets = resources(tf, 'azurerm_orchestrated_virtual_machine_scale_set');
    expect(scaleSets).toHaveLength(2);
    for (const vmss of scaleSets) {
      expect(vmss.instances).toBe(0);
      expect(vmss.lifecycle.ignore_changes).toEqual(['instances', 'os_profile[0].windows_configuration[0].admin_password']);
    }
  });
});
