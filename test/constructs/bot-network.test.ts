/**
 * The environment's network: bots get explicit outbound through a NAT gateway and nothing
 * inbound from the Internet; the runtime has its own delegated subnets.
 */
import { DENY_INTERNET_INBOUND_PRIORITY, NETWORK_DEFAULTS } from '../../constructs/bot-network';
import { Testing } from 'cdktf';
import { fleetStack, resources, synth } from '../helpers/fleet';

const EXISTING_SUBNET = '/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/hub/subnets/bots';

function subnetNamed(json: Record<string, any>, name: string) {
  const [found] = Object.entries<any>(json.resource.azurerm_subnet).filter(([, s]) => s.name === name);
  return found ? { id: found[0], ...found[1] } : undefined;
}

describe('BotNetwork', () => {
  const { json } = synth(fleetStack());

  test('an NSG rule explicitly denies all inbound traffic from the Internet, on the bots subnet', () => {
    expect(resources(json, 'azurerm_network_security_rule')).toEqual([
      expect.objectContaining({
        priority: DENY_INTERNET_INBOUND_PRIORITY,
        direction: 'Inbound',
        access: 'Deny',
        protocol: '*',
        source_address_prefix: 'Internet',
        destination_port_range: '*',
        destination_address_prefix: '*',
      }),
    ]);
    const bots = subnetNamed(json, 'snet-bots')!;
    expect(resources(json, 'azurerm_subnet_network_security_group_association')).toEqual([
      expect.objectContaining({ subnet_id: `\${azurerm_subnet.${bots.id}.id}` }),
    ]);
  });

  test('one VNet holds the bots subnet and the runtime subnets, at the documented defaults', () => {
    expect(resources(json, 'azurerm_virtual_network')).toEqual([expect.objectContaining({ address_space: [NETWORK_DEFAULTS.addressSpace] })]);
    expect(subnetNamed(json, 'snet-bots')).toMatchObject({ address_prefixes: [NETWORK_DEFAULTS.subnetPrefix] });
    expect(subnetNamed(json, 'snet-runtime-app')).toMatchObject({ address_prefixes: [NETWORK_DEFAULTS.runtimeSubnetPrefix] });
    expect(subnetNamed(json, 'snet-runtime-database')).toMatchObject({ address_prefixes: [NETWORK_DEFAULTS.databaseSubnetPrefix] });
  });

  test('the subnets not given are laid out from the start of the address space given: bots /22, runtime /26, database /28', () => {
    const other = synth(fleetStack({ environment: { network: { addressSpace: '172.16.8.0/21' } } }));
    expect(resources(other.json, 'azurerm_virtual_network')).toEqual([expect.objectContaining({ address_space: ['172.16.8.0/21'] })]);
    expect(subnetNamed(other.json, 'snet-bots')).toMatchObject({ address_prefixes: ['172.16.8.0/22'] });
    expect(subnetNamed(other.json, 'snet-runtime-app')).toMatchObject({ address_prefixes: ['172.16.12.0/26'] });
    expect(subnetNamed(other.json, 'snet-runtime-database')).toMatchObject({ address_prefixes: ['172.16.12.64/28'] });
    expect(other.annotations).toEqual([]);
  });

  test('a prefix given stays as given; the others still follow the layout', () => {
    const { json: given } = synth(fleetStack({ environment: { network: { addressSpace: '10.20.0.0/16', runtimeSubnetPrefix: '10.20.200.0/26' } } }));
    expect(subnetNamed(given, 'snet-bots')).toMatchObject({ address_prefixes: ['10.20.0.0/22'] });
    expect(subnetNamed(given, 'snet-runtime-app')).toMatchObject({ address_prefixes: ['10.20.200.0/26'] });
    expect(subnetNamed(given, 'snet-runtime-database')).toMatchObject({ address_prefixes: ['10.20.4.64/28'] });
  });

  test('a subnet given outside the address space fails synth, naming the field, the value and the space', () => {
    const stack = fleetStack({ environment: { network: { addressSpace: '10.20.0.0/16', databaseSubnetPrefix: '10.80.4.64/28' } } });
    expect(() => Testing.fullSynth(stack)).toThrow(/fleet\/environment: \[HRB-NET-5\] network\.databaseSubnetPrefix "10\.80\.4\.64\/28" lies outside network\.addressSpace 10\.20\.0\.0\/16/);
  });

  test('with an existing subnet, only the runtime subnets must fit the address space', () => {
    const result = synth(fleetStack({ environment: { network: { subnetId: EXISTING_SUBNET, addressSpace: '10.30.0.0/24', runtimeSubnetPrefix: '10.30.0.0/26', databaseSubnetPrefix: '10.30.0.64/28' } } }));
    expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
  });

  // "Any instances created via Flexible scale sets don't have the default outbound access IP
  // associated with them, so an explicit outbound method is required." (Microsoft Learn,
  // virtual-network/ip-services/default-outbound-access.md)
  test('the bots subnet leaves through a NAT gateway with a Standard static public IP, not default outbound access', () => {
    const bots = subnetNamed(json, 'snet-bots')!;
    expect(bots.default_outbound_access_enabled).toBe(false);
    const [nat] = Object.keys(json.resource.azurerm_nat_gateway);
    expect(json.resource.azurerm_nat_gateway[nat]).toMatchObject({ sku_name: 'Standard' });
    expect(resources(json, 'azurerm_subnet_nat_gateway_association')).toEqual(
      expect.arrayContaining([{ subnet_id: `\${azurerm_subnet.${bots.id}.id}`, nat_gateway_id: `\${azurerm_nat_gateway.${nat}.id}` }]),
    );
    const [ip] = Object.keys(json.resource.azurerm_public_ip);
    expect(json.resource.azurerm_public_ip[ip]).toMatchObject({ sku: 'Standard', allocation_method: 'Static' });
    expect(resources(json, 'azurerm_nat_gateway_public_ip_association')).toEqual([
      { nat_gateway_id: `\${azurerm_nat_gateway.${nat}.id}`, public_ip_address_id: `\${azurerm_public_ip.${ip}.id}` },
    ]);
  });

  test("the NAT gateway's IP is the only public IP, and no bot NIC has one", () => {
    expect(resources(json, 'azurerm_public_ip')).toHaveLength(1);
    const refs = JSON.stringify(json).match(/azurerm_public_ip\.[\w-]+\.id/g) ?? [];
    expect(new Set(refs).size).toBe(1);
    expect(resources(json, 'azurerm_nat_gateway_public_ip_association')).toHaveLength(1);
    for (const vmss of resources(json, 'azurerm_orchestrated_virtual_machine_scale_set')) {
      for (const nic of vmss.network_interface) for (const ip of nic.ip_configuration) expect(ip.public_ip_address).toBeUndefined();
    }
  });

  test('the runtime subnet is delegated to App Service and leaves through the NAT gateway; the Key Vault is reached by its private endpoint, not a service endpoint', () => {
    const runtime = subnetNamed(json, 'snet-runtime-app')!;
    expect(runtime.delegation).toEqual([
      { name: 'app-service', service_delegation: { name: 'Microsoft.Web/serverFarms', actions: ['Microsoft.Network/virtualNetworks/subnets/action'] } },
    ]);
    expect(runtime.service_endpoints).toBeUndefined();
    expect(runtime.default_outbound_access_enabled).toBe(false);
    expect(resources(json, 'azurerm_subnet_nat_gateway_association').map((a) => a.subnet_id)).toContain(`\${azurerm_subnet.${runtime.id}.id}`);
  });

  test('the database subnet is delegated to PostgreSQL flexible servers', () => {
    expect(subnetNamed(json, 'snet-runtime-database')!.delegation).toEqual([
      {
        name: 'postgresql',
        service_delegation: { name: 'Microsoft.DBforPostgreSQL/flexibleServers', actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'] },
      },
    ]);
  });

  test('an existing subnet is used as is for the bots, with the NSG on each bot NIC; the runtime keeps its own subnets', () => {
    const existing = synth(fleetStack({ environment: { network: { subnetId: EXISTING_SUBNET } } })).json;
    expect(subnetNamed(existing, 'snet-bots')).toBeUndefined();
    expect(subnetNamed(existing, 'snet-runtime-app')).toBeDefined();
    // Its outbound is the user's to provide: the NAT gateway serves only the runtime's subnet.
    expect(resources(existing, 'azurerm_subnet_nat_gateway_association')).toHaveLength(1);
    const [vmss] = resources(existing, 'azurerm_orchestrated_virtual_machine_scale_set');
    expect(vmss.network_interface[0].ip_configuration[0].subnet_id).toBe(EXISTING_SUBNET);
    expect(vmss.network_interface[0].network_security_group_id).toMatch(/azurerm_network_security_group/);
  });
});
