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
import { Construct } from './cdktf';
import { names } from './naming';
import { ResourcePlacement } from './placement';

export interface BotNetworkProps {
  /**
   * An existing subnet to put the bots in, e.g. one peered with an on-premises network. The NSG is
   * then attached to each bot's network interface, and the subnet must provide outbound itself (a
   * NAT gateway, a firewall): Flexible scale sets get no default outbound access. The runtime
   * keeps its own VNet.
   * @default a new subnet for the bots in the environment's VNet
   */
  readonly subnetId?: string;
  /** @default '10.80.0.0/16' */
  readonly addressSpace?: string;
  /** The bots' subnet. @default '10.80.0.0/22' (1,019 addresses: room for 10 groups of 50 bots, twice over) */
  readonly subnetPrefix?: string;
  /** The runtime App Service's integration subnet (Azure recommends a /26). @default '10.80.4.0/26' */
  readonly runtimeSubnetPrefix?: string;
  /** The runtime database's delegated subnet (at least a /28). @default '10.80.4.64/28' */
  readonly databaseSubnetPrefix?: string;
}

export const NETWORK_DEFAULTS = {
  addressSpace: '10.80.0.0/16',
  subnetPrefix: '10.80.0.0/22',
  runtimeSubnetPrefix: '10.80.4.0/26',
  databaseSubnetPrefix: '10.80.4.64/28',
} as const;

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
  /** Delegated to App Service (Microsoft.Web/serverFarms), with a Key Vault service endpoint. */
  readonly runtimeSubnet: Subnet;
  /** Delegated to PostgreSQL flexible servers. */
  readonly databaseSubnet: Subnet;

  constructor(scope: Construct, id: string, environment: string, placement: ResourcePlacement, props: BotNetworkProps = {}) {
    super(scope, id);
    const { resourceGroupName, location } = placement;

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
      addressSpace: [props.addressSpace ?? NETWORK_DEFAULTS.addressSpace],
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
      const bots = subnet('subnet', names.subnet(), props.subnetPrefix ?? NETWORK_DEFAULTS.subnetPrefix);
      new SubnetNetworkSecurityGroupAssociation(this, 'subnet-nsg', { subnetId: bots.id, networkSecurityGroupId: this.networkSecurityGroup.id });
      new SubnetNatGatewayAssociation(this, 'subnet-nat', { subnetId: bots.id, natGatewayId: this.natGateway.id });
      this.botSubnetId = bots.id;
    }

    // App Service VNet integration: a subnet delegated to Microsoft.Web/serverFarms. The runtime
    // routes all its traffic here (to reach PostgreSQL and Key Vault privately), so it leaves
    // through the same NAT gateway, with the Key Vault service endpoint for the vault's firewall.
    this.runtimeSubnet = subnet('runtime-subnet', names.runtimeSubnet(), props.runtimeSubnetPrefix ?? NETWORK_DEFAULTS.runtimeSubnetPrefix, {
      serviceEndpoints: ['Microsoft.KeyVault'],
      delegation: [
        {
          name: 'app-service',
          serviceDelegation: { name: 'Microsoft.Web/serverFarms', actions: ['Microsoft.Network/virtualNetworks/subnets/action'] },
        },
      ],
    });
    new SubnetNatGatewayAssociation(this, 'runtime-subnet-nat', { subnetId: this.runtimeSubnet.id, natGatewayId: this.natGateway.id });
    this.databaseSubnet = subnet('database-subnet', names.databaseSubnet(), props.databaseSubnetPrefix ?? NETWORK_DEFAULTS.databaseSubnetPrefix, {
      delegation: [
        {
          name: 'postgresql',
          serviceDelegation: { name: 'Microsoft.DBforPostgreSQL/flexibleServers', actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'] },
        },
      ],
    });
  }
}
