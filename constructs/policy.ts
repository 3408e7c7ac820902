/**
 * The rule pack: runs the rules of `azure-rules.ts` that apply to a construct and reports every
 * finding through Annotations. Error annotations make `cdktf synth` fail; warnings are printed and
 * synth goes on; findings of a suppressed rule are recorded with their reason instead.
 *
 * Each construct of the library checks itself (`checkAtSynth`), wherever it is placed. The stacks'
 * `AzureRulesAspect` checks the provider resources the pack knows wherever they appear, the
 * user's own included.
 */
import { LinuxWebApp } from '@cdktf/provider-azurerm/lib/linux-web-app';
import * as rules from './azure-rules';
import { Aspects, IAspect, IConstruct } from './cdktf';
import { recordSuppressed, RuleSuppressions } from './rule-suppressions';

export type PolicyFacts =
  | { readonly kind: 'gallery'; readonly name: string }
  | { readonly kind: 'image'; readonly name: string }
  | ({ readonly kind: 'imageVersion'; readonly version: string } & rules.VersionReplicationFacts & rules.ImageSourceFacts)
  | ({
      readonly kind: 'environment';
      readonly name: string;
      readonly scaling: Readonly<Record<string, unknown>>;
      /** The bots use an existing subnet, which must bring its own outbound. */
      readonly existingSubnet: boolean;
      readonly retention: rules.RetentionFacts;
      /** The environment's time zone, as declared or defaulted. */
      readonly timeZone: string;
      /** The VNet's address space and the subnets the library makes in it. */
      readonly network: rules.NetworkLayoutFacts;
    } & rules.EnvironmentCapacityFacts)
  | ({
      readonly kind: 'runtime';
      /** The user's prefix for global names, if any. */
      readonly globalNamePrefix?: string;
      readonly planSku: string;
      readonly botAuthentication: 'managed-identity' | 'token';
      /** Whether runtime.botAuthentication was given, rather than defaulted. */
      readonly chosen: boolean;
      /** Whether the runtime verifies Entra ID tokens (runtime.entra). */
      readonly entra: boolean;
      /** The Node.js of the App Service stack and of the bots. */
      readonly nodeVersions: Readonly<Record<string, string>>;
      /** Evaluated against Node.js end-of-life dates; set by the Aspect to the day of synth. */
      readonly today?: Date;
    } & rules.RuntimeNetworkFacts &
      rules.GlobalNameFacts)
  | ({ readonly kind: 'webApp' } & rules.WebAppPackageFacts)
  | ({
      readonly kind: 'monitoring';
      readonly retention: rules.MonitoringRetentionFacts;
      /** Existing resources given by ID or connection string. */
      readonly existing: rules.ExistingMonitoringFacts;
      /** Absent when alerts are off. */
      readonly alerts?: {
        readonly receivers: rules.AlertReceiverFacts;
        /** How many existing action groups were given. */
        readonly actionGroupIds: number;
        readonly settings: rules.AlertSettingsFacts;
      };
    } & rules.MonitoringNameFacts &
      rules.DiagnosticFacts)
  | {
      readonly kind: 'group';
      readonly name: string;
      readonly scaleSetName: string;
      readonly computerNamePrefix: string;
      readonly computerNamePrefixDerived: boolean;
      readonly adminUsername: string;
      readonly adminUsernameIsToken: boolean;
      readonly adminPassword: string;
      readonly adminPasswordIsToken: boolean;
      readonly maxBots: number;
      readonly committedBots: number;
      readonly flows: readonly rules.FlowFacts[];
      readonly scaling: Readonly<Record<string, unknown>>;
      readonly queue: Readonly<Record<string, unknown>>;
      /** Present when the group uses a gallery image version. */
      readonly replica?: rules.ReplicaFacts;
      /** Present when the group has a standby pool. */
      readonly standbyPoolName?: string;
      /** Present when the group has a standby pool: whether its provider's roles are declared. */
      readonly standbyPoolRoles?: Omit<rules.StandbyPoolRoleFacts, 'group'>;
      /** What the group's environment may run at once. */
      readonly environmentCapacity: Omit<rules.GroupCapacityFacts, 'maxBots'>;
    };

/** A construct that the rule pack checks. */
export interface IPolicySubject {
  policyFacts(): PolicyFacts;
}

function isPolicySubject(node: IConstruct): node is IConstruct & IPolicySubject {
  return typeof (node as Partial<IPolicySubject>).policyFacts === 'function';
}

type FactsOf<K extends PolicyFacts['kind']> = Extract<PolicyFacts, { kind: K }>;

/** Which rules apply to which kind of construct. */
const RULES: { readonly [K in PolicyFacts['kind']]: ReadonlyArray<(facts: FactsOf<K>) => rules.Finding[]> } = {
  gallery: [rules.galleryName],
  image: [rules.imageDefinitionName],
  imageVersion: [rules.imageVersion, rules.versionReplication, rules.trustedLaunchSource],
  environment: [
    rules.environmentName,
    rules.botCapacity,
    rules.groupCount,
    rules.committedCapacity,
    (f) => rules.scalingSettings({ scaling: f.scaling, prefix: 'scaling.' }),
    rules.existingSubnetOutbound,
    (f) => rules.retentionSettings(f.retention),
    (f) => rules.timeZoneSetting({ timeZone: f.timeZone }),
    (f) => rules.networkLayout(f.network),
  ],
  runtime: [
    (f) => rules.globalNamePrefix({ prefix: f.globalNamePrefix }),
    rules.globalNames,
    rules.runtimeExposure,
    rules.vaultAccess,
    rules.runtimePlan,
    rules.botAuthentication,
    (f) => Object.entries(f.nodeVersions).flatMap(([field, version]) => rules.nodeSupport({ field, version, today: f.today ?? new Date() })),
  ],
  webApp: [rules.packageDelivery],
  monitoring: [
    (f) => rules.monitoringRetention(f.retention),
    rules.monitoringNames,
    (f) => rules.existingMonitoring(f.existing),
    rules.diagnosticCategories,
    (f) => (f.alerts ? rules.alertReceivers(f.alerts.receivers) : []),
    (f) => (f.alerts ? rules.webhookTransport(f.alerts.receivers) : []),
    (f) => (f.alerts ? rules.alertSettings(f.alerts.settings) : []),
    (f) => (f.alerts ? rules.alertRecipients({ receivers: f.alerts.receivers.emails.length + f.alerts.receivers.webhookUrls.length, actionGroupIds: f.alerts.actionGroupIds }) : []),
  ],
  group: [
    rules.groupName,
    (f) => rules.scaleSetName({ name: f.scaleSetName }),
    (f) => rules.computerNamePrefix({ prefix: f.computerNamePrefix, derived: f.computerNamePrefixDerived }),
    (f) => rules.adminUsername({ username: f.adminUsername, isToken: f.adminUsernameIsToken }),
    (f) => rules.adminPassword({ password: f.adminPassword, isToken: f.adminPasswordIsToken }),
    rules.groupSize,
    rules.flowCatalogue,
    rules.reservedFlowName,
    (f) => rules.scalingSettings({ scaling: f.scaling, maxBots: f.maxBots, prefix: 'scaling.' }),
    (f) => rules.queueSettings({ queue: f.queue }),
    (f) => (f.replica ? rules.imageReplica(f.replica) : []),
    (f) => (f.standbyPoolName !== undefined ? rules.standbyPoolName({ name: f.standbyPoolName }) : []),
    (f) => (f.standbyPoolRoles ? rules.standbyPoolRoles({ group: f.name, ...f.standbyPoolRoles }) : []),
    (f) => rules.maxBotsWithinCapacity({ maxBots: f.maxBots, ...f.environmentCapacity }),
  ],
};

/** Runs every rule that applies to the facts. Pure: the Aspect and the tests share it. */
export function evaluate(facts: PolicyFacts): rules.Finding[] {
  const applicable = RULES[facts.kind] as ReadonlyArray<(f: PolicyFacts) => rules.Finding[]>;
  return applicable.flatMap((rule) => rule(facts));
}

/** The message a user sees: where, which rule ID, which field, which value, and the rule. */
export function formatFinding(path: string, finding: rules.Finding): string {
  return `${path}: [${finding.id}] ${finding.field} ${finding.value} ${finding.rule}`;
}

/** What a suppressed finding leaves in the synth output instead. */
export function formatSuppressed(path: string, id: rules.RuleId, reason: string): string {
  return `${path}: [${id}] suppressed: ${reason}`;
}

const ANNOTATION_TYPE = { error: '@cdktf/error', warning: '@cdktf/warn', info: '@cdktf/info' } as const;

/**
 * Adds an annotation unless the node has it already: synth may run the checks more than once.
 * What `Annotations` adds, without the stack trace: the message names the construct by path, and
 * a trace into the Aspect would only add noise, in any stack.
 */
function annotateOnce(node: IConstruct, level: keyof typeof ANNOTATION_TYPE, message: string): void {
  const type = ANNOTATION_TYPE[level];
  if (node.node.metadata.some((m) => m.type === type && m.data === message)) return;
  node.node.addMetadata(type, message, { stackTrace: false });
}

/** Reports findings about `node`: errors and warnings, or the suppression that applies to each. */
export function reportFindings(node: IConstruct, findings: readonly rules.Finding[]): void {
  const path = node.node.path;
  for (const finding of findings) {
    const suppression = RuleSuppressions.applying(node, finding.id);
    if (suppression) {
      annotateOnce(node, 'info', formatSuppressed(path, finding.id, suppression.reason));
      recordSuppressed(node, { id: finding.id, path, reason: suppression.reason });
    } else {
      annotateOnce(node, finding.severity, formatFinding(path, finding));
    }
  }
}

const SELF_CHECKING = new WeakSet<IConstruct>();

/** Runs the subject's rules on the facts it has at synth, which may change after its constructor. */
class SelfCheck implements IAspect {
  constructor(private readonly subject: IConstruct & IPolicySubject) {}

  visit(node: IConstruct): void {
    // Aspects also visit the subject's children; those check themselves.
    if (node === this.subject) reportFindings(node, evaluate(this.subject.policyFacts()));
  }
}

/** Makes a construct check itself at synth, in any stack, with no Aspect from the stack. */
export function checkAtSynth(subject: IConstruct & IPolicySubject): void {
  if (SELF_CHECKING.has(subject)) return;
  SELF_CHECKING.add(subject);
  Aspects.of(subject).add(new SelfCheck(subject));
}

/** Facts of provider resources the pack checks wherever they appear, the user's own included. */
function resourceFacts(node: IConstruct): PolicyFacts | undefined {
  if (node instanceof LinuxWebApp) {
    return {
      kind: 'webApp',
      zipDeployFile: node.zipDeployFileInput !== undefined,
      // azurerm's default is true.
      basicAuthEnabled: node.webdeployPublishBasicAuthenticationEnabledInput !== false,
    };
  }
  return undefined;
}

/**
 * The Aspect that applies the rule pack to provider resources (and to policy subjects that do not
 * check themselves). `HostedBotsStack` and `BotImagesStack` add it.
 */
export class AzureRulesAspect implements IAspect {
  visit(node: IConstruct): void {
    const facts = isPolicySubject(node) ? (SELF_CHECKING.has(node) ? undefined : node.policyFacts()) : resourceFacts(node);
    if (facts) reportFindings(node, evaluate(facts));
  }
}

export interface PolicyAnnotation {
  readonly path: string;
  readonly level: 'error' | 'warning' | 'info';
  readonly message: string;
}

/** The annotations found under a construct, after synth has run the checks. */
export function annotationsOf(scope: IConstruct): PolicyAnnotation[] {
  const levels = Object.fromEntries(Object.entries(ANNOTATION_TYPE).map(([level, type]) => [type, level as PolicyAnnotation['level']]));
  const found: PolicyAnnotation[] = [];
  for (const node of scope.node.findAll()) {
    for (const entry of node.node.metadata) {
      const level = levels[entry.type];
      if (level) found.push({ path: node.node.path, level, message: String(entry.data) });
    }
  }
  return found;
}
