/**
 * A bot environment: one geography's licence capacity, its network, its roles, and up to ten
 * bot groups. The runtime reads all of it from the fleet manifest this construct builds.
 */
import { NetworkSecurityGroup } from '@cdktf/provider-azurerm/lib/network-security-group';
import { RoleAssignment as AzureRoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { effectiveCapacity, uniqueGroupName } from './azure-rules';
import { BotAuthentication, HostedBotGroup, HostedBotGroupProps, IBotGroupHost } from './bot-group';
import { BotImageSource, GalleryImageSource } from './bot-image';
import { BotMonitoring, BotMonitoringProps } from './bot-monitoring';
import { BotNetwork, BotNetworkProps, LAYOUT_SPACE_PREFIX_LENGTH } from './bot-network';
import { Construct, TerraformStack, Token } from './cdktf';
import { DEFAULT_IDEMPOTENCY_KEY_HOURS, DEFAULT_RUN_RETENTION_DAYS, DEFAULT_TIME_ZONE, FLEET_MANIFEST_VERSION, FleetManifest } from './fleet-manifest';
import { Geography } from './geography';
import { names } from './naming';
import { ResourcePlacement } from './placement';
import { checkAtSynth, formatFinding, IPolicySubject, PolicyFacts } from './policy';
import { resourceGroupOf } from './resource-ids';
import { assignRoles } from './role-assignments';
import { resolveScaling, ScalingSettings } from './scaling';
import { StandbyPoolProvider, standbyPoolRolesOn } from './standby-pool-roles';

export type BotPlan = 'standard' | 'trial';

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
  /** Finished runs and their output are deleted this many days after they end (1 to 3650). @default 30 */
  readonly runRetentionDays?: number;
  /** How long an Idempotency-Key answers retries with the same run, in hours (1 to 8760). @default 24 */
  readonly idempotencyKeyHours?: number;
  /**
   * The IANA time zone the environment's users work in, e.g. 'Europe/Berlin': predictive warm-up
   * forecasts from past days of the same type (weekday or weekend) at the same local time.
   * @default 'UTC'
   */
  readonly timeZone?: string;
  /**
   * Azure Monitor: a Log Analytics workspace and a workspace-based Application Insights (or
   * existing ones, by ID), the runtime's diagnostic settings, and alert rules for runs waiting too
   * long, provisioning errors and an unhealthy runtime. See BotMonitoringProps.
   * @default on, with a new workspace and Application Insights and alerts that notify nobody (synth warns)
   */
  readonly monitoring?: BotMonitoringProps;
  /**
   * The tenant's "Standby Pool Resource Provider" service principal, which creates the VMs of a
   * group's standby pool and needs roles to do it (Microsoft Learn, "Configure role permissions for
   * standby pools"). With a standby pool in any group, it gets Virtual Machine Contributor and
   * Managed Identity Operator on the resource group, Network Contributor on the resource group of
   * the bots' subnet, and, for a group booting a gallery image, Compute Gallery Sharing Admin and
   * Compute Gallery Artifacts Publisher on that gallery, each once however many groups ask. Find
   * its object ID with `az ad sp list --display-name "Standby Pool Resource Provider" --query "[].id" -o tsv`.
   * @default no roles: a group with a standby pool gets a synth warning (HRB-SCALE-2), and its pool never fills until someone assigns them
   */
  readonly standbyPoolProvider?: StandbyPoolProvider;
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
  /** SHA-256 (hex) of the agent.js in the runtime package the stack ships, see agentBundleSha256(). */
  readonly agentSha256: string;
  /** How the environment's bots prove their group to the runtime. */
  readonly botAuth: BotAuthentication;
  /** The Terraform-computed suffix that keeps tenant- and Azure-wide names unique, see naming.ts. */
  readonly nameSuffix: string;
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
  readonly agentSha256: string;
  readonly botAuth: BotAuthentication;
  readonly scalingOverrides: Partial<ScalingSettings>;
  readonly resourceGroupName: string;
  readonly subnetId: string;
  readonly networkSecurityGroupId: string;
  readonly networkSecurityGroup: NetworkSecurityGroup;
  readonly network: BotNetwork;
  readonly roleDefinitions: Readonly<Record<keyof typeof ROLE_ACTIONS, RoleDefinition>>;
  /** Azure Monitor for the environment; absent when `monitoring.enabled` is false. */
  readonly monitoring?: BotMonitoring;
  /** The Standby Pool Resource Provider that groups' standby pools grant roles to, if given. */
  readonly standbyPoolProvider?: StandbyPoolProvider;

  private readonly site: EnvironmentSite;
  private readonly admins: readonly string[];
  private readonly retention: { readonly runRetentionDays: number; readonly idempotencyKeyHours: number };
  /** The IANA time zone of the environment's users. */
  readonly timeZone: string;
  private readonly groupList: HostedBotGroup[] = [];
  private readonly groupListeners: Array<(group: HostedBotGroup) => void> = [];

  constructor(scope: Construct, id: string, props: BotEnvironmentProps, site: EnvironmentSite) {
    super(scope, id);
    checkAtSynth(this);
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
    this.agentSha256 = site.agentSha256;
    this.botAuth = site.botAuth;
    this.scalingOverrides = { ...props.scaling };
    this.resourceGroupName = site.resourceGroupName;
    this.admins = [...(props.admins ?? [])];
    this.retention = {
      runRetentionDays: props.runRetentionDays ?? DEFAULT_RUN_RETENTION_DAYS,
      idempotencyKeyHours: props.idempotencyKeyHours ?? DEFAULT_IDEMPOTENCY_KEY_HOURS,
    };
    this.timeZone = props.timeZone ?? DEFAULT_TIME_ZONE;
    this.standbyPoolProvider = props.standbyPoolProvider ? { ...props.standbyPoolProvider } : undefined;
    this.network = new BotNetwork(this, 'network', props.name, site.placement, props.network);
    this.networkSecurityGroup = this.network.networkSecurityGroup;
    this.networkSecurityGroupId = this.networkSecurityGroup.id;
    this.subnetId = this.network.botSubnetId;

    const roleEntries = (Object.keys(ROLE_ACTIONS) as (keyof typeof ROLE_ACTIONS)[]).map((role) => {
      const key = role.replace(/ /g, '-');
      const definition = new RoleDefinition(this, `role-${key}`, {
        name: names.roleDefinition(role, props.name, site.region, site.nameSuffix),
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
    if (props.monitoring?.enabled !== false) {
      this.monitoring = new BotMonitoring(this, 'monitoring', props.monitoring ?? {}, { environment: props.name, placement: site.placement });
    }
  }

  /**
   * Adds a bot group: a Flexible scale set with no instances, scaled by the runtime. A name another
   * group of this environment has is refused here, before any of its resources is declared.
   */
  addGroup(id: string, props: HostedBotGroupProps): HostedBotGroup {
    const path = `${this.node.path}/${id}`;
    const [taken] = uniqueGroupName({ name: props.name, others: this.groupList.map((g) => ({ name: g.name, path: g.node.path })) });
    if (taken) throw new Error(formatFinding(path, taken));
    const group = new HostedBotGroup(this, id, props);
    this.groupList.push(group);
    for (const listener of this.groupListeners) listener(group);
    return group;
  }

  /**
   * The role assignments that let the Standby Pool Resource Provider fill the standby pool of a
   * group booting `image`, declared the first time a group asks for each scope; undefined without
   * `standbyPoolProvider`. Those on the gallery are declared with the gallery, in its stack, so
   * that geography stacks sharing one gallery assign its roles once.
   */
  standbyPoolRoles(image: BotImageSource): AzureRoleAssignment[] | undefined {
    const provider = this.standbyPoolProvider;
    if (!provider) return undefined;
    const { principalId } = provider;
    const assignments = [
      ...standbyPoolRolesOn(this, 'resourceGroup', this.site.resourceGroupId, principalId),
      ...standbyPoolRolesOn(this, 'network', this.subnetResourceGroupId(), principalId),
    ];
    if (image instanceof GalleryImageSource) {
      const gallery = image.version.image.gallery;
      if (Token.isUnresolved(principalId) && TerraformStack.of(gallery) !== TerraformStack.of(this)) {
        throw new Error(
          `BotEnvironment ${this.name}: standbyPoolProvider.principalId is only known at apply time, but gallery ${gallery.name}, whose roles it needs, is in stack ${TerraformStack.of(gallery).node.id}: give the object ID as a plain string (it is the same for every deploy in the tenant)`,
        );
      }
      assignments.push(...standbyPoolRolesOn(gallery, 'gallery', gallery.id, principalId));
    }
    return assignments;
  }

  /** The resource group of the bots' subnet: the environment's own, or the one in an existing subnet's ID. */
  private subnetResourceGroupId(): string {
    if (!this.network.existingSubnet) return this.site.resourceGroupId;
    const group = resourceGroupOf(this.subnetId);
    if (group === undefined) {
      throw new Error(
        `BotEnvironment ${this.name}: network.subnetId ${JSON.stringify(this.subnetId)} is not a subnet resource ID (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>); standbyPoolProvider gets Network Contributor on its resource group`,
      );
    }
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
        runRetentionDays: this.retention.runRetentionDays,
        idempotencyKeyHours: this.retention.idempotencyKeyHours,
        timeZone: this.timeZone,
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
      existingSubnet: this.network.existingSubnet,
      retention: { ...this.retention },
      timeZone: this.timeZone,
      network: {
        addressSpace: this.network.addressSpace,
        addressSpaceIsToken: Token.isUnresolved(this.network.addressSpace),
        // With an existing subnet the bots' subnet lives in another VNet: only the runtime's are made here.
        subnets: Object.values(this.network.subnetPrefixes).filter((s) => !(this.network.existingSubnet && s.field === 'subnetPrefix')),
        layoutPrefixLength: LAYOUT_SPACE_PREFIX_LENGTH,
      },
    };
  }
}
