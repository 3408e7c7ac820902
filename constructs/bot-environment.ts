/**
 * A bot environment: one geography's licence capacity, its network, its roles, and up to ten
 * bot groups. The runtime reads all of it from the fleet manifest this construct builds.
 */
import { NetworkSecurityGroup } from '@cdktf/provider-azurerm/lib/network-security-group';
import { NetworkSecurityRule } from '@cdktf/provider-azurerm/lib/network-security-rule';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
import { SubnetNetworkSecurityGroupAssociation } from '@cdktf/provider-azurerm/lib/subnet-network-security-group-association';
import { VirtualNetwork } from '@cdktf/provider-azurerm/lib/virtual-network';
import { effectiveCapacity } from './azure-rules';
import { HostedBotGroup, HostedBotGroupProps, IBotGroupHost } from './bot-group';
import { Construct } from './cdktf';
import { FLEET_MANIFEST_VERSION, FleetManifest } from './fleet-manifest';
import { Geography } from './geography';
import { names } from './naming';
import { ResourcePlacement } from './placement';
import { IPolicySubject, PolicyFacts } from './policy';
import { assignRoles } from './role-assignments';
import { resolveScaling, ScalingSettings } from './scaling';

export type BotPlan = 'standard' | 'trial';

export interface BotNetworkProps {
  /**
   * An existing subnet to put the bots in, e.g. one peered with an on-premises network. The
   * environment then creates no VNet; the NSG is attached to each bot's network interface.
   * @default a new VNet and subnet for this environment
   */
  readonly subnetId?: string;
  /** @default '10.80.0.0/16' */
  readonly addressSpace?: string;
  /** @default '10.80.0.0/22' (1,019 addresses: room for 10 groups of 50 bots, twice over) */
  readonly subnetPrefix?: string;
}

/** Principals (Entra object IDs) given each of the three custom roles on the environment's resource group. */
export interface BotRoleProps {
  /** May manage groups and images. @default nobody */
  readonly environmentMakers?: readonly string[];
  /** May manage groups, using images shared with them. @default nobody */
  readonly machineOwners?: readonly string[];
  /** May manage galleries and images only. @default nobody */
  readonly imageAdmins?: readonly string[];
}

export interface BotEnvironmentProps {
  /** Environment name: lowercase letters, digits and hyphens, at most 24. */
  readonly name: string;
  /** The most bots that may run at once across all groups: the licence count. */
  readonly botCapacity: number;
  /** `trial` caps the capacity at 2 bots. @default 'standard' */
  readonly plan?: BotPlan;
  /** When false, groups are hidden, new runs are refused and every bot is scaled to zero. @default true */
  readonly enabled?: boolean;
  /** Scaling settings for every group; groups may override them. @default see DEFAULT_SCALING */
  readonly scaling?: Partial<ScalingSettings>;
  /** @default a new VNet and subnet */
  readonly network?: BotNetworkProps;
  /** @default no role assignments; the three role definitions are created regardless */
  readonly roles?: BotRoleProps;
  /** Principals with admin access to every group in the runtime. @default nobody */
  readonly admins?: readonly string[];
}

/** Where an environment lives; `HostedBotsStack` provides it. */
export interface EnvironmentSite {
  readonly stackName: string;
  readonly geography: Geography;
  readonly region: string;
  readonly placement: ResourcePlacement;
  /** The resource group's name as a plain string, for the manifest. */
  readonly resourceGroupName: string;
  readonly resourceGroupId: string;
  readonly subscriptionId: string;
  readonly runtimeUrl: string;
}

/** The custom roles mirroring the hosted product's, and what each may do. */
const ROLE_ACTIONS: Readonly<Record<'environment maker' | 'machine owner' | 'image admin', readonly string[]>> = {
  'environment maker': [
    'Microsoft.Compute/virtualMachineScaleSets/*',
    'Microsoft.Compute/virtualMachines/*',
    'Microsoft.Compute/galleries/*',
    'Microsoft.Compute/images/*',
    'Microsoft.Compute/disks/read',
    'Microsoft.Compute/snapshots/read',
    'Microsoft.Network/virtualNetworks/read',
    'Microsoft.Network/virtualNetworks/subnets/read',
    'Microsoft.Network/virtualNetworks/subnets/join/action',
    'Microsoft.Network/networkSecurityGroups/read',
    'Microsoft.Network/networkSecurityGroups/join/action',
    'Microsoft.Network/networkInterfaces/*',
    'Microsoft.ManagedIdentity/userAssignedIdentities/read',
    'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
    'Microsoft.Resources/subscriptions/resourceGroups/read',
    'Microsoft.Resources/deployments/*',
  ],
  'machine owner': [
    'Microsoft.Compute/virtualMachineScaleSets/*',
    'Microsoft.Compute/virtualMachines/*',
    'Microsoft.Compute/galleries/read',
    'Microsoft.Compute/galleries/images/read',
    'Microsoft.Compute/galleries/images/versions/read',
    'Microsoft.Network/virtualNetworks/subnets/join/action',
    'Microsoft.Network/networkSecurityGroups/join/action',
    'Microsoft.Network/networkInterfaces/*',
    'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
    'Microsoft.Resources/subscriptions/resourceGroups/read',
  ],
  'image admin': [
    'Microsoft.Compute/galleries/*',
    'Microsoft.Compute/images/*',
    'Microsoft.Compute/disks/read',
    'Microsoft.Compute/snapshots/read',
    'Microsoft.Storage/storageAccounts/read',
    'Microsoft.Resources/subscriptions/resourceGroups/read',
  ],
};

const ROLE_PROP: Readonly<Record<keyof typeof ROLE_ACTIONS, keyof BotRoleProps>> = {
  'environment maker': 'environmentMakers',
  'machine owner': 'machineOwners',
  'image admin': 'imageAdmins',
};

export class BotEnvironment extends Construct implements IBotGroupHost, IPolicySubject {
  readonly name: string;
  readonly geography: Geography;
  readonly region: string;
  readonly plan: BotPlan;
  readonly enabled: boolean;
  /** The capacity as declared; see `effectiveCapacity` for what the plan allows. */
  readonly botCapacity: number;
  readonly placement: ResourcePlacement;
  readonly subscriptionId: string;
  readonly runtimeUrl: string;
  readonly scalingOverrides: Partial<ScalingSettings>;
  readonly resourceGroupName: string;
  readonly subnetId: string;
  readonly networkSecurityGroupId: string;
  readonly networkSecurityGroup: NetworkSecurityGroup;
  readonly virtualNetwork?: VirtualNetwork;
  readonly roleDefinitions: Readonly<Record<keyof typeof ROLE_ACTIONS, RoleDefinition>>;

  private readonly site: EnvironmentSite;
  private readonly admins: readonly string[];
  private readonly groupList: HostedBotGroup[] = [];
  private readonly groupListeners: Array<(group: HostedBotGroup) => void> = [];

  constructor(scope: Construct, id: string, props: BotEnvironmentProps, site: EnvironmentSite) {
    super(scope, id);
    this.site = site;
    this.name = props.name;
    this.geography = site.geography;
    this.region = site.region;
    this.plan = props.plan ?? 'standard';
    this.enabled = props.enabled ?? true;
    this.botCapacity = props.botCapacity;
    this.placement = site.placement;
    this.subscriptionId = site.subscriptionId;
    this.runtimeUrl = site.runtimeUrl;
    this.scalingOverrides = { ...props.scaling };
    this.resourceGroupName = site.resourceGroupName;
    this.admins = [...(props.admins ?? [])];
    const { resourceGroupName, location } = site.placement;

    this.networkSecurityGroup = new NetworkSecurityGroup(this, 'nsg', {
      name: names.networkSecurityGroup(props.name),
      resourceGroupName,
      location,
    });
    // Explicit, even though Azure's default rules already deny it: reviewers and policy scanners
    // look for this rule, and it survives anyone adding allow rules with lower priority numbers.
    new NetworkSecurityRule(this, 'deny-internet-inbound', {
      name: 'deny-all-inbound-from-internet',
      networkSecurityGroupName: this.networkSecurityGroup.name,
      resourceGroupName,
      priority: 100,
      direction: 'Inbound',
      access: 'Deny',
      protocol: '*',
      sourceAddressPrefix: 'Internet',
      sourcePortRange: '*',
      destinationAddressPrefix: '*',
      destinationPortRange: '*',
      description: 'Bots accept no inbound traffic from the Internet: no RDP, no public IPs.',
    });
    this.networkSecurityGroupId = this.networkSecurityGroup.id;

    if (props.network?.subnetId !== undefined) {
      this.subnetId = props.network.subnetId;
    } else {
      const addressSpace = props.network?.addressSpace ?? '10.80.0.0/16';
      this.virtualNetwork = new VirtualNetwork(this, 'vnet', {
        name: names.virtualNetwork(props.name),
        resourceGroupName,
        location,
        addressSpace: [addressSpace],
      });
      const subnet = new Subnet(this, 'subnet', {
        name: names.subnet(),
        resourceGroupName,
        virtualNetworkName: this.virtualNetwork.name,
        addressPrefixes: [props.network?.subnetPrefix ?? '10.80.0.0/22'],
        // Bots reach the runtime and download Node.js over outbound HTTPS. Without public IPs
        // or a NAT gateway (which needs one), Azure's default outbound access provides that.
        defaultOutboundAccessEnabled: true,
      });
      new SubnetNetworkSecurityGroupAssociation(this, 'subnet-nsg', {
        subnetId: subnet.id,
        networkSecurityGroupId: this.networkSecurityGroup.id,
      });
      this.subnetId = subnet.id;
    }

    const roleEntries = (Object.keys(ROLE_ACTIONS) as (keyof typeof ROLE_ACTIONS)[]).map((role) => {
      const key = role.replace(/ /g, '-');
      const definition = new RoleDefinition(this, `role-${key}`, {
        name: names.roleDefinition(role, props.name, site.region),
        scope: site.resourceGroupId,
        assignableScopes: [site.resourceGroupId],
        description: `Hosted RPA bots ${role} for environment ${props.name}.`,
        permissions: [{ actions: [...ROLE_ACTIONS[role]] }],
      });
      assignRoles(this, `role-${key}-assignment`, site.resourceGroupId, (props.roles?.[ROLE_PROP[role]] ?? []).map((principalId) => ({
        principalId,
        roleDefinitionIdOrName: definition.roleDefinitionResourceId,
      })));
      return [role, definition] as const;
    });
    this.roleDefinitions = Object.fromEntries(roleEntries) as Record<keyof typeof ROLE_ACTIONS, RoleDefinition>;
  }

  /** Adds a bot group: a Flexible scale set with no instances, scaled by the runtime. */
  addGroup(id: string, props: HostedBotGroupProps): HostedBotGroup {
    const group = new HostedBotGroup(this, id, props);
    this.groupList.push(group);
    for (const listener of this.groupListeners) listener(group);
    return group;
  }

  /** Calls `listener` for every group, those added so far and those added later. */
  onGroupAdded(listener: (group: HostedBotGroup) => void): void {
    this.groupListeners.push(listener);
    for (const group of this.groupList) listener(group);
  }

  /** The groups, in declaration order. */
  get groups(): readonly HostedBotGroup[] {
    return [...this.groupList];
  }

  /** The capacity the plan allows: the declared capacity, or at most 2 on the trial plan. */
  get effectiveCapacity(): number {
    return effectiveCapacity(this.botCapacity, this.plan);
  }

  /** The fleet manifest, with Terraform tokens for values known only at apply time. */
  manifest(): FleetManifest {
    return {
      version: FLEET_MANIFEST_VERSION,
      stack: this.site.stackName,
      environment: {
        name: this.name,
        geography: this.geography,
        region: this.region,
        botCapacity: this.effectiveCapacity,
        plan: this.plan,
        enabled: this.enabled,
        admins: this.admins,
        scaling: resolveScaling(this.scalingOverrides),
      },
      groups: this.groupList.map((g) => g.manifestEntry()),
    };
  }

  policyFacts(): PolicyFacts {
    return {
      kind: 'environment',
      name: this.name,
      botCapacity: this.botCapacity,
      plan: this.plan,
      groups: this.groupList.map((g) => ({ name: g.name, committedBots: g.committedBots })),
      scaling: { ...this.scalingOverrides },
    };
  }
}
