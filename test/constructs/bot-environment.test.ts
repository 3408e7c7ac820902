import { fleetStack, resources, synth } from '../helpers/fleet';

describe('BotEnvironment', () => {
  test('an NSG rule explicitly denies all inbound traffic from the Internet', () => {
    const [rule] = resources(synth(fleetStack()).json, 'azurerm_network_security_rule');
    expect(rule).toMatchObject({
      direction: 'Inbound',
      access: 'Deny',
      protocol: '*',
      source_address_prefix: 'Internet',
      destination_port_range: '*',
      destination_address_prefix: '*',
    });
  });

  test('creates a VNet and subnet with the NSG attached by default', () => {
    const { json } = synth(fleetStack());
    expect(resources(json, 'azurerm_virtual_network')).toEqual([expect.objectContaining({ address_space: ['10.80.0.0/16'] })]);
    expect(resources(json, 'azurerm_subnet')).toEqual([expect.objectContaining({ address_prefixes: ['10.80.0.0/22'] })]);
    expect(resources(json, 'azurerm_subnet_network_security_group_association')).toHaveLength(1);
  });

  test('an existing subnet is used as is, with the NSG on each bot NIC', () => {
    const subnetId = '/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots';
    const { json } = synth(fleetStack({ environment: { network: { subnetId } } }));
    expect(resources(json, 'azurerm_virtual_network')).toEqual([]);
    expect(resources(json, 'azurerm_subnet')).toEqual([]);
    const [vmss] = resources(json, 'azurerm_orchestrated_virtual_machine_scale_set');
    expect(vmss.network_interface[0].ip_configuration[0].subnet_id).toBe(subnetId);
    expect(vmss.network_interface[0].network_security_group_id).toMatch(/azurerm_network_security_group/);
  });

  test('declares the three custom roles, scoped to the resource group', () => {
    const roles = resources(synth(fleetStack()).json, 'azurerm_role_definition').filter((r) => !r.name.includes('runtime'));
    expect(roles.map((r) => r.name).sort()).toEqual([
      'Hosted RPA bots environment maker (demo, northeurope)',
      'Hosted RPA bots image admin (demo, northeurope)',
      'Hosted RPA bots machine owner (demo, northeurope)',
    ]);
    for (const role of roles) expect(role.assignable_scopes).toEqual([expect.stringMatching(/azurerm_resource_group/)]);
    const imageAdmin = roles.find((r) => r.name.includes('image admin'));
    expect(imageAdmin!.permissions[0].actions).not.toContain('Microsoft.Compute/virtualMachineScaleSets/*');
  });

  test('assigns each role to the principals given in props', () => {
    const stack = fleetStack({ environment: { roles: { environmentMakers: ['maker-1', 'maker-2'], imageAdmins: ['img-1'] } } });
    const assignments = resources(synth(stack).json, 'azurerm_role_assignment').filter((a) => !/runtime_identity/.test(a.principal_id));
    expect(assignments.map((a) => a.principal_id).sort()).toEqual(['img-1', 'maker-1', 'maker-2']);
    for (const a of assignments) {
      expect(a.role_definition_id).toMatch(/azurerm_role_definition\..+\.role_definition_resource_id/);
      expect(a.scope).toMatch(/azurerm_resource_group/);
    }
  });

  test('the trial plan caps the capacity at 2', () => {
    expect(fleetStack({ environment: { plan: 'trial', botCapacity: 8 } }).environment.effectiveCapacity).toBe(2);
  });
});
