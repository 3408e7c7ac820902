/**
 * A bot group: a pool of Windows bots in one Flexible scale set that the runtime scales between
 * zero and `maxBots`. The scale set is declared with no instances; the runtime owns the count.
 */
import { OrchestratedVirtualMachineScaleSet } from '@cdktf/provider-azurerm/lib/orchestrated-virtual-machine-scale-set';
import { RoleAssignment as AzureRoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { VirtualMachineScaleSetStandbyPool } from '@cdktf/provider-azurerm/lib/virtual-machine-scale-set-standby-pool';
import { Id } from '@cdktf/provider-random/lib/id';
import { Password } from '@cdktf/provider-random/lib/password';
import { DEFAULTS } from '../runtime/config/fleet-schema';
import { bootstrapCommand } from './agent-bootstrap';

/** How a group's bots prove their group to the runtime: a managed identity's token for the runtime's audience, or a shared token. */
export type BotAuthentication = { readonly kind: 'managed-identity'; readonly audience: string } | { readonly kind: 'token' };
import { BotImageSource, GalleryImageSource, MarketplaceImageSource } from './bot-image';
import { conditional, Construct, Fn, IConstruct, Op, TerraformStack, Token } from './cdktf';
import { DEFAULT_QUEUE_SETTINGS, ManifestGroup, ManifestImage, ManifestWebhook, QueueSettings } from './fleet-manifest';
import { webhookSchema } from '../runtime/config/fleet-schema';
import type { WebhookEventType, WebhookFormat } from '../runtime/domain/webhook';
import { BANNED_ADMIN_PASSWORDS, LIMITS } from './azure-rules';
import { Geography } from './geography';
import { names } from './naming';
import { ResourcePlacement } from './placement';
import { markRoutineReplacement } from './routine-replacement';
import { checkAtSynth, IPolicySubject, PolicyFacts } from './policy';
import { resolveScaling, ScalingSettings } from './scaling';
import { Tags } from './tags';
import { expressionString, expressionValue, templateString } from './terraform-expressions';

/** A flow that runs may start: the command the agent runs, with the run's inputs as JSON. */
export interface FlowDefinition {
  /** The command line run on the bot. The run's inputs arrive as JSON in `HOSTED_BOTS_INPUTS`. */
  readonly command: string;
  /** A run that takes longer ends `failed` with `run_timeout`. 1 to 1440. @default 180 (3 hours) */
  readonly timeoutMinutes?: number;
  /** @default no description */
  readonly description?: string;
}

export const DEFAULT_FLOW_TIMEOUT_MINUTES = DEFAULTS.flowTimeoutMinutes;

/**
 * The scale set model's admin password, which Terraform leaves as first deployed: a list block of
 * one (`os_profile`, `windows_configuration`) indexed as Terraform's `ignore_changes` takes it.
 */
export const ADMIN_PASSWORD_PATH = 'os_profile[0].windows_configuration[0].admin_password';

/** Who may use a group, by principal (a static token's name or an Entra object ID). */
export interface GroupAccess {
  /** May start runs and see them. @default nobody but co-owners and environment admins */
  readonly users?: readonly string[];
  /** May also cancel, re-prioritise, move runs to the top, and pause or resume the group. @default nobody */
  readonly coOwners?: readonly string[];
}

export interface HostedBotGroupProps {
  /** Group name: lowercase letters, digits and hyphens. It names the scale set and appears in API paths. */
  readonly name: string;
  /** @default no description */
  readonly description?: string;
  /** The most bots of this group at once, 1 to 50. */
  readonly maxBots: number;
  /** Bots reserved for this group out of the environment's capacity. @default 0 */
  readonly committedBots?: number;
  /** @default BotImageSource.windowsDesktop() */
  readonly image?: BotImageSource;
  /** @default 'Standard_D2s_v5' */
  readonly vmSize?: string;
  /** Local admin account. Only local accounts are supported. */
  readonly adminUsername: string;
  /** Local admin password, ideally a sensitive Terraform variable (then checked by Azure at deploy). */
  readonly adminPassword: string;
  /** The flows runs may start, by name. @default no flows: the group accepts no runs */
  readonly flows?: Readonly<Record<string, FlowDefinition>>;
  /** @default nobody but environment admins */
  readonly access?: GroupAccess;
  /** Overrides of the environment's scaling settings. @default the environment's settings */
  readonly scaling?: Partial<ScalingSettings>;
  /** Each user's share of the queue and who may use high priority. @default { maxQueuedPerUser: 100, highPriority: 'co-owners' } */
  readonly queue?: Partial<QueueSettings>;
  /**
   * Where the group's events go: runs that succeeded, failed, timed out or were cancelled,
   * provisioning errors, a queue waiting too long. Each subscription's signing secret is kept in
   * the runtime's Key Vault under `secretName`, never in the stack (README, Notifications).
   * @default none
   */
  readonly webhooks?: readonly GroupWebhook[];
  /** Windows computer-name prefix, 1-9 characters. @default the first 9 letters, digits or hyphens of the name */
  readonly computerNamePrefix?: string;
  /**
   * Windows licence type of the bots. Windows 11 on Azure needs `Windows_Client` (multitenant
   * hosting rights); set `None` for images that carry their own licence.
   * @default 'Windows_Client'
   */
  readonly licenseType?: 'Windows_Client' | 'None';
  /** @default the stack's tags only */
  readonly tags?: Tags;
}

/** A webhook subscription declared with the group. */
export interface GroupWebhook {
  /** The https URL that receives the events (plain http only to hosts an environment admin allows). */
  readonly url: string;
  /** Among run.succeeded, run.failed, run.timed_out, run.cancelled, group.provisioning_error, queue.wait_exceeded. */
  readonly events: readonly WebhookEventType[];
  /** Plain JSON, or an Adaptive Card for a Teams Workflows webhook. @default 'json' */
  readonly format?: WebhookFormat;
  /** For queue.wait_exceeded: the minutes the oldest queued run may wait. @default none (required with that event) */
  readonly waitAboveMinutes?: number;
  /** The runtime Key Vault secret holding the signing secret; the runtime creates it when missing. @default webhook-<group>-<12 hex digits of the URL's hash> */
  readonly secretName?: string;
}

/** What a group needs from its environment. `BotEnvironment` provides it. */
export interface IBotGroupHost extends IConstruct {
  readonly name: string;
  readonly geography: Geography;
  readonly region: string;
  readonly placement: ResourcePlacement;
  /** The resource group's name as a plain string, for the manifest. */
  readonly resourceGroupName: string;
  readonly subscriptionId: string;
  readonly subnetId: string;
  readonly networkSecurityGroupId: string;
  readonly runtimeUrl: string;
  /** How bots prove their group to the runtime. */
  readonly botAuth: BotAuthentication;
  /** SHA-256 (hex) of the agent the runtime serves; the bootstrap refuses any other. */
  readonly agentSha256: string;
  readonly scalingOverrides: Partial<ScalingSettings>;
  /** The most bots the environment may run at once, as declared, and its plan. */
  readonly botCapacity: number;
  readonly plan: 'standard' | 'trial';
  /**
   * The role assignments the Standby Pool Resource Provider needs to fill a standby pool of a
   * group booting `image`, declared once for every group that asks; undefined when the host
   * declares none (then HRB-SCALE-2 warns).
   */
  standbyPoolRoles(image: BotImageSource): readonly AzureRoleAssignment[] | undefined;
}

export class HostedBotGroup extends Construct implements IPolicySubject {
  readonly name: string;
  readonly description: string;
  readonly maxBots: number;
  readonly committedBots: number;
  readonly image: BotImageSource;
  readonly vmSize: string;
  readonly scaleSetName: string;
  readonly computerNamePrefix: string;
  /** The local admin password as given: a sensitive Terraform value, or a literal. */
  readonly adminPassword: string;
  readonly scaling: ScalingSettings;
  /** The group's webhook subscriptions, checked against the manifest's contract. */
  readonly webhooks: readonly ManifestWebhook[];
  readonly scaleSet: OrchestratedVirtualMachineScaleSet;
  readonly identity: UserAssignedIdentity;
  /**
   * The group's shared bot token, generated at apply time, when the group's bots prove their group
   * with one (runtime without Entra ID); it only ever reaches the VMs' protected settings.
   */
  readonly botToken?: Password;
  readonly standbyPool?: VirtualMachineScaleSetStandbyPool;
  /**
   * The Standby Pool Resource Provider's role assignments the standby pool needs, shared with the
   * environment's other pools; absent without a pool or without the environment's standbyPoolProvider.
   */
  readonly standbyPoolRoles?: readonly AzureRoleAssignment[];
  /**
   * Changes whenever the admin password changes (a random value kept by the password's SHA-256),
   * so that the runtime replaces idle bots that still have the old one; it tells nothing about
   * the password itself.
   */
  readonly credentialVersion: Id;

  private readonly host: IBotGroupHost;
  private readonly props: HostedBotGroupProps;

  constructor(host: IBotGroupHost, id: string, props: HostedBotGroupProps) {
    super(host, id);
    checkAtSynth(this);
    this.host = host;
    this.props = props;
    this.name = props.name;
    this.description = props.description ?? '';
    this.maxBots = props.maxBots;
    this.committedBots = props.committedBots ?? 0;
    this.image = props.image ?? BotImageSource.windowsDesktop();
    this.vmSize = props.vmSize ?? 'Standard_D2s_v5';
    this.scaleSetName = names.scaleSet(host.name, props.name);
    this.computerNamePrefix = props.computerNamePrefix ?? names.computerNamePrefix(props.name);
    this.adminPassword = props.adminPassword;
    this.scaling = resolveScaling(host.scalingOverrides, props.scaling);
    this.webhooks = checkWebhooks(props.name, props.webhooks ?? []);
    const { resourceGroupName, location } = host.placement;
    const tags = props.tags ? { ...props.tags } : undefined;

    this.identity = new UserAssignedIdentity(this, 'identity', {
      name: names.botIdentity(host.name, props.name),
      resourceGroupName,
      location,
      tags,
    });

    // Managed identity: no shared secret at all. A token only where the runtime has no Entra ID.
    if (host.botAuth.kind === 'token') this.botToken = new Password(this, 'bot-token', { length: 48, special: false });

    const command = bootstrapCommand({
      runtimeUrl: host.runtimeUrl,
      agentSha256: host.agentSha256,
      group: props.name,
      ...(this.botToken
        ? { auth: 'token' as const, botToken: this.botToken.result }
        : { auth: 'managed-identity' as const, clientId: this.identity.clientId, audience: (host.botAuth as { audience: string }).audience }),
      adminUsername: props.adminUsername,
      adminPassword: props.adminPassword,
    });

    // Rotating the admin password is an ordinary change. The scale set's own `admin_password` is
    // ForceNew (internal/services/compute/orchestrated_virtual_machine_scale_set.go, the Windows
    // configuration schema), so a new value would replace the scale set and delete running bots:
    // the model keeps the first one (ignore_changes), and the bootstrap, whose protected settings
    // carry the current password and are updated in place (the `extension` change in the
    // resource's Update), sets the account's password on every new bot. Idle bots with the old
    // password are replaced through the credential version; busy ones finish their runs first.
    const password = expressionString(props.adminPassword);
    this.credentialVersion = new Id(this, 'admin-password-version', {
      byteLength: 6,
      keepers: { admin_password_sha256: Fn.sha256(password) },
      // Azure checks the password only when a scale set is created; a rotated one reaches the bots
      // through the bootstrap. Terraform checks Azure's rules (HRB-ADMIN-3) at plan instead, also
      // for a sensitive variable, which synth cannot see.
      lifecycle: {
        precondition: [{ condition: adminPasswordCondition(password), errorMessage: `Bot group "${props.name}": adminPassword ${ADMIN_PASSWORD_RULE}.` }],
      },
    });
    // A new password replaces it on purpose: hosted-bots plan and diff report that as routine.
    markRoutineReplacement(this.credentialVersion, 'admin-password-version');

    this.scaleSet = new OrchestratedVirtualMachineScaleSet(this, 'scale-set', {
      name: this.scaleSetName,
      resourceGroupName,
      location,
      platformFaultDomainCount: 1,
      skuName: this.vmSize,
      instances: 0,
      lifecycle: { ignoreChanges: ['instances', ADMIN_PASSWORD_PATH] },
      licenseType: props.licenseType ?? 'Windows_Client',
      osProfile: {
        windowsConfiguration: {
          adminUsername: templateString(props.adminUsername),
          adminPassword: templateString(props.adminPassword),
          computerNamePrefix: this.computerNamePrefix,
          provisionVmAgent: true,
          enableAutomaticUpdates: true,
        },
      },
      ...imageArguments(this.image),
      osDisk: { caching: 'ReadWrite', storageAccountType: 'StandardSSD_LRS' },
      networkInterface: [
        {
          name: 'nic-bot',
          primary: true,
          networkSecurityGroupId: host.networkSecurityGroupId,
          ipConfiguration: [{ name: 'ipconfig-bot', primary: true, subnetId: host.subnetId }],
        },
      ],
      identity: { type: 'UserAssigned', identityIds: [this.identity.id] },
      bootDiagnostics: {},
      extension: [
        {
          name: 'hosted-bots-bootstrap',
          publisher: 'Microsoft.Compute',
          type: 'CustomScriptExtension',
          typeHandlerVersion: '1.10',
          autoUpgradeMinorVersionEnabled: true,
          protectedSettings: Fn.jsonencode(expressionValue({ commandToExecute: command })),
        },
      ],
      tags,
    });

    const pool = this.scaling.standbyPool;
    if (pool) {
      this.standbyPoolRoles = host.standbyPoolRoles(this.image);
      // The pool starts filling as soon as it exists, so it waits for its roles. Roles on a gallery
      // in another stack cannot be waited on by name; that stack is applied first anyway, since the
      // scale set references its image version.
      const stack = TerraformStack.of(this);
      const dependsOn = this.standbyPoolRoles?.filter((r) => TerraformStack.of(r) === stack);
      this.standbyPool = new VirtualMachineScaleSetStandbyPool(this, 'standby-pool', {
        dependsOn: dependsOn?.length ? dependsOn : undefined,
        name: names.standbyPool(host.name, props.name),
        resourceGroupName,
        location,
        attachedVirtualMachineScaleSetId: this.scaleSet.id,
        virtualMachineState: pool.vmState ?? DEFAULTS.standbyPool.vmState,
        elasticityProfile: { maxReadyCapacity: pool.maxReadyCapacity, minReadyCapacity: pool.minReadyCapacity ?? DEFAULTS.standbyPool.minReadyCapacity },
        tags,
      });
    }
  }

  /** The scale set's resource ID, for role assignments scoped to this group. */
  get scaleSetId(): string {
    return this.scaleSet.id;
  }

  /** This group's entry in the fleet manifest. */
  manifestEntry(): ManifestGroup {
    const flows = Object.fromEntries(
      Object.entries(this.props.flows ?? {}).map(([name, flow]) => [
        name,
        {
          command: flow.command,
          timeoutMinutes: flow.timeoutMinutes ?? DEFAULT_FLOW_TIMEOUT_MINUTES,
          ...(flow.description ? { description: flow.description } : {}),
        },
      ]),
    );
    return {
      name: this.name,
      description: this.description,
      maxBots: this.maxBots,
      committedBots: this.committedBots,
      vmss: {
        subscriptionId: this.host.subscriptionId,
        resourceGroup: this.host.resourceGroupName,
        name: this.scaleSetName,
      },
      vmSize: this.vmSize,
      computerNamePrefix: this.computerNamePrefix,
      image: manifestImage(this.image),
      flows,
      access: { users: [...(this.props.access?.users ?? [])], coOwners: [...(this.props.access?.coOwners ?? [])] },
      queue: { ...DEFAULT_QUEUE_SETTINGS, ...definedOnly(this.props.queue) },
      scaling: this.scaling,
      credentialVersion: this.credentialVersion.hex,
      webhooks: this.webhooks,
      ...(this.botToken
        ? { botAuth: { kind: 'token' as const }, botTokenSha256: Fn.sha256(this.botToken.result) }
        : { botAuth: { kind: 'managed-identity' as const, principalId: this.identity.principalId, resourceId: this.identity.id, clientId: this.identity.clientId } }),
    };
  }

  policyFacts(): PolicyFacts {
    const props = this.props;
    const image = this.image;
    return {
      kind: 'group',
      name: this.name,
      scaleSetName: this.scaleSetName,
      computerNamePrefix: this.computerNamePrefix,
      computerNamePrefixDerived: props.computerNamePrefix === undefined,
      adminUsername: props.adminUsername,
      adminUsernameIsToken: Token.isUnresolved(props.adminUsername),
      adminPassword: props.adminPassword,
      adminPasswordIsToken: Token.isUnresolved(props.adminPassword),
      maxBots: this.maxBots,
      committedBots: this.committedBots,
      flows: Object.entries(props.flows ?? {}).map(([name, f]) => ({
        name,
        command: f.command,
        timeoutMinutes: f.timeoutMinutes ?? DEFAULT_FLOW_TIMEOUT_MINUTES,
      })),
      scaling: { ...props.scaling },
      queue: { ...props.queue },
      replica:
        image instanceof GalleryImageSource
          ? {
              version: image.version.label,
              replicaRegions: image.version.regions,
              replicaGeographies: image.version.geographies,
              groupRegion: this.host.region,
            }
          : undefined,
      standbyPoolName: this.standbyPool ? names.standbyPool(this.host.name, this.name) : undefined,
      standbyPoolRoles: this.standbyPool ? { declared: this.standbyPoolRoles !== undefined, galleryImage: image instanceof GalleryImageSource } : undefined,
      environmentCapacity: { botCapacity: this.host.botCapacity, plan: this.host.plan },
    };
  }
}

/** Azure's rules for a Windows VM's admin password, as HRB-ADMIN-3 checks them at synth. */
export const ADMIN_PASSWORD_RULE =
  `must be ${LIMITS.adminPasswordMin}-${LIMITS.adminPasswordMax} characters with 3 of: a lower-case letter, an upper-case letter, a digit, a special character, and not one of Azure's banned passwords (Azure Windows VM password rules)`;

/** The same rules as a Terraform condition over the password expression. */
export function adminPasswordCondition(password: string): string {
  // Each class the password has becomes a non-empty list element. A bare `a ? 1 : 0 + b ? 1 : 0`
  // would parse as `a ? 1 : (0 + b) ? 1 : 0`: list elements need no parentheses.
  const has = (pattern: string) => Token.asString(conditional(Fn.can(Fn.regex(pattern, password)), pattern, ''));
  const classes = Fn.lengthOf(Fn.compact([has('[a-z]'), has('[A-Z]'), has('[0-9]'), has('[^a-zA-Z0-9]')]));
  const length = Fn.lengthOf(password);
  return Token.asString(
    Op.and(
      Op.and(Op.gte(length, LIMITS.adminPasswordMin), Op.lte(length, LIMITS.adminPasswordMax)),
      Op.and(Op.gte(classes, 3), Op.not(Fn.contains([...BANNED_ADMIN_PASSWORDS], password))),
    ),
  );
}

function imageArguments(image: BotImageSource) {
  if (image instanceof GalleryImageSource) return { sourceImageId: image.version.id };
  if (image instanceof MarketplaceImageSource) return { sourceImageReference: image.image };
  throw new Error(`unknown image source kind ${image.kind}`);
}

function manifestImage(image: BotImageSource): ManifestImage {
  if (image instanceof GalleryImageSource) {
    const v = image.version;
    return { kind: 'gallery', gallery: v.image.gallery.name, image: v.image.name, version: v.version, id: v.id };
  }
  if (image instanceof MarketplaceImageSource) return { kind: 'marketplace', ...image.image };
  throw new Error(`unknown image source kind ${image.kind}`);
}

/** The fields of a partial settings object that are set. */
function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The group's webhooks as the manifest's contract reads them; a bad one fails at once, naming the group, the field and the rule. */
function checkWebhooks(group: string, webhooks: readonly GroupWebhook[]): ManifestWebhook[] {
  const seen = new Set<string>();
  return webhooks.map((w, i) => {
    // A URL from a Terraform variable is known at apply time only; the runtime checks it then.
    const token = Token.isUnresolved(w.url);
    const parsed = webhookSchema.safeParse(token ? { ...w, url: 'https://apply-time.invalid/' } : w);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`HostedBotGroup ${group}: webhooks[${i}].${issue.path.join('.') || 'url'}: ${issue.message}`);
    }
    if (seen.has(w.url)) throw new Error(`HostedBotGroup ${group}: webhooks[${i}].url: ${w.url} is declared twice; give each URL one subscription with all its events`);
    seen.add(w.url);
    return token ? { ...parsed.data, url: w.url } : parsed.data;
  });
}
