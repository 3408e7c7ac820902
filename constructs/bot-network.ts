/**
 * An environment's network: a VNet with the bots' subnet, the runtime's App Service integration
 * subnet and its database subnet; an NSG that denies inbound traffic from the Internet; and a NAT
 * gateway, the bots' and the runtime's explicit way out.
 *
 * Why a NAT gateway: "Any instances created via Flexible scale sets don't have the default
 * outbound access IP associated with them, so an explicit outbound method is required."
 * (Microsoft Learn, virtual-network/ip-services/default-outbound-access.md). The bootstrap
 * downloads Node.js and the agent, and Windows activation needs outbound too. The gateway's
 * public IP only carries outbound connections: no bot has a public IP, and the NSG denies inbound.
 */
import { NatGateway } from '@cdktf/provider-azurerm/lib/nat-gateway';
import { NatGatewayPublicIpAssociation } from '@cdktf/provider-azurerm/lib/nat-gateway-public-ip-association';
import { NetworkSecurityGroup } from '@cdktf/provider-azurerm/lib/network-security-group';
import { NetworkSecurityRule } from '@cdktf/provider-azurerm/lib/network-security-rule';
import { PublicIp } from '@cdktf/provider-azurerm/lib/public-ip';
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
import { SubnetNatGatewayAssociation } from '@cdktf/provider-azurerm/lib/subnet-nat-gateway-association';
import { SubnetNetworkSecurityGroupAssociation } from '@cdktf/provider-azurerm/lib/subnet-network-security-group-association';
import { VirtualNetwork } from '@cdktf/provider-azurerm/lib/virtual-network';
import { Construct, Token } from './cdktf';
import { parseIpv4Range, rangeAt, size } from './ipv4-ranges';
import { names } from './naming';
import { ResourcePlacement } from './placement';

export interface BotNetworkProps {
  /**
   * An existing subnet to put the bots in, e.g. one peered with an on-premises network. The NSG is
   * then attached to each bot's network interface, and the subnet must provide outbound itself (a
   * NAT gateway, a firewall): Flexible scale sets get no default outbound access. The runtime
   * keeps its own VNet, and its private DNS zones are linked to the subnet's VNet too.
   * @default a new subnet for the bots in the environment's VNet
   */
  readonly subnetId?: string;
  /** The VNet's address space, IPv4 CIDR; the subnets not given are laid out from its start (see SUBNET_LAYOUT). @default '10.80.0.0/16' */
  readonly addressSpace?: string;
  /** The bots' subnet. @default the first /22 of addressSpace (1,019 addresses: room for 10 groups of 50 bots, twice over), e.g. '10.80.0.0/22' */
  readonly subnetPrefix?: string;
  /** The runtime App Service's integration subnet (Azure recommends a /26). @default the /26 after the bots' /22, e.g. '10.80.4.0/26' */
  readonly runtimeSubnetPrefix?: string;
  /** The runtime database's delegated subnet (at least a /28). @default the /28 after the runtime's /26, e.g. '10.80.4.64/28' */
  readonly databaseSubnetPrefix?: string;
}

export const NETWORK_DEFAULTS = {
  addressSpace: '10.80.0.0/16',
  subnetPrefix: '10.80.0.0/22',
  runtimeSubnetPrefix: '10.80.4.0/26',
  databaseSubnetPrefix: '10.80.4.64/28',
} as const;

/** Which prop sets each subnet's prefix. */
export type SubnetField = 'subnetPrefix' | 'runtimeSubnetPrefix' | 'databaseSubnetPrefix';

/**
 * Where each subnet the library makes sits when its prefix is not given: its offset in addresses
 * from the start of the address space, and its prefix length. Bots first, then the runtime, then
 * its database, packed: they span 1,104 addresses, so the address space must be a /21 or larger.
 */
export const SUBNET_LAYOUT: Readonly<Record<SubnetField, { readonly offset: number; readonly prefixLength: number }>> = {
  subnetPrefix: { offset: 0, prefixLength: 22 },
  runtimeSubnetPrefix: { offset: size(22), prefixLength: 26 },
  databaseSubnetPrefix: { offset: size(22) + size(26), prefixLength: 28 },
};

/** The longest address-space prefix that holds SUBNET_LAYOUT: a /21 (2,048 addresses). */
export const LAYOUT_SPACE_PREFIX_LENGTH = 32 - Math.ceil(Math.log2(Math.max(...Object.values(SUBNET_LAYOUT).map((s) => s.offset + size(s.prefixLength)))));

/** A subnet's prefix and whether it was derived from the address space rather than given. */
export interface SubnetPrefix {
  readonly field: SubnetField;
  readonly prefix: string;
  readonly derived: boolean;
}

/**
 * The subnets' prefixes: those given, else derived from the address space by SUBNET_LAYOUT. An
 * address space that is not IPv4 CIDR leaves the documented defaults in place; the network rule
 * (HRB-NET-5) fails synth on it.
 */
export function subnetPrefixes(props: BotNetworkProps): Record<SubnetField, SubnetPrefix> {
  const space = Token.isUnresolved(props.addressSpace ?? '') ? undefined : parseIpv4Range(props.addressSpace ?? NETWORK_DEFAULTS.addressSpace);
  const one = (field: SubnetField): SubnetPrefix => {
    const given = props[field];
    if (given !== undefined) return { field, prefix: given, derived: false };
    const { offset, prefixLength } = SUBNET_LAYOUT[field];
    return { field, prefix: space ? rangeAt(space, offset, prefixLength) : NETWORK_DEFAULTS[field], derived: true };
  };
  return { subnetPrefix: one('subnetPrefix'), runtimeSubnetPrefix: one('runtimeSubnetPrefix'), databaseSubnetPrefix: one('databaseSubnetPrefix') };
}

/** The NSG rule that denies all inbound traffic from the Internet. */
export const DENY_INTERNET_INBOUND_PRIORITY = 100;

export class BotNetwork extends Construct {
  readonly virtualNetwork: VirtualNetwork;
  readonly networkSecurityGroup: NetworkSecurityGroup;
  readonly natGateway: NatGateway;
  /** The NAT gateway's public IP: the source address of the bots' and the runtime's outbound traffic. */
  readonly outboundIp: PublicIp;
  /** The bots' subnet: the one this network made, or the existing one. */
  readonly botSubnetId: string;
  /** True when the bots use an existing subnet, which must then provide outbound itself. */
  readonly existingSubnet: boolean;
  /** Delegated to App Service (Microsoft.Web/serverFarms): the runtime's VNet integration. */
  readonly runtimeSubnet: Subnet;
  /** Delegated to PostgreSQL flexible servers. */
  readonly databaseSubnet: Subnet;
  /** The VNet's address space as given, or the default. */
  readonly addressSpace: string;
  /** Each subnet's prefix, given or derived from the address space; the bots' is unused with an existing subnet. */
  readonly subnetPrefixes: Readonly<Record<SubnetField, SubnetPrefix>>;

  constructor(scope: Construct, id: string, environment: string, placement: ResourcePlacement, props: BotNetworkProps = {}) {
    super(scope, id);
    const { resourceGroupName, location } = placement;
    this.addressSpace = props.addressSpace ?? NETWORK_DEFAULTS.addressSpace;
    this.subnetPrefixes = subnetPrefixes(props);

    this.networkSecurityGroup = new NetworkSecurityGroup(this, 'nsg', {
      name: names.networkSecurityGroup(environment),
      resourceGroupName,
      location,
    });
    // Explicit, even though Azure's default rules already deny it: reviewers and policy scanners
    // look for this rule, and it survives anyone adding allow rules with lower priority numbers.
    new NetworkSecurityRule(this, 'deny-internet-inbound', {
      name: 'deny-all-inbound-from-internet',
      networkSecurityGroupName: this.networkSecurityGroup.name,
      resourceGroupName,
      priority: DENY_INTERNET_INBOUND_PRIORITY,
      direction: 'Inbound',
      access: 'Deny',
      protocol: '*',
      sourceAddressPrefix: 'Internet',
      sourcePortRange: '*',
      destinationAddressPrefix: '*',
      destinationPortRange: '*',
      description: 'Bots accept no inbound traffic from the Internet: no RDP, no public IPs.',
    });

    this.virtualNetwork = new VirtualNetwork(this, 'vnet', {
      name: names.virtualNetwork(environment),
      resourceGroupName,
      location,
      addressSpace: [this.addressSpace],
    });

    // Outbound only: a Standard, static public IP on a NAT gateway. Nothing routes inbound through it.
    this.outboundIp = new PublicIp(this, 'outbound-ip', {
      name: names.natPublicIp(environment),
      resourceGroupName,
      location,
      sku: 'Standard',
      allocationMethod: 'Static',
    });
    this.natGateway = new NatGateway(this, 'nat-gateway', {
      name: names.natGateway(environment),
      resourceGroupName,
      location,
      skuName: 'Standard',
    });
    new NatGatewayPublicIpAssociation(this, 'nat-gateway-ip', { natGatewayId: this.natGateway.id, publicIpAddressId: this.outboundIp.id });

    const subnet = (sid: string, name: string, prefix: string, extra: Partial<ConstructorParameters<typeof Subnet>[2]> = {}) =>
      new Subnet(this, sid, {
        name,
        resourceGroupName,
        virtualNetworkName: this.virtualNetwork.name,
        addressPrefixes: [prefix],
        // Outbound goes through the NAT gateway, never through Azure's implicit default access.
        defaultOutboundAccessEnabled: false,
        ...extra,
      });

    this.existingSubnet = props.subnetId !== undefined;
    if (props.subnetId !== undefined) {
      this.botSubnetId = props.subnetId;
    } else {
      const bots = subnet('subnet', names.subnet(), this.subnetPrefixes.subnetPrefix.prefix);
      new SubnetNetworkSecurityGroupAssociation(this, 'subnet-nsg', { subnetId: bots.id, networkSecurityGroupId: this.networkSecurityGroup.id });
      new SubnetNatGatewayAssociation(this, 'subnet-nat', { subnetId: bots.id, natGatewayId: this.natGateway.id });
      this.botSubnetId = bots.id;
    }

    // App Service VNet integration: a subnet delegated to Microsoft.Web/serverFarms. The runtime
    // routes all its traffic here (to reach PostgreSQL and the Key Vault's private endpoint), so it
    // leaves through the same NAT gateway.
    this.runtimeSubnet = subnet('runtime-subnet', names.runtimeSubnet(), this.subnetPrefixes.runtimeSubnetPrefix.prefix, {
      delegation: [
        {
          name: 'app-service',
          serviceDelegation: { name: 'Microsoft.Web/serverFarms', actions: ['Microsoft.Network/virtualNetworks/subnets/action'] },
        },
      ],
    });
    new SubnetNatGatewayAssociation(this, 'runtime-subnet-nat', { subnetId: this.runtimeSubnet.id, natGatewayId: this.natGateway.id });
    this.databaseSubnet = subnet('database-subnet', names.databaseSubnet(), this.subnetPrefixes.databaseSubnetPrefix.prefix, {
      delegation: [
        {
          name: 'postgresql',
          serviceDelegation: { name: 'Microsoft.DBforPostgreSQL/flexibleServers', actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'] },
        },
      ],
    });
  }
}
