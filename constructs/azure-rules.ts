/**
 * Azure's deploy-time rules, checked at synth.
 *
 * Each rule is one pure function from plain facts to findings. It knows nothing of constructs:
 * `policy.ts` collects the facts from the construct tree, runs the rules that apply, and reports
 * the findings through Annotations, so that a hard fault fails `cdktf synth` and names the
 * construct path, the rule ID, the field, the value and the rule.
 */
import { BOUNDS, CAPPED_BY_MAX_BOTS, COMPUTER_NAME_PREFIX_MAX, describeBound, GROUP_NAME_MAX, isTimeZone, NumericBound, TIME_ZONE_RULE, withinBound } from '../runtime/config/fleet-schema';
import { SELF_TEST_FLOW, SELF_TEST_FLOW_RESERVED } from '../runtime/config/self-test-flow';
import { Geography } from './geography';
import { contains, Ipv4Range, overlaps, parseIpv4Range } from './ipv4-ranges';

export type Severity = 'error' | 'warning';

export interface RuleInfo {
  readonly severity: Severity;
  /**
   * Whether `RuleSuppressions` may silence it. Limits that Azure or the runtime enforce anyway
   * cannot be suppressed: the deploy, or the runtime reading the fleet manifest, would fail instead.
   */
  readonly suppressible: boolean;
  readonly summary: string;
  /**
   * Where the rule comes from, so that a reader can check it: `project` for the library's own
   * rules (its limits, its manifest, its advice), otherwise the citations its checks are read from,
   * each in one of the forms of RULE_SOURCE_FORMS. An Azure rule whose source is not known yet has
   * `azure` with no citations, which the catalogue test lists.
   */
  readonly source: RuleSource;
}

export type RuleSource = { readonly origin: 'project' } | { readonly origin: 'azure' | 'azurerm' | 'external'; readonly cites: readonly string[] };

/**
 * The forms a citation takes, each with the part (`key`) that the comments of this file quote where
 * the rule is checked: a Microsoft Learn page by its file (and title), a file of the azurerm
 * provider's source or a resource of its docs at the version the bindings pin, one of its
 * validation functions or issues, an Azure REST API model, a built-in Azure Policy definition, or
 * the Node.js release schedule.
 */
export const RULE_SOURCE_FORMS: readonly RegExp[] = [
  /^Microsoft Learn, (?:"[^"]+" \()?(?<key>[\w./-]+\.md)\)?$/,
  /^Microsoft Learn, "[^"]+" \((?<key>https:\/\/learn\.microsoft\.com\/[\w./-]+)\)$/,
  /^azurerm v4\.55\.0, internal\/services\/[\w/]*?(?<key>\w+\.go)$/,
  /^azurerm v4\.55\.0 docs, (?<key>[a-z_0-9]+)$/,
  /^azurerm v4\.55\.0, (?<key>\w+\.Validate\w+)$/,
  /^(?<key>hashicorp\/terraform-provider-azurerm#\d+), "[^"]+"$/,
  /^Azure REST API, (?<key>\w+)\.\w+$/,
  /^Azure\/azure-policy, built-in-policies\/policyDefinitions\/[^/]+\/(?<key>[^/]+\.json)$/,
  /^nodejs\.org, "(?<key>[^"]+)"$/,
];

const PROJECT = { origin: 'project' } as const;
const azure = (...cites: string[]) => ({ origin: 'azure', cites }) as const;
const azurerm = (...cites: string[]) => ({ origin: 'azurerm', cites }) as const;
const hard = (summary: string, source: RuleSource = PROJECT) => ({ severity: 'error', suppressible: false, summary, source }) as const;
const advice = (summary: string, source: RuleSource = PROJECT) => ({ severity: 'warning', suppressible: true, summary, source }) as const;

const NAMING = 'Microsoft Learn, "Naming rules and restrictions for Azure resources" (azure-resource-manager/management/resource-name-rules.md)';

/**
 * Every rule of the pack by its stable ID, `HRB-<area>-<n>`. IDs are never reused or renumbered:
 * users name them in suppressions.
 */
export const RULE_CATALOGUE = {
  'HRB-NAME-1': hard('compute gallery name (Azure)', azure(NAMING)),
  'HRB-NAME-2': hard('image definition name (Azure)', azure(NAMING)),
  'HRB-NAME-3': hard('scale set name (Azure)', azure(NAMING)),
  'HRB-NAME-4': hard('bot group name'),
  'HRB-NAME-5': hard('environment name'),
  'HRB-NAME-6': hard('Windows computer-name prefix', azure(NAMING)),
  'HRB-NAME-7': hard('prefix of Azure-wide names'),
  'HRB-NAME-8': hard('Azure-wide names (Key Vault, storage account, PostgreSQL, App Service)', azure(NAMING, 'azurerm v4.55.0 docs, postgresql_flexible_server')),
  'HRB-NAME-9': hard('standby pool name (Azure)', azurerm('azurerm v4.55.0, internal/services/compute/virtual_machine_scale_set_standby_pool_resource.go')),
  'HRB-NAME-10': hard('group names unique in an environment', azure(NAMING)),
  'HRB-ADMIN-1': hard('admin username (Windows local account, Azure reserved names)', azure('Azure REST API, OSProfile.adminUsername')),
  'HRB-ADMIN-2': advice('admin username only known at apply time'),
  'HRB-ADMIN-3': hard('admin password (Azure length, character classes, banned list)', azure('Azure REST API, OSProfile.adminPassword', 'Microsoft Learn, "What are the password requirements when creating a VM?" (https://learn.microsoft.com/azure/virtual-machines/windows/faq)')),
  'HRB-ADMIN-4': advice('admin password only known at apply time'),
  'HRB-CAP-1': hard('group size: maxBots and committedBots'),
  'HRB-CAP-2': hard('environment bot capacity'),
  'HRB-CAP-3': advice('trial plan caps the capacity'),
  'HRB-CAP-4': hard('groups per environment'),
  'HRB-CAP-5': hard('committed bots within the capacity'),
  'HRB-CAP-6': advice("group maxBots above the environment's bot capacity"),
  'HRB-FLOW-1': hard('flow names, commands and time-outs'),
  'HRB-FLOW-2': hard('reserved flow name of the built-in self-test'),
  'HRB-SCALE-1': hard('scaling settings'),
  'HRB-SCALE-2': advice(
    'standby pool without the roles of the Standby Pool Resource Provider',
    azure('Microsoft Learn, "Configure role permissions for standby pools" (https://learn.microsoft.com/azure/virtual-machine-scale-sets/standby-pools-configure-permissions)'),
  ),
  'HRB-QUEUE-1': hard('queue settings'),
  'HRB-RET-1': hard('run retention and idempotency keys'),
  'HRB-TZ-1': hard('environment time zone (IANA name)'),
  'HRB-IMAGE-1': hard('image version format (Azure)', azure(NAMING)),
  'HRB-IMAGE-2': hard("image version replicated to the gallery's region (Azure)", azure('Microsoft Learn, troubleshooting-shared-images.md')),
  'HRB-IMAGE-3': hard("group image has a replica in the group's region (Azure)", azure('Microsoft Learn, troubleshooting-shared-images.md')),
  'HRB-IMAGE-4': hard('image version source a Trusted Launch supported definition takes (Azure)', azure('Microsoft Learn, "Deploy a virtual machine with Trusted Launch enabled" (virtual-machines/trusted-launch-portal.md)', 'Microsoft Learn, "Store and share images in an Azure Compute Gallery" (virtual-machines/shared-image-galleries.md)', 'Microsoft Learn, "Trusted launch FAQs" (virtual-machines/trusted-launch-faq.md)')),
  'HRB-NET-1': advice('runtime opened to public network access', azure('Microsoft Learn, postgresql/flexible-server/concepts-firewall-rules.md')),
  'HRB-NET-2': hard('operator addresses are IPv4 (Key Vault firewall)', azure('Azure REST API, KeyVaultIPRule.value')),
  'HRB-NET-3': advice('deployer addresses are no longer used'),
  'HRB-NET-4': advice('existing subnet must bring its own outbound', azure('Microsoft Learn, virtual-network/ip-services/default-outbound-access.md', 'Microsoft Learn, "What is an Azure Private DNS zone?" (dns/private-dns-privatednszone.md)')),
  'HRB-NET-5': hard('subnets inside the VNet address space and apart (Azure)', azure('Microsoft Learn, "Add, change, or delete a virtual network subnet" (virtual-network/virtual-network-manage-subnet.md)')),
  'HRB-RUNTIME-1': hard('runtime App Service plan', azure('Azure/azure-policy, built-in-policies/policyDefinitions/App Service/DisablePrivateEndpoint_Deny.json')),
  'HRB-RUNTIME-2': hard('managed-identity bots need runtime.entra'),
  'HRB-RUNTIME-3': advice('bots on a shared token by default'),
  // Azure accepts the first apply; a user who never re-applies the web app may accept the risk.
  'HRB-RUNTIME-4': {
    severity: 'error',
    suppressible: true,
    summary: 'zip deploy needs basic authentication',
    source: azurerm('azurerm v4.55.0 docs, linux_web_app', 'hashicorp/terraform-provider-azurerm#25775, "zip_deploy_file publishing failed with status code 401 Unauthorized"'),
  } as const,
  'HRB-NODE-1': advice('Node.js line supported on the day of synth', { origin: 'external', cites: ['nodejs.org, "Node.js Releases"'] } as const),
  'HRB-MON-1': hard('Log Analytics and Application Insights retention (Azure)', azurerm('azurerm v4.55.0, internal/services/loganalytics/log_analytics_workspace_resource.go', 'azurerm v4.55.0, internal/services/applicationinsights/application_insights_resource.go')),
  'HRB-MON-2': hard('monitoring resource names (Azure)', azure(NAMING, 'azurerm v4.55.0, internal/services/loganalytics/validate/log_analytics_workspace_name.go', 'azurerm v4.55.0, internal/services/monitor/monitor_action_group_resource.go', 'azurerm v4.55.0, internal/services/monitor/validate/monitor_diagnostic_setting.go')),
  'HRB-MON-3': hard('existing workspace and Application Insights', azurerm('azurerm v4.55.0, workspaces.ValidateWorkspaceID', 'Microsoft Learn, "Connection strings in Application Insights" (azure-monitor/app/connection-strings.md)')),
  'HRB-MON-4': hard('alert receivers: e-mail addresses and webhook URLs (Azure)', azurerm('azurerm v4.55.0, internal/services/monitor/monitor_action_group_resource.go')),
  'HRB-MON-5': hard('alert thresholds, window and severity (Azure)', azurerm('azurerm v4.55.0, internal/services/monitor/monitor_scheduled_query_rules_alert_v2_resource.go', 'azurerm v4.55.0 docs, monitor_scheduled_query_rules_alert_v2')),
  'HRB-MON-6': hard('diagnostic log category groups per resource type (Azure)', azure('Azure/azure-policy, built-in-policies/policyDefinitions/Monitoring/DiagSettings_logAnalytics_app-service_DINE.json', 'Azure/azure-policy, built-in-policies/policyDefinitions/Monitoring/DS_LA_keyvault-vaults_DINE.json', 'Azure/azure-policy, built-in-policies/policyDefinitions/Monitoring/DS_LA_dbforpostgresql-flexibleservers_DINE.json')),
  'HRB-MON-7': advice('alerts that notify nobody'),
  'HRB-MON-8': advice('webhook receiver over plain HTTP'),
} as const satisfies Record<string, RuleInfo>;

export type RuleId = keyof typeof RULE_CATALOGUE;

export function isRuleId(id: unknown): id is RuleId {
  return typeof id === 'string' && Object.prototype.hasOwnProperty.call(RULE_CATALOGUE, id);
}

/** One problem found by a rule. The message is built from these parts, never by the rule alone. */
export interface Finding {
  /** The rule's stable ID, see RULE_CATALOGUE. */
  readonly id: RuleId;
  readonly severity: Severity;
  /** The prop as the user wrote it, e.g. `adminUsername` or `scaling.idleMinutes`. */
  readonly field: string;
  /** How the value is shown. Secrets are shown masked, never in plain text. */
  readonly value: string;
  /** What the rule requires, and what to do next. */
  readonly rule: string;
}

/** A rule returns no findings when the subject complies or the rule does not apply. */
export type Rule<Facts> = (facts: Facts) => Finding[];

/** A value already formatted for a message, shown without quotes. */
class Shown {
  constructor(readonly text: string) {}
}

const show = (value: unknown): string =>
  value instanceof Shown ? value.text : typeof value === 'string' ? JSON.stringify(value) : String(value);

/** The IDs of the rules of one severity, so that a rule cannot report at another severity than its catalogue entry. */
type RuleIdOf<S extends Severity> = { [K in RuleId]: (typeof RULE_CATALOGUE)[K]['severity'] extends S ? K : never }[RuleId];

function error(id: RuleIdOf<'error'>, field: string, value: unknown, rule: string): Finding {
  return { id, severity: 'error', field, value: show(value), rule };
}

function warning(id: RuleIdOf<'warning'>, field: string, value: unknown, rule: string): Finding {
  return { id, severity: 'warning', field, value: show(value), rule };
}

// ---------------------------------------------------------------------------------------------
// Limits of the product and of Azure, in one place. The fleet manifest's bounds come from its
// schema (runtime/config/fleet-schema.ts), which the runtime parses it with, so both agree.

export const LIMITS = {
  maxGroupsPerEnvironment: BOUNDS.manifest.groups.max,
  maxBotsPerGroup: BOUNDS.group.maxBots.max,
  trialCapacity: 2,
  computerNamePrefixMax: COMPUTER_NAME_PREFIX_MAX,
  adminUsernameMax: 20,
  adminPasswordMin: 12,
  adminPasswordMax: 123,
  galleryNameMax: 80,
  imageNameMax: 80,
  scaleSetNameMax: 64,
  groupNameMax: GROUP_NAME_MAX,
  environmentNameMax: 24,
  flowTimeoutMaxMinutes: BOUNDS.flow.timeoutMinutes.max,
  predictiveLeadMaxMinutes: BOUNDS.scaling.predictiveLeadMinutes.max,
  int32Max: 2147483647,
} as const;

/** Usernames Azure refuses for Windows VMs: the disallowed values of OSProfile.adminUsername in the Compute REST API, which also caps a Windows username at 20 characters. */
export const RESERVED_ADMIN_USERNAMES: readonly string[] = [
  'administrator', 'admin', 'user', 'user1', 'test', 'user2', 'test1', 'user3', 'admin1', '1', '123', 'a',
  'actuser', 'adm', 'admin2', 'aspnet', 'backup', 'console', 'david', 'guest', 'john', 'owner', 'root',
  'server', 'sql', 'support', 'support_388945a0', 'sys', 'test2', 'test3', 'user4', 'user5',
];

/**
 * Passwords Azure refuses for VMs: the disallowed values of OSProfile.adminPassword in the Compute
 * REST API, which also caps a Windows password at 123 characters and asks for 3 of 4 character
 * classes. The length the library asks for, 12-123, is the Windows VM FAQ's (Microsoft Learn,
 * "What are the password requirements when creating a VM?"
 * (https://learn.microsoft.com/azure/virtual-machines/windows/faq): "Passwords must be 12 - 123
 * characters in length and meet 3 out of the following 4 complexity requirements"); the REST
 * API's model gives 8 as its Windows minimum, and the library keeps the FAQ's stricter 12.
 */
export const BANNED_ADMIN_PASSWORDS: readonly string[] = [
  'abc@123', 'iloveyou!', 'P@$$w0rd', 'P@ssw0rd', 'P@ssword123', 'Pa$$word', 'pass@word1', 'Password!',
  'Password1', 'Password22',
];

// ---------------------------------------------------------------------------------------------
// Names.

/** Compute gallery: 1-80 letters, digits, periods and underscores; starts and ends with a letter or digit; no hyphens. */
export const galleryName: Rule<{ name: string }> = ({ name }) =>
  /^[A-Za-z0-9](?:[A-Za-z0-9._]{0,78}[A-Za-z0-9])?$/.test(name)
    ? []
    : [error('HRB-NAME-1', 'name', name, `must be 1-${LIMITS.galleryNameMax} letters, digits, periods or underscores, start and end with a letter or digit, and contain no hyphens (Azure compute gallery name)`)];

/** Image definition: 1-80 letters, digits, hyphens, periods and underscores; starts and ends with a letter or digit. */
export const imageDefinitionName: Rule<{ name: string }> = ({ name }) =>
  /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9])?$/.test(name)
    ? []
    : [error('HRB-NAME-2', 'name', name, `must be 1-${LIMITS.imageNameMax} letters, digits, hyphens, periods or underscores, and start and end with a letter or digit (Azure image definition name)`)];

/** Image version: Major.Minor.Patch, each part a 32-bit integer. */
export const imageVersion: Rule<{ version: string }> = ({ version }) => {
  const parts = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  const fits = parts !== null && parts.slice(1).every((p) => Number(p) <= LIMITS.int32Max);
  return fits ? [] : [error('HRB-IMAGE-1', 'version', version, `must be Major.Minor.Patch, each part a whole number from 0 to ${LIMITS.int32Max} (Azure image version)`)];
};

/** Scale set: 1-64 letters, digits and hyphens, starting with a letter or digit and not ending with a hyphen. */
export const scaleSetName: Rule<{ name: string }> = ({ name }) =>
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$/.test(name)
    ? []
    : [error('HRB-NAME-3', 'scaleSetName', name, `must be 1-${LIMITS.scaleSetNameMax} letters, digits or hyphens, start with a letter or digit and not end with a hyphen (Azure scale set name); shorten the environment or group name`)];

/** Group names appear in URLs, scale set names and computer names. */
export const groupName: Rule<{ name: string }> = ({ name }) =>
  /^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$/.test(name) && name.length <= LIMITS.groupNameMax
    ? []
    : [error('HRB-NAME-4', 'name', name, `must be 1-${LIMITS.groupNameMax} lowercase letters, digits or hyphens, start with a letter and not end with a hyphen (bot group name)`)];

/** Environment names appear in every resource name. */
export const environmentName: Rule<{ name: string }> = ({ name }) =>
  /^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$/.test(name) && name.length <= LIMITS.environmentNameMax
    ? []
    : [error('HRB-NAME-5', 'name', name, `must be 1-${LIMITS.environmentNameMax} lowercase letters, digits or hyphens, start with a letter and not end with a hyphen (environment name)`)];

/**
 * Windows computer-name prefix: 1-9 letters, digits or hyphens, not all digits. Azure appends six
 * characters per VM and Windows allows 15.
 */
export const computerNamePrefix: Rule<{ prefix: string; derived: boolean }> = ({ prefix, derived }) => {
  const ok = /^[A-Za-z0-9-]{1,9}$/.test(prefix) && !/^\d+$/.test(prefix);
  if (ok) return [];
  const hint = derived ? '; it was derived from the group name, so set computerNamePrefix on the group' : '';
  return [error('HRB-NAME-6', 'computerNamePrefix', prefix, `must be 1-${LIMITS.computerNamePrefixMax} letters, digits or hyphens and not all digits (Windows computer-name prefix)${hint}`)];
};

/**
 * Standby pool: azurerm refuses any name but `^[a-zA-Z0-9-]{3,24}$`, "name must be between 3 and 24
 * characters in length and may contain only letters, numbers and hyphens (-)."
 * (internal/services/compute/virtual_machine_scale_set_standby_pool_resource.go at v4.55.0).
 */
export const standbyPoolName: Rule<{ name: string }> = ({ name }) =>
  nameFits('standbyPool', name)
    ? []
    : [error('HRB-NAME-9', 'standbyPoolName', name, `must be ${NAME_RULES.standbyPool.text} (Azure standby pool name); it is derived from the environment and group names, so fix the one that breaks HRB-NAME-4 or HRB-NAME-5`)];

export interface GroupNameUseFacts {
  readonly name: string;
  /** The environment's groups so far, by name and construct path. */
  readonly others: readonly { readonly name: string; readonly path: string }[];
}

/**
 * A group's name names its scale set, identity, standby pool, secrets and API paths, so two groups
 * of an environment cannot share one. Compared ignoring case: "Resource and resource group names
 * are case-insensitive unless specifically noted in the valid characters column" (Microsoft Learn,
 * "Naming rules and restrictions for Azure resources", azure-resource-manager/management/resource-name-rules.md).
 */
export const uniqueGroupName: Rule<GroupNameUseFacts> = ({ name, others }) => {
  const taken = others.find((o) => o.name.toLowerCase() === name.toLowerCase());
  return taken
    ? [error('HRB-NAME-10', 'name', name, `is already the name of group ${taken.path}; each group of an environment needs a name of its own (it names the group's scale set, identity, secrets and API paths, and Azure compares names ignoring case): rename one of them`)]
    : [];
};

// ---------------------------------------------------------------------------------------------
// The local admin account.

/** Admin username: at most 20 characters, not ending in a period, no Windows-forbidden characters, not reserved. */
export const adminUsername: Rule<{ username: string; isToken: boolean }> = ({ username, isToken }) => {
  if (isToken) return [warning('HRB-ADMIN-2', 'adminUsername', new Shown('(Terraform token)'), 'is only known at apply time, so Azure\'s username rules cannot be checked at synth')];
  const findings: Finding[] = [];
  if (username.length < 1 || username.length > LIMITS.adminUsernameMax) {
    findings.push(error('HRB-ADMIN-1', 'adminUsername', username, `must be 1-${LIMITS.adminUsernameMax} characters (Windows local account)`));
  }
  if (username.endsWith('.')) findings.push(error('HRB-ADMIN-1', 'adminUsername', username, 'must not end with a period (Windows local account)'));
  if (/["/\\[\]:;|=,+*?<>@%]/.test(username) || /\s/.test(username)) {
    findings.push(error('HRB-ADMIN-1', 'adminUsername', username, 'must not contain spaces or any of " / \\ [ ] : ; | = , + * ? < > @ % (Windows local account)'));
  }
  if (RESERVED_ADMIN_USERNAMES.includes(username.toLowerCase())) {
    findings.push(error('HRB-ADMIN-1', 'adminUsername', username, `is reserved by Azure; choose another name (reserved: ${RESERVED_ADMIN_USERNAMES.join(', ')})`));
  }
  return findings;
};

/** Counts lower case, upper case, digits and specials, as Azure does. */
function passwordClasses(password: string): number {
  return [/[a-z]/, /[A-Z]/, /\d/, /[\W_]/].filter((re) => re.test(password)).length;
}

/** How a password is shown in a message: never the text, only its length. */
export function maskPassword(password: string): string {
  return `(hidden, ${password.length} characters)`;
}

/**
 * Admin password: 12-123 characters, three of the four character classes, not on Azure's banned
 * list. A Terraform token (a sensitive variable) is only known at apply time: that is a warning.
 */
export const adminPassword: Rule<{ password: string; isToken: boolean }> = ({ password, isToken }) => {
  if (isToken) {
    return [warning('HRB-ADMIN-4', 'adminPassword', new Shown('(sensitive Terraform value)'), 'is only known at apply time, so Azure\'s password rules (12-123 characters, 3 of 4 character classes, not a banned password) cannot be checked at synth; Terraform checks them at plan')];
  }
  const shown = maskPassword(password);
  const findings: Finding[] = [];
  if (password.length < LIMITS.adminPasswordMin || password.length > LIMITS.adminPasswordMax) {
    findings.push({ id: 'HRB-ADMIN-3', severity: 'error', field: 'adminPassword', value: shown, rule: `must be ${LIMITS.adminPasswordMin}-${LIMITS.adminPasswordMax} characters (Azure Windows VM password)` });
  }
  if (passwordClasses(password) < 3) {
    findings.push({ id: 'HRB-ADMIN-3', severity: 'error', field: 'adminPassword', value: shown, rule: 'must contain 3 of: a lower-case letter, an upper-case letter, a digit, a special character (Azure Windows VM password)' });
  }
  if (BANNED_ADMIN_PASSWORDS.includes(password)) {
    findings.push({ id: 'HRB-ADMIN-3', severity: 'error', field: 'adminPassword', value: shown, rule: 'is on Azure\'s list of banned passwords; choose another' });
  }
  return findings;
};

// ---------------------------------------------------------------------------------------------
// Capacity.

const isWhole = (n: number): boolean => Number.isInteger(n);

/** maxBots 1..50; committedBots 0..maxBots. */
export const groupSize: Rule<{ maxBots: number; committedBots: number }> = ({ maxBots, committedBots }) => {
  const findings: Finding[] = [];
  if (!withinBound(BOUNDS.group.maxBots, maxBots)) {
    findings.push(error('HRB-CAP-1', 'maxBots', maxBots, `must be a whole number from ${BOUNDS.group.maxBots.min} to ${LIMITS.maxBotsPerGroup} (bots per group)`));
  }
  if (!withinBound(BOUNDS.group.committedBots, committedBots)) {
    findings.push(error('HRB-CAP-1', 'committedBots', committedBots, `must be a whole number, ${BOUNDS.group.committedBots.min} or more`));
  } else if (isWhole(maxBots) && committedBots > maxBots) {
    findings.push(error('HRB-CAP-1', 'committedBots', committedBots, `must be at most the group's maxBots (${maxBots})`));
  }
  return findings;
};

export interface EnvironmentCapacityFacts {
  readonly botCapacity: number;
  readonly plan: 'standard' | 'trial';
  readonly groups: readonly { readonly name: string; readonly committedBots: number }[];
}

/** The bot capacity a plan allows: trial caps it at 2. */
export function effectiveCapacity(botCapacity: number, plan: 'standard' | 'trial'): number {
  return plan === 'trial' ? Math.min(botCapacity, LIMITS.trialCapacity) : botCapacity;
}

/** botCapacity is a positive whole number; the trial plan caps it at 2 (a warning). */
export const botCapacity: Rule<EnvironmentCapacityFacts> = ({ botCapacity: capacity, plan }) => {
  if (!withinBound(BOUNDS.environment.botCapacity, capacity)) {
    return [error('HRB-CAP-2', 'botCapacity', capacity, `must be a whole number, ${BOUNDS.environment.botCapacity.min} or more (bots that may run at once)`)];
  }
  if (plan === 'trial' && capacity > LIMITS.trialCapacity) {
    return [warning('HRB-CAP-3', 'botCapacity', capacity, `is capped at ${LIMITS.trialCapacity} by the trial plan; the runtime will run at most ${LIMITS.trialCapacity} bots at once`)];
  }
  return [];
};

/** At most 10 groups per environment. */
export const groupCount: Rule<EnvironmentCapacityFacts> = ({ groups }) =>
  groups.length > LIMITS.maxGroupsPerEnvironment
    ? [error('HRB-CAP-4', 'groups', groups.length, `must be at most ${LIMITS.maxGroupsPerEnvironment} per environment; split the groups across environments`)]
    : [];

/** The committed bots of all groups fit in the capacity the plan allows. */
export const committedCapacity: Rule<EnvironmentCapacityFacts> = ({ botCapacity: capacity, plan, groups }) => {
  const allowed = effectiveCapacity(capacity, plan);
  const total = groups.reduce((sum, g) => sum + g.committedBots, 0);
  if (!isWhole(capacity) || total <= allowed) return [];
  const parts = groups.filter((g) => g.committedBots > 0).map((g) => `${g.name}=${g.committedBots}`).join(', ');
  return [error('HRB-CAP-5', 'committedBots', new Shown(`${total} (${parts})`), `sum over all groups must be at most the bot capacity (${allowed}${plan === 'trial' ? ', trial plan' : ''}); lower committedBots or raise botCapacity`)];
};

export interface GroupCapacityFacts {
  readonly maxBots: number;
  /** The environment's capacity as declared, and its plan. */
  readonly botCapacity: number;
  readonly plan: 'standard' | 'trial';
}

/** A group's maxBots above what the environment may run at once can never be reached: a warning. */
export const maxBotsWithinCapacity: Rule<GroupCapacityFacts> = ({ maxBots, botCapacity: capacity, plan }) => {
  if (!withinBound(BOUNDS.group.maxBots, maxBots) || !withinBound(BOUNDS.environment.botCapacity, capacity)) return [];
  const allowed = effectiveCapacity(capacity, plan);
  return maxBots > allowed
    ? [warning('HRB-CAP-6', 'maxBots', maxBots, `is above the environment's bot capacity (${allowed}${plan === 'trial' ? ', trial plan' : ''}), so the group can never run that many bots at once; lower maxBots to ${allowed} or raise botCapacity`)]
    : [];
};

// ---------------------------------------------------------------------------------------------
// Flows and scaling.

export interface FlowFacts {
  readonly name: string;
  readonly command: string;
  readonly timeoutMinutes: number;
}

/** Flow names are identifiers used in the API; commands are not empty; time-outs are 1 minute to 24 hours. */
export const flowCatalogue: Rule<{ flows: readonly FlowFacts[] }> = ({ flows }) => {
  const findings: Finding[] = [];
  for (const flow of flows) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(flow.name)) {
      findings.push(error('HRB-FLOW-1', `flows.${flow.name}`, flow.name, 'flow name must be 1-64 letters, digits, periods, underscores or hyphens, starting with a letter or digit'));
    }
    if (flow.command.trim() === '') findings.push(error('HRB-FLOW-1', `flows.${flow.name}.command`, flow.command, 'must not be empty'));
    if (!withinBound(BOUNDS.flow.timeoutMinutes, flow.timeoutMinutes)) {
      findings.push(error('HRB-FLOW-1', `flows.${flow.name}.timeoutMinutes`, flow.timeoutMinutes, `must be a whole number from ${BOUNDS.flow.timeoutMinutes.min} to ${LIMITS.flowTimeoutMaxMinutes} (24 hours)`));
    }
  }
  return findings;
};

/**
 * No declared flow takes the name of the built-in self-test (runtime/config/self-test-flow.ts),
 * which every group runs without declaring it: the runtime would refuse the manifest.
 */
export const reservedFlowName: Rule<{ flows: readonly FlowFacts[] }> = ({ flows }) =>
  flows.filter((flow) => flow.name === SELF_TEST_FLOW).map((flow) => error('HRB-FLOW-2', `flows.${flow.name}`, flow.name, SELF_TEST_FLOW_RESERVED));

/**
 * Scaling settings (a standby pool's capacities too) are finite, within the manifest's bounds,
 * and counts are whole; a group's standby and predictive cap fit in its maxBots; predictive is
 * true or false (so is spareBot), and its lead time is more than 0 minutes and at most a day.
 */
export const scalingSettings: Rule<{ scaling: Readonly<Record<string, unknown>>; maxBots?: number; prefix: string }> = ({ scaling, maxBots, prefix }) => {
  const findings: Finding[] = [];
  const bounds: ReadonlyArray<[string, NumericBound, unknown]> = [
    ...Object.entries(BOUNDS.scaling)
      .filter(([key]) => key !== 'predictiveLeadMinutes')
      .map(([key, bound]): [string, NumericBound, unknown] => [key, bound, scaling[key]]),
    ...Object.entries(BOUNDS.standbyPool).map(([key, bound]): [string, NumericBound, unknown] => [
      `standbyPool.${key}`,
      bound,
      (scaling.standbyPool as Record<string, unknown> | undefined)?.[key],
    ]),
  ];
  for (const [key, bound, value] of bounds) {
    if (value !== undefined && !withinBound(bound, value)) findings.push(error('HRB-SCALE-1', `${prefix}${key}`, value, describeBound(bound)));
  }
  for (const key of CAPPED_BY_MAX_BOTS) {
    const value = scaling[key];
    if (typeof value === 'number' && maxBots !== undefined && value > maxBots) {
      findings.push(error('HRB-SCALE-1', `${prefix}${key}`, value, `must be at most the group's maxBots (${maxBots})`));
    }
  }
  for (const key of ['predictive', 'spareBot']) {
    const value = scaling[key];
    if (value !== undefined && typeof value !== 'boolean') findings.push(error('HRB-SCALE-1', `${prefix}${key}`, value, 'must be true or false'));
  }
  const lead = scaling.predictiveLeadMinutes;
  if (lead !== undefined && !withinBound(BOUNDS.scaling.predictiveLeadMinutes, lead)) {
    findings.push(error('HRB-SCALE-1', `${prefix}predictiveLeadMinutes`, lead, `must be a number of minutes greater than ${BOUNDS.scaling.predictiveLeadMinutes.min} and at most ${LIMITS.predictiveLeadMaxMinutes} (a day); about one boot time is typical`));
  }
  return findings;
};

/**
 * Microsoft Learn, "Configure role permissions for standby pools"
 * (virtual-machine-scale-sets/standby-pools-configure-permissions.md): "Standby pools require
 * specific permissions to create and manage resources in your subscription. Without the correct
 * permissions, standby pools will not function properly." The roles go to the tenant's "Standby
 * Pool Resource Provider" service principal, which creates the pool's VMs.
 */
export const STANDBY_POOL_PERMISSIONS_DOC = 'https://learn.microsoft.com/azure/virtual-machine-scale-sets/standby-pools-configure-permissions';

/** The command that prints the object ID of the tenant's Standby Pool Resource Provider. */
export const STANDBY_POOL_PROVIDER_LOOKUP = 'az ad sp list --display-name "Standby Pool Resource Provider" --query "[].id" -o tsv';

/**
 * Azure built-in roles by display name (what `role_definition_name` takes), by the scope each is
 * assigned on. The page's steps name Managed Identity Operator (its list says Managed Identity
 * Contributor): assigning a group's identity to a VM takes `userAssignedIdentities/assign/action`,
 * which the Operator has and which creating identities, the Contributor's extra, does not need.
 */
export const STANDBY_POOL_ROLES = {
  /**
   * The group's resource group: the pool's VMs, with their NICs and disks, are created there, and
   * get the group's identity. A Flexible scale set's VMs are not children of the scale set, so the
   * scale set is too narrow a scope.
   */
  resourceGroup: ['Virtual Machine Contributor', 'Managed Identity Operator'],
  /** The resource group of the bots' subnet, which the pool's VMs join. */
  network: ['Network Contributor'],
  /** The compute gallery of the group's image, when the group boots a gallery image. */
  gallery: ['Compute Gallery Sharing Admin', 'Compute Gallery Artifacts Publisher'],
} as const satisfies Record<string, readonly string[]>;

export interface StandbyPoolRoleFacts {
  readonly group: string;
  /** Whether the environment declares the provider's roles (standbyPoolProvider). */
  readonly declared: boolean;
  /** Whether the group boots a gallery image, whose gallery needs roles too. */
  readonly galleryImage: boolean;
}

/**
 * A standby pool whose provider has no roles deploys and never fills: a warning, suppressible by
 * a team that assigns the roles outside the stack (at the subscription, say).
 */
export const standbyPoolRoles: Rule<StandbyPoolRoleFacts> = ({ group, declared, galleryImage }) => {
  if (declared) return [];
  const roles = [
    `${STANDBY_POOL_ROLES.resourceGroup.join(' and ')} on the group's resource group`,
    `${STANDBY_POOL_ROLES.network.join(' and ')} on the resource group of the bots' subnet`,
    ...(galleryImage ? [`${STANDBY_POOL_ROLES.gallery.join(' and ')} on the gallery of the group's image`] : []),
  ];
  return [
    warning(
      'HRB-SCALE-2',
      'scaling.standbyPool',
      new Shown(`(group ${group})`),
      `deploys but never fills: the tenant's "Standby Pool Resource Provider" needs ${roles.join(', ')} (Microsoft Learn, "Configure role permissions for standby pools", ${STANDBY_POOL_PERMISSIONS_DOC}), and this stack declares them only with standbyPoolProvider: { principalId } on the environment (the object ID from \`${STANDBY_POOL_PROVIDER_LOOKUP}\`); set it, or assign the roles yourself and suppress HRB-SCALE-2`,
    ),
  ];
};

/** A user's share of the queue is a whole number from 1 to 10,000; high priority goes to co-owners or users. */
export const queueSettings: Rule<{ queue: Readonly<Record<string, unknown>> }> = ({ queue }) => {
  const findings: Finding[] = [];
  const max = queue.maxQueuedPerUser;
  const bound = BOUNDS.queue.maxQueuedPerUser;
  if (max !== undefined && !withinBound(bound, max)) {
    findings.push(error('HRB-QUEUE-1', 'queue.maxQueuedPerUser', max, `must be a whole number from ${bound.min} to ${bound.max} (runs one user may have queued in the group)`));
  }
  const high = queue.highPriority;
  if (high !== undefined && high !== 'co-owners' && high !== 'users') {
    findings.push(error('HRB-QUEUE-1', 'queue.highPriority', high, "must be 'co-owners' or 'users' (who may queue at high priority)"));
  }
  return findings;
};

/** The environment's time zone is an IANA name the runtime's Node knows, so the forecast can read local days. */
export const timeZoneSetting: Rule<{ timeZone: unknown }> = ({ timeZone }) =>
  isTimeZone(timeZone) ? [] : [error('HRB-TZ-1', 'timeZone', timeZone, `${TIME_ZONE_RULE} (predictive warm-up tells weekdays, weekends and times of day in it)`)];

export interface RetentionFacts {
  readonly runRetentionDays: number;
  readonly idempotencyKeyHours: number;
}

/** Retention: finished runs kept 1 to 3650 days, idempotency keys 1 to 8760 hours. */
export const retentionSettings: Rule<RetentionFacts> = ({ runRetentionDays, idempotencyKeyHours }) => {
  const findings: Finding[] = [];
  const { runRetentionDays: days, idempotencyKeyHours: hours } = BOUNDS.environment;
  if (!withinBound(days, runRetentionDays)) {
    findings.push(error('HRB-RET-1', 'runRetentionDays', runRetentionDays, `must be a number of days from ${days.min} to ${days.max} (how long finished runs and their output are kept)`));
  }
  if (!withinBound(hours, idempotencyKeyHours)) {
    findings.push(error('HRB-RET-1', 'idempotencyKeyHours', idempotencyKeyHours, `must be a number of hours from ${hours.min} to ${hours.max} (how long an Idempotency-Key answers retries)`));
  }
  return findings;
};

// ---------------------------------------------------------------------------------------------
// Images.

export interface ReplicaFacts {
  /** How the version is named in messages, e.g. `botimages/windows-rpa@1.2.0`. */
  readonly version: string;
  readonly replicaRegions: readonly string[];
  readonly replicaGeographies: readonly Geography[];
  readonly groupRegion: string;
}

/**
 * A group may only use an image version that has a replica in the group's region. Microsoft Learn,
 * troubleshooting-shared-images.md, on a VM or scale set that cannot be created because "The image
 * version is not found": "Verify that the region you are trying to create a VM or virtual machine
 * scale in is included in the list of target regions of the image version."
 */
export const imageReplica: Rule<ReplicaFacts> = ({ version, replicaRegions, groupRegion }) =>
  replicaRegions.includes(groupRegion)
    ? []
    : [error('HRB-IMAGE-3', 'image', version, `has no replica in region ${groupRegion} (replicated to: ${replicaRegions.join(', ') || 'none'}); add this stack's geography to the version's geographies, or ${groupRegion} to its additionalRegions`)];

export interface VersionReplicationFacts {
  readonly galleryRegion: string;
  readonly targetRegions: readonly string[];
  readonly geographies: readonly Geography[];
}

/**
 * A version names at least one geography, and Azure requires a replica in the gallery's own region,
 * where the version is created. Microsoft Learn, troubleshooting-shared-images.md, on an image
 * version that cannot be created: "The target region list must include the source region of the
 * image version."
 */
export const versionReplication: Rule<VersionReplicationFacts> = ({ galleryRegion, targetRegions, geographies }) => {
  if (geographies.length === 0) return [error('HRB-IMAGE-2', 'geographies', new Shown('[]'), 'must name at least one geography whose stacks use this version')];
  return targetRegions.includes(galleryRegion)
    ? []
    : [error('HRB-IMAGE-2', 'geographies', new Shown(`[${geographies.join(', ')}]`), `replicate to ${targetRegions.join(', ')}, which must include the gallery's region ${galleryRegion} (Azure keeps the source replica there); add its geography, or use additionalRegions`)];
};

/** Where an image version's OS disk comes from: the key of BotImageVersionSource. */
export type ImageSourceKind = 'managedImageId' | 'osDiskSnapshotId' | 'blobUri';

export interface ImageSourceFacts {
  readonly source: ImageSourceKind;
  /** The source's resource ID or URI, or a Terraform token. */
  readonly sourceId: string;
  readonly sourceIsToken: boolean;
  /** The security type of the VM the managed image or snapshot was taken from, as given or defaulted. */
  readonly sourceVmSecurityType: 'Standard' | 'TrustedLaunch';
  /** Whether sourceVmSecurityType was given rather than defaulted. */
  readonly sourceVmSecurityTypeGiven: boolean;
}

/**
 * The library's image definitions are Trusted Launch supported, which Azure fills only from sources
 * without VM guest state. Microsoft Learn, "Deploy a virtual machine with Trusted Launch enabled"
 * (virtual-machines/trusted-launch-portal.md): "For the following image sources, the security type
 * on the image definition should be set to `TrustedLaunchsupported`: Gen2 operating system (OS)
 * disk VHD, Gen2 Managed Image, Gen2 Gallery Image version. No VM Guest State information can be
 * included in the image source."; "The security type on the image definition should be set to
 * `TrustedLaunch` for the following image sources: Trusted Launch VM capture, Managed OS disk,
 * Managed OS disk snapshot."; "Creation of managed images isn't supported for Trusted Launch VMs."
 * "Store and share images in an Azure Compute Gallery" (virtual-machines/shared-image-galleries.md):
 * TrustedLaunchSupported "is a generic Gen2 image that does not contain the VMGS blob". A disk of a
 * Trusted Launch VM carries that state: "The lifecycle of the VMGS blob is tied to that of the OS
 * disk" ("Trusted launch FAQs", virtual-machines/trusted-launch-faq.md).
 */
export const trustedLaunchSource: Rule<ImageSourceFacts> = ({ source, sourceId, sourceIsToken, sourceVmSecurityType, sourceVmSecurityTypeGiven }) => {
  if (source === 'blobUri' || sourceVmSecurityType === 'Standard') return [];
  const value = sourceIsToken ? new Shown('(Terraform token)') : sourceId;
  const vhd = 'publish a VHD of its OS disk instead (source.blobUri and storageAccountId): Azure takes an OS disk VHD, without the VM guest state, into a Trusted Launch supported definition';
  if (source === 'managedImageId') {
    return [
      error('HRB-IMAGE-4', `source.${source}`, value, `is a managed image of a Trusted Launch VM (sourceVmSecurityType 'TrustedLaunch'): Azure supports no managed image of a Trusted Launch VM, and this library's image definitions are Trusted Launch supported, whose sources carry no VM guest state; ${vhd}`),
    ];
  }
  const defaulted = sourceVmSecurityTypeGiven ? '' : " (sourceVmSecurityType defaults to 'TrustedLaunch' for a snapshot: new Gen2 VMs are Trusted Launch VMs unless told otherwise)";
  return [
    error(
      'HRB-IMAGE-4',
      `source.${source}`,
      value,
      `is an OS disk snapshot of a Trusted Launch VM${defaulted}, which carries VM guest state: Azure takes it only into an image definition of security type TrustedLaunch, and this library's are Trusted Launch supported; ${vhd}, or, if the snapshot is of a VM without Trusted Launch, set sourceVmSecurityType: 'Standard'`,
    ),
  ];
};

// ---------------------------------------------------------------------------------------------
// Resource names, per type. Rules quoted from Microsoft Learn, "Naming rules and restrictions for
// Azure resources" (azure-resource-manager/management/resource-name-rules.md), unless noted.

export interface NameRule {
  readonly pattern: RegExp;
  /** The rule as Microsoft states it. */
  readonly text: string;
  /** Azure-wide names must be unique across Azure; tenant-wide ones across the Entra tenant. */
  readonly scope: 'global' | 'tenant' | 'resource group' | 'parent';
}

export const NAME_RULES = {
  /** Microsoft.KeyVault/vaults: "3-24. Alphanumerics and hyphens. Start with a letter. End with letter or number. Can't contain consecutive hyphens." */
  keyVault: { pattern: /^(?=.{3,24}$)(?!.*--)[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$/, text: '3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no consecutive hyphens', scope: 'global' },
  /** Microsoft.Storage/storageAccounts: "3-24. Lowercase letters and numbers." */
  storageAccount: { pattern: /^[a-z0-9]{3,24}$/, text: '3-24 lowercase letters and digits', scope: 'global' },
  /**
   * Microsoft.DBforPostgreSQL/flexibleServers: 3-63 characters, pattern `^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*`
   * (REST API specification); azurerm refuses upper case, and the name "must be unique across the
   * entire Azure service" (azurerm docs for postgresql_flexible_server).
   */
  postgresServer: { pattern: /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, text: '3-63 lowercase letters, digits and single hyphens, not starting or ending with a hyphen', scope: 'global' },
  /** Microsoft.Web/sites: "2-60. Alphanumerics, hyphens and Unicode characters that can be mapped to Punycode. Can't start or end with hyphen." */
  webApp: { pattern: /^(?=.{2,60}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/, text: '2-60 letters, digits and hyphens, not starting or ending with a hyphen', scope: 'global' },
  /** Microsoft.Web/serverfarms: "1-60. Alphanumeric, hyphens and Unicode characters that can be mapped to Punycode." */
  servicePlan: { pattern: /^[A-Za-z0-9-]{1,60}$/, text: '1-60 letters, digits and hyphens', scope: 'resource group' },
  /** Microsoft.Authorization/roleDefinitions role name: "must be unique at the scope of the Microsoft Entra tenant ... Recommended maximum: 256 characters" (azure-resource-manager custom roles). */
  roleDefinition: { pattern: /^[^\n]{1,256}$/, text: '1-256 characters on one line, unique in the tenant', scope: 'tenant' },
  /** Microsoft.Resources/resourcegroups: "1-90. Underscores, hyphens, periods, parentheses, and letters or digits. Can't end with period." */
  resourceGroup: { pattern: /^[\w\-.()]{0,89}[\w\-()]$/, text: '1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period', scope: 'resource group' },
  /** Microsoft.Network/virtualNetworks: "2-64. Alphanumerics, underscores, periods, and hyphens. Start with alphanumeric. End alphanumeric or underscore." */
  virtualNetwork: { pattern: /^[A-Za-z0-9][\w.-]{0,62}\w$/, text: '2-64 letters, digits, underscores, periods and hyphens, starting with a letter or digit and ending with one or an underscore', scope: 'resource group' },
  /** Subnets, NSGs, NAT gateways, public IPs, DNS zone links: "1-80. Alphanumerics, underscores, periods, and hyphens. Start with alphanumeric. End alphanumeric or underscore." */
  networkResource: { pattern: /^[A-Za-z0-9]([\w.-]{0,78}\w)?$/, text: '1-80 letters, digits, underscores, periods and hyphens, starting with a letter or digit and ending with one or an underscore', scope: 'resource group' },
  /** Microsoft.Network/privateEndpoints: "2-64. Alphanumerics, underscores, periods, and hyphens. Start with alphanumeric. End alphanumeric or underscore." */
  privateEndpoint: { pattern: /^[A-Za-z0-9][\w.-]{0,62}\w$/, text: '2-64 letters, digits, underscores, periods and hyphens, starting with a letter or digit and ending with one or an underscore', scope: 'resource group' },
  /** Microsoft.ManagedIdentity/userAssignedIdentities: "3-128. Alphanumerics, hyphens, and underscores. Start with letter or number." */
  identity: { pattern: /^[A-Za-z0-9][\w-]{2,127}$/, text: '3-128 letters, digits, hyphens and underscores, starting with a letter or digit', scope: 'resource group' },
  /** Microsoft.Compute/virtualMachineScaleSets: "1-64. Alphanumerics, underscores, periods, and hyphens. Start with alphanumeric. End alphanumeric or underscore." (Windows: at most 64, no period or underscore needed here.) */
  scaleSet: { pattern: /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$/, text: '1-64 letters, digits or hyphens, starting with a letter or digit and not ending with a hyphen', scope: 'resource group' },
  /**
   * Microsoft.StandbyPool/standbyVirtualMachinePools: `^[a-zA-Z0-9-]{3,24}$`, as azurerm validates it
   * (internal/services/compute/virtual_machine_scale_set_standby_pool_resource.go at v4.55.0).
   */
  standbyPool: { pattern: /^[a-zA-Z0-9-]{3,24}$/, text: '3-24 letters, digits or hyphens', scope: 'resource group' },
  /** Blob containers: "3-63. Lowercase letters, numbers, and hyphens. Can't start or end with hyphen. Can't use consecutive hyphens." */
  blobContainer: { pattern: /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, text: '3-63 lowercase letters, digits and single hyphens', scope: 'parent' },
  /**
   * Microsoft.OperationalInsights/workspaces: azurerm refuses any name but
   * `^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$` of 4-63 characters, "can only contain alphabet, number,
   * and '-' character. You can not use '-' as the start and end of the name"
   * (internal/services/loganalytics/validate/log_analytics_workspace_name.go at v4.55.0).
   */
  logAnalyticsWorkspace: { pattern: /^(?=.{4,63}$)[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$/, text: '4-63 letters, digits and hyphens, not starting or ending with a hyphen', scope: 'resource group' },
  /** Microsoft.Insights/components: "1-260. Can't use: %&\?/ or control characters. Can't end with space or period." */
  applicationInsights: { pattern: /^(?=.{1,260}$)[^%&\\?/\u0000-\u001f]*[^%&\\?/\u0000-\u001f. ]$/, text: "1-260 characters without % & \\ ? / or control characters, not ending with a space or period", scope: 'resource group' },
  /** Microsoft.Insights/actionGroups: "1-260. Can't use: :<>+/&%\? or control characters. Can't end with space or period." */
  actionGroup: { pattern: /^(?=.{1,260}$)[^:<>+/&%\\?\u0000-\u001f]*[^:<>+/&%\\?\u0000-\u001f. ]$/, text: "1-260 characters without : < > + / & % \\ ? or control characters, not ending with a space or period", scope: 'resource group' },
  /**
   * An action group's `short_name`: azurerm takes 1-12 characters (`validation.StringLenBetween(1, 12)`,
   * internal/services/monitor/monitor_action_group_resource.go at v4.55.0).
   */
  actionGroupShortName: { pattern: /^.{1,12}$/, text: '1-12 characters', scope: 'parent' },
  /** Microsoft.Insights/scheduledQueryRules: "1-260. Can't use: *<>%{}&:\\?/# or control characters. Can't end with space or period." */
  scheduledQueryRule: { pattern: /^(?=.{1,260}$)[^*<>%{}&:\\?/#\u0000-\u001f]*[^*<>%{}&:\\?/#\u0000-\u001f. ]$/, text: '1-260 characters without * < > % { } & : \\ ? / # or control characters, not ending with a space or period', scope: 'resource group' },
  /** Microsoft.Insights/metricAlerts: "1-260. Can't use: *#&+:<>?@%{}\/ or control characters. Can't end with space or period." */
  metricAlert: { pattern: /^(?=.{1,260}$)[^*#&+:<>?@%{}\\/\u0000-\u001f]*[^*#&+:<>?@%{}\\/\u0000-\u001f. ]$/, text: '1-260 characters without * # & + : < > ? @ % { } \\ / or control characters, not ending with a space or period', scope: 'resource group' },
  /**
   * A diagnostic setting: azurerm refuses `<, >, *, %, &, :, \, ?, +, /` and more than 260 characters
   * (internal/services/monitor/validate/monitor_diagnostic_setting.go at v4.55.0).
   */
  diagnosticSetting: { pattern: /^[^<>*%&:\\?+/]{1,260}$/, text: '1-260 characters without < > * % & : \\ ? + /', scope: 'parent' },
} as const satisfies Record<string, NameRule>;

export type NameKind = keyof typeof NAME_RULES;

/** Whether a name satisfies Azure's rule for its resource type. */
export function nameFits(kind: NameKind, name: string): boolean {
  return NAME_RULES[kind].pattern.test(name);
}

/** A user's prefix for global names: it must keep every global name valid, storage accounts included. */
export const globalNamePrefix: Rule<{ prefix: string | undefined }> = ({ prefix }) =>
  prefix === undefined || /^[a-z][a-z0-9]{0,7}$/.test(prefix)
    ? []
    : [error('HRB-NAME-7', 'globalNamePrefix', prefix, 'must be 1-8 lowercase letters or digits, starting with a letter (it begins Key Vault, storage account, PostgreSQL and App Service names)')];

export interface GlobalNameFacts {
  /** Each global name with its Terraform-computed suffix replaced by a sample of the same length and alphabet. */
  readonly names: Readonly<Partial<Record<NameKind, string>>>;
  /** The prop a name came from when the user gave it, e.g. `runtime.appName`. */
  readonly givenBy?: Readonly<Partial<Record<NameKind, string>>>;
}

/** Every global name fits Azure's rule for its type. */
export const globalNames: Rule<GlobalNameFacts> = ({ names, givenBy }) =>
  (Object.entries(names) as [NameKind, string][])
    .filter(([kind, name]) => !nameFits(kind, name))
    .map(([kind, name]) => error('HRB-NAME-8', givenBy?.[kind] ?? `${kind} name`, name, `must be ${NAME_RULES[kind].text} (Azure ${kind} name, unique across Azure)`));

// ---------------------------------------------------------------------------------------------
// Network exposure and the deploy path.

/** IPv4 addresses and CIDR ranges, as Key Vault's firewall takes them (ipRules). */
const IPV4_RANGE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/;

export interface RuntimeNetworkFacts {
  readonly publicNetworkAccess: boolean;
  readonly operatorIpRanges: readonly string[];
  /** The retired `runtime.deployerIpRanges`, when a stack still gives it. */
  readonly deployerIpRanges?: readonly string[];
}

/**
 * The runtime is private by default. Opting out opens the database to the `0.0.0.0` rule, which
 * "allows public access from any Azure service within Azure to this server" (Microsoft Learn,
 * postgresql/flexible-server/concepts-firewall-rules.md): any Azure customer's services, not only yours.
 */
export const runtimeExposure: Rule<RuntimeNetworkFacts> = ({ publicNetworkAccess }) =>
  publicNetworkAccess
    ? [warning('HRB-NET-1', 'runtime.publicNetworkAccess', true, "opens the runtime's PostgreSQL server to every Azure service (firewall rule 0.0.0.0, which admits any Azure customer's services) and its Key Vault to the Internet; remove it to keep both private")]
    : [];

/**
 * The vault's firewall takes IPv4 only: an IP rule's value is "An IPv4 address range in CIDR
 * notation, such as '124.56.78.91' (simple IP address) or '124.56.78.0/24'" (the Key Vault
 * management API's IPRule, as Microsoft Learn documents it for KeyVaultIPRule). Terraform itself
 * needs no address: it never reads or writes the vault's secrets.
 */
export const vaultAccess: Rule<RuntimeNetworkFacts> = ({ operatorIpRanges, deployerIpRanges }) => {
  const findings = operatorIpRanges
    .filter((r) => !IPV4_RANGE.test(r))
    .map((r) => error('HRB-NET-2', 'runtime.operatorIpRanges', r, 'must be an IPv4 address or CIDR range, e.g. 203.0.113.7 or 203.0.113.0/24 (Key Vault firewall ipRules take IPv4 only)'));
  if (deployerIpRanges !== undefined) {
    findings.push(
      warning(
        'HRB-NET-3',
        'runtime.deployerIpRanges',
        new Shown(deployerIpRanges.length ? deployerIpRanges.join(', ') : '(empty)'),
        'is no longer used: terraform never reads or writes the Key Vault\'s secrets, so a deploy works from any address. Remove it; to let people read the admin token from these addresses, give them as runtime.operatorIpRanges',
      ),
    );
  }
  return findings;
};

/**
 * "Any instances created via Flexible scale sets don't have the default outbound access IP
 * associated with them, so an explicit outbound method is required." (Microsoft Learn,
 * virtual-network/ip-services/default-outbound-access.md). An existing subnet must bring its own.
 * Its VNet is linked to the runtime's private DNS zones, but "if you define a custom DNS server in
 * a virtual network, the system doesn't automatically query private DNS zones linked to that
 * virtual network" (Microsoft Learn, "What is an Azure Private DNS zone?", dns/private-dns-privatednszone.md).
 */
export const existingSubnetOutbound: Rule<{ existingSubnet: boolean }> = ({ existingSubnet }) =>
  existingSubnet
    ? [
        warning(
          'HRB-NET-4',
          'network.subnetId',
          new Shown('(existing subnet)'),
          "must provide outbound connectivity itself (a NAT gateway or a firewall): Flexible scale sets get no default outbound access, and each bot downloads Node.js from registry.npmjs.org and the agent from the runtime at boot. This stack links its private DNS zones to the subnet's VNet so that bots resolve the runtime's private endpoint; if that VNet uses DNS servers of its own, forward privatelink.azurewebsites.net to Azure DNS (168.63.129.16) there, or bots use the runtime's public address",
        ),
      ]
    : [];

export interface NetworkLayoutFacts {
  /** The VNet's address space as given or defaulted; may be a Terraform token. */
  readonly addressSpace: string;
  readonly addressSpaceIsToken: boolean;
  /** The subnets the library makes in the VNet, by the prop that sets each. */
  readonly subnets: readonly { readonly field: string; readonly prefix: string; readonly derived: boolean }[];
  /** The longest address-space prefix that holds the layout the derived subnets follow. */
  readonly layoutPrefixLength: number;
}

/** The smallest subnet Azure creates. */
export const SMALLEST_SUBNET_PREFIX_LENGTH = 29;

/**
 * Every subnet lies inside the VNet's address space, apart from the others. Microsoft Learn, "Add,
 * change, or delete a virtual network subnet" (virtual-network/virtual-network-manage-subnet.md):
 * "The range must be unique within the address space for the virtual network. The range can't
 * overlap with other subnet address ranges within the virtual network. The address space must be
 * specified by using Classless Inter-Domain Routing (CIDR) notation." and "The smallest range you
 * can specify is /29". Subnets not given are derived from the space, which must hold their layout.
 */
export const networkLayout: Rule<NetworkLayoutFacts> = ({ addressSpace, addressSpaceIsToken, subnets, layoutPrefixLength }) => {
  const derived = subnets.filter((s) => s.derived);
  const layout = `bots /22, then runtime /26 and database /28, from the start of the space: a /${layoutPrefixLength} or larger`;
  const setAll = `set ${derived.map((s) => `network.${s.field}`).join(', ')}`;
  if (addressSpaceIsToken) {
    return derived.length
      ? [error('HRB-NET-5', 'network.addressSpace', new Shown('(Terraform token)'), `is only known at apply time, so the subnets cannot be laid out from it; ${setAll}`)]
      : [];
  }
  const space = parseIpv4Range(addressSpace);
  if (!space) return [error('HRB-NET-5', 'network.addressSpace', addressSpace, 'must be an IPv4 range in CIDR notation, e.g. 10.80.0.0/16 (Azure VNet address space)')];
  if (derived.length && space.prefixLength > layoutPrefixLength) {
    return [error('HRB-NET-5', 'network.addressSpace', addressSpace, `is too small for the subnets derived from it (${layout}); give a larger space, or ${setAll}`)];
  }
  const findings: Finding[] = [];
  const placed: { field: string; prefix: string; range: Ipv4Range }[] = [];
  for (const subnet of subnets) {
    const field = `network.${subnet.field}`;
    const value = subnet.derived ? new Shown(`${JSON.stringify(subnet.prefix)} (derived from network.addressSpace)`) : subnet.prefix;
    const range = parseIpv4Range(subnet.prefix);
    if (!range) {
      findings.push(error('HRB-NET-5', field, value, 'must be an IPv4 range in CIDR notation, e.g. 10.80.0.0/22 (Azure subnet address range)'));
      continue;
    }
    if (range.prefixLength > SMALLEST_SUBNET_PREFIX_LENGTH) {
      findings.push(error('HRB-NET-5', field, value, `is smaller than a /${SMALLEST_SUBNET_PREFIX_LENGTH}, the smallest subnet Azure creates`));
    }
    if (!contains(space, range)) {
      findings.push(error('HRB-NET-5', field, value, `lies outside network.addressSpace ${addressSpace}; Azure creates a subnet only inside its VNet's address space: choose a range inside it`));
    }
    const clash = placed.find((p) => overlaps(p.range, range));
    if (clash) findings.push(error('HRB-NET-5', field, value, `overlaps network.${clash.field} ${clash.prefix}; subnets of a VNet must not overlap: choose ranges apart`));
    placed.push({ field: subnet.field, prefix: subnet.prefix, range });
  }
  return findings;
};

export interface WebAppPackageFacts {
  readonly zipDeployFile: boolean;
  /** `webdeploy_publish_basic_authentication_enabled`; azurerm defaults it to true. */
  readonly basicAuthEnabled: boolean;
}

/**
 * `zip_deploy_file` publishes with the publishing profile's basic authentication (azurerm docs for
 * linux_web_app; hashicorp/terraform-provider-azurerm#25775, "zip_deploy_file publishing failed
 * with status code 401 Unauthorized"): with basic authentication off, every apply after the first fails.
 */
export const packageDelivery: Rule<WebAppPackageFacts> = ({ zipDeployFile, basicAuthEnabled }) =>
  zipDeployFile && !basicAuthEnabled
    ? [error('HRB-RUNTIME-4', 'zipDeployFile', new Shown('(set)'), 'publishes with basic authentication, which webdeployPublishBasicAuthenticationEnabled: false turns off, so every apply after the first fails with 401; deliver the package as a blob read by the app\'s managed identity (WEBSITE_RUN_FROM_PACKAGE with WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID)')]
    : [];

// ---------------------------------------------------------------------------------------------
// Monitoring: the Log Analytics workspace, Application Insights, diagnostic settings and alerts.

/**
 * `retention_in_days` of a Log Analytics workspace: azurerm takes `validation.IntBetween(30, 730)`
 * (internal/services/loganalytics/log_analytics_workspace_resource.go at v4.55.0). That provider
 * no longer offers the Free tier, whose 7 days older versions also accepted, so 7 is refused too.
 */
export const WORKSPACE_RETENTION_DAYS = { min: 30, max: 730 } as const;

/**
 * `retention_in_days` of Application Insights: azurerm takes one of these only
 * (`validation.IntInSlice`, internal/services/applicationinsights/application_insights_resource.go at v4.55.0).
 */
export const APPLICATION_INSIGHTS_RETENTION_DAYS: readonly number[] = [30, 60, 90, 120, 180, 270, 365, 550, 730];

export interface MonitoringRetentionFacts {
  readonly retentionDays: number;
  /** Whether the library creates the workspace (no `logAnalyticsWorkspaceId` given). */
  readonly createsWorkspace: boolean;
  /** Whether the library creates Application Insights (no `applicationInsightsConnectionString` given). */
  readonly createsApplicationInsights: boolean;
}

/**
 * The retention applies to the workspace and the Application Insights the library creates, so it
 * must be one both take: 30-730 days for the workspace, and one of Application Insights' fixed
 * values. Resources given by ID keep their own retention.
 */
export const monitoringRetention: Rule<MonitoringRetentionFacts> = ({ retentionDays, createsWorkspace, createsApplicationInsights }) => {
  const findings: Finding[] = [];
  const { min, max } = WORKSPACE_RETENTION_DAYS;
  if (createsWorkspace && !(Number.isInteger(retentionDays) && retentionDays >= min && retentionDays <= max)) {
    findings.push(
      error('HRB-MON-1', 'monitoring.retentionDays', retentionDays, `must be a whole number of days from ${min} to ${max} (Log Analytics workspace retention_in_days, as azurerm validates it in log_analytics_workspace_resource.go)`),
    );
  }
  if (createsApplicationInsights && !APPLICATION_INSIGHTS_RETENTION_DAYS.includes(retentionDays)) {
    findings.push(
      error(
        'HRB-MON-1',
        'monitoring.retentionDays',
        retentionDays,
        `must be one of ${APPLICATION_INSIGHTS_RETENTION_DAYS.join(', ')} (Application Insights retention_in_days, as azurerm validates it in application_insights_resource.go)`,
      ),
    );
  }
  return findings;
};

export interface MonitoringNameFacts {
  /** Each name the monitoring declares, with its kind and the prop it comes from (given or derived). */
  readonly names: readonly { readonly kind: NameKind; readonly field: string; readonly name: string; readonly derived: boolean }[];
}

/** Every monitoring name fits Azure's (or azurerm's) rule for its type. */
export const monitoringNames: Rule<MonitoringNameFacts> = ({ names }) =>
  names
    .filter(({ kind, name }) => !nameFits(kind, name))
    .map(({ kind, field, name, derived }) =>
      error('HRB-MON-2', field, name, `must be ${NAME_RULES[kind].text} (Azure ${kind} name)${derived ? '; it is derived from the environment name, so fix the one that breaks HRB-NAME-5' : ''}`),
    );

/**
 * A workspace ID as azurerm's `workspaces.ValidateWorkspaceID` takes it:
 * `/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name>`.
 */
const WORKSPACE_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+$/i;

export interface ExistingMonitoringFacts {
  /** `monitoring.logAnalyticsWorkspaceId` as given; may be a Terraform token. */
  readonly workspaceId?: string;
  readonly workspaceIdIsToken: boolean;
  /** `monitoring.applicationInsightsConnectionString` as given; may be a Terraform token. */
  readonly connectionString?: string;
  readonly connectionStringIsToken: boolean;
}

/**
 * Existing resources are given by what Azure identifies them with. A workspace is a resource ID
 * (azurerm's `workspaces.ValidateWorkspaceID` on `workspace_id` and `log_analytics_workspace_id`).
 * A connection string names its resource with `InstrumentationKey=`, which Microsoft Learn, "Connection
 * strings in Application Insights" (azure-monitor/app/connection-strings.md), lists as required.
 * Application Insights given by connection string writes to a workspace the library cannot look
 * up: alerts query it and diagnostic settings write to it, so its ID is needed too.
 */
export const existingMonitoring: Rule<ExistingMonitoringFacts> = ({ workspaceId, workspaceIdIsToken, connectionString, connectionStringIsToken }) => {
  const findings: Finding[] = [];
  if (workspaceId !== undefined && !workspaceIdIsToken && !WORKSPACE_ID.test(workspaceId)) {
    findings.push(
      error(
        'HRB-MON-3',
        'monitoring.logAnalyticsWorkspaceId',
        workspaceId,
        'must be a Log Analytics workspace resource ID, /subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name> (the workspace\'s "Resource ID" in its JSON view, not its workspace (customer) ID)',
      ),
    );
  }
  if (connectionString !== undefined && !connectionStringIsToken && !/(^|;)\s*InstrumentationKey=[^;]+/i.test(connectionString)) {
    findings.push(
      error('HRB-MON-3', 'monitoring.applicationInsightsConnectionString', new Shown('(connection string without InstrumentationKey)'), 'must be an Application Insights connection string, InstrumentationKey=...;IngestionEndpoint=... (Overview page of the resource)'),
    );
  }
  if (connectionString !== undefined && workspaceId === undefined) {
    findings.push(
      error(
        'HRB-MON-3',
        'monitoring.applicationInsightsConnectionString',
        new Shown('(given)'),
        "needs monitoring.logAnalyticsWorkspaceId too: the ID of the workspace that Application Insights resource writes to, which the alert rules query and the diagnostic settings write to; give both, or neither to have both created",
      ),
    );
  }
  return findings;
};

export interface AlertReceiverFacts {
  readonly emails: readonly { readonly value: string; readonly isToken: boolean }[];
  readonly webhookUrls: readonly { readonly value: string; readonly isToken: boolean }[];
}

/** How a webhook URL is shown in a message: scheme and host only, since its path or query often carries a secret. */
export function maskWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.host ? `${parsed.protocol}//${parsed.host}/...` : '(not a URL)';
  } catch {
    return '(not a URL)';
  }
}

/**
 * Receivers of the action group. A webhook's `service_uri` is `validation.IsURLWithScheme([]string{"http",
 * "https"})` in azurerm (monitor_action_group_resource.go at v4.55.0). azurerm takes any non-empty
 * e-mail address, so a typo would only show when nobody is told of an alert: it must look like an
 * address. Values only known at apply time are not checked.
 */
export const alertReceivers: Rule<AlertReceiverFacts> = ({ emails, webhookUrls }) => {
  const findings: Finding[] = [];
  emails.forEach(({ value, isToken }, i) => {
    if (!isToken && !/^[^\s@]+@[^\s@]+\.[^\s@.]+$/.test(value)) {
      findings.push(error('HRB-MON-4', `monitoring.alerts.emails[${i}]`, value, 'must be an e-mail address, name@example.com (an action group e-mail receiver)'));
    }
  });
  webhookUrls.forEach(({ value, isToken }, i) => {
    if (isToken) return;
    let ok = false;
    try {
      const url = new URL(value);
      ok = (url.protocol === 'https:' || url.protocol === 'http:') && url.host !== '';
    } catch {
      ok = false;
    }
    if (!ok) {
      findings.push(error('HRB-MON-4', `monitoring.alerts.webhookUrls[${i}]`, new Shown(maskWebhookUrl(value)), 'must be an absolute http or https URL (action group webhook_receiver service_uri, as azurerm validates it)'));
    }
  });
  return findings;
};

/** A webhook over plain HTTP carries the alert, and any secret in its URL, unencrypted: a warning. */
export const webhookTransport: Rule<AlertReceiverFacts> = ({ webhookUrls }) =>
  webhookUrls
    .map(({ value, isToken }, i) => ({ value, isToken, i }))
    .filter(({ value, isToken }) => !isToken && /^http:\/\//i.test(value))
    .map(({ value, i }) =>
      warning('HRB-MON-8', `monitoring.alerts.webhookUrls[${i}]`, new Shown(maskWebhookUrl(value)), 'is plain HTTP: the alert payload, and any token in the URL, travel unencrypted; use https'),
    );

/**
 * `window_duration` of a scheduled query rule (azurerm's list in
 * monitor_scheduled_query_rules_alert_v2_resource.go at v4.55.0), in minutes. With the library's
 * evaluation every 5 minutes, PT1M is not allowed: "If `evaluation_frequency` is `PT1M`, possible
 * values are `PT1M` ... Otherwise, possible values are `PT5M`, ..." (azurerm docs for
 * monitor_scheduled_query_rules_alert_v2), and the look-back may not be shorter than the frequency.
 */
export const ALERT_WINDOW_MINUTES: readonly number[] = [5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880];

export interface AlertSettingsFacts {
  readonly queueWaitMinutes: unknown;
  readonly provisioningErrors: unknown;
  readonly windowMinutes: unknown;
  readonly severity: unknown;
}

/**
 * Thresholds are positive: a wait of more than `queueWaitMinutes` minutes (a number above 0), at
 * least `provisioningErrors` errors (a whole number, 1 or more) in the window. The window is one
 * azurerm takes, and the severity is `validation.IntBetween(0, 4)` on both alert kinds.
 */
export const alertSettings: Rule<AlertSettingsFacts> = ({ queueWaitMinutes, provisioningErrors, windowMinutes, severity }) => {
  const findings: Finding[] = [];
  if (!(typeof queueWaitMinutes === 'number' && Number.isFinite(queueWaitMinutes) && queueWaitMinutes > 0)) {
    findings.push(error('HRB-MON-5', 'monitoring.alerts.queueWaitMinutes', queueWaitMinutes, 'must be a number of minutes greater than 0 (a run waiting longer alerts)'));
  }
  if (!(typeof provisioningErrors === 'number' && Number.isInteger(provisioningErrors) && provisioningErrors >= 1)) {
    findings.push(error('HRB-MON-5', 'monitoring.alerts.provisioningErrors', provisioningErrors, 'must be a whole number, 1 or more (this many provisioning errors of a group within the window alert)'));
  }
  if (!(typeof windowMinutes === 'number' && ALERT_WINDOW_MINUTES.includes(windowMinutes))) {
    findings.push(
      error('HRB-MON-5', 'monitoring.alerts.windowMinutes', windowMinutes, `must be one of ${ALERT_WINDOW_MINUTES.join(', ')} minutes (scheduled query rule window_duration, as azurerm validates it, evaluated every 5 minutes)`),
    );
  }
  if (!(typeof severity === 'number' && Number.isInteger(severity) && severity >= 0 && severity <= 4)) {
    findings.push(error('HRB-MON-5', 'monitoring.alerts.severity', severity, 'must be a whole number from 0 (critical) to 4 (verbose) (alert rule severity, as azurerm validates it)'));
  }
  return findings;
};

/** Resource types the library sends diagnostics from. */
export type DiagnosticResourceType = 'Microsoft.Web/sites' | 'Microsoft.KeyVault/vaults' | 'Microsoft.DBforPostgreSQL/flexibleServers';

/**
 * Log category groups each resource type offers, as Azure's built-in policies that send them to
 * Log Analytics set them (Azure/azure-policy, built-in-policies/policyDefinitions/Monitoring/):
 * "Enable logging by category group for App Service (microsoft.web/sites) to Log Analytics"
 * (DiagSettings_logAnalytics_app-service_DINE.json) sets `allLogs` only; those for Key vaults
 * (DS_LA_keyvault-vaults_DINE.json) and for microsoft.dbforpostgresql/flexibleservers
 * (DS_LA_dbforpostgresql-flexibleservers_DINE.json) take "audit" or "allLogs". Each also exports
 * `AllMetrics`.
 */
export const DIAGNOSTIC_CATEGORY_GROUPS: Readonly<Record<DiagnosticResourceType, readonly string[]>> = {
  'Microsoft.Web/sites': ['allLogs'],
  'Microsoft.KeyVault/vaults': ['audit', 'allLogs'],
  'Microsoft.DBforPostgreSQL/flexibleServers': ['audit', 'allLogs'],
};

export interface DiagnosticFacts {
  readonly diagnostics: readonly { readonly field: string; readonly resourceType: DiagnosticResourceType; readonly logs: string }[];
}

/** Each diagnostic setting asks only for a category group its resource type has, or for none (metrics only). */
export const diagnosticCategories: Rule<DiagnosticFacts> = ({ diagnostics }) =>
  diagnostics
    .filter(({ resourceType, logs }) => logs !== 'none' && !DIAGNOSTIC_CATEGORY_GROUPS[resourceType].includes(logs))
    .map(({ field, resourceType, logs }) =>
      error('HRB-MON-6', field, logs, `must be a log category group ${resourceType} has, ${DIAGNOSTIC_CATEGORY_GROUPS[resourceType].map((g) => `'${g}'`).join(' or ')}, or 'none' for metrics only`),
    );

/** Alerts with no receiver and no existing action group fire in the portal only: a warning. */
export const alertRecipients: Rule<{ receivers: number; actionGroupIds: number }> = ({ receivers, actionGroupIds }) =>
  receivers === 0 && actionGroupIds === 0
    ? [
        warning(
          'HRB-MON-7',
          'monitoring.alerts',
          new Shown('(no emails, webhookUrls or actionGroupIds)'),
          'notifies nobody: the alert rules fire in the Azure portal only; add monitoring.alerts.emails, webhookUrls or actionGroupIds, or set monitoring.alerts.enabled to false',
        ),
      ]
    : [];

// ---------------------------------------------------------------------------------------------
// Node.js support.

/** End of life of each Node.js LTS line (nodejs.org, "Node.js Releases"; github.com/nodejs/Release schedule.json). */
export const NODE_END_OF_LIFE: Readonly<Record<string, string>> = {
  '18': '2025-04-30',
  '20': '2026-04-30',
  '22': '2027-04-30',
  '24': '2028-04-30',
};

/** The Node.js a stack deploys is an LTS line that is still supported on the day of synth. */
export const nodeSupport: Rule<{ field: string; version: string; today: Date }> = ({ field, version, today }) => {
  const major = /^(\d+)/.exec(version)?.[1];
  const end = major ? NODE_END_OF_LIFE[major] : undefined;
  if (!end) return [warning('HRB-NODE-1', field, version, `is not a Node.js LTS line with a known end of life (${Object.keys(NODE_END_OF_LIFE).join(', ')})`)];
  if (today.toISOString().slice(0, 10) > end) {
    return [warning('HRB-NODE-1', field, version, `reached end of life on ${end}; move to a supported Node.js LTS`)];
  }
  return [];
};

/**
 * App Service plans that carry the runtime: Linux web-app SKUs that support private endpoints and
 * VNet integration, from the built-in policy "App Service apps should use a SKU that supports
 * private link" (Azure/azure-policy, built-in-policies/policyDefinitions/App Service/
 * DisablePrivateEndpoint_Deny.json), without the Functions and Logic Apps plans. Free and Shared
 * plans have neither, nor Always On.
 */
export const RUNTIME_PLAN_SKUS: readonly string[] = [
  'B1', 'B2', 'B3', 'S1', 'S2', 'S3', 'P1V2', 'P2V2', 'P3V2', 'P0V3', 'P1V3', 'P2V3', 'P3V3',
  'P1MV3', 'P2MV3', 'P3MV3', 'P4MV3', 'P5MV3', 'I1V2', 'I2V2', 'I3V2', 'I4V2', 'I5V2', 'I6V2',
];

export const runtimePlan: Rule<{ planSku: string }> = ({ planSku }) =>
  RUNTIME_PLAN_SKUS.includes(planSku.toUpperCase())
    ? []
    : [error('HRB-RUNTIME-1', 'runtime.planSku', planSku, `must be an App Service plan with VNet integration, private endpoints and Always On: one of ${RUNTIME_PLAN_SKUS.join(', ')}`)];

/**
 * Bots prove their group best with their managed identity (no shared secret on any VM), which
 * needs the runtime's Entra ID audience; a shared token is the opt-in for runtimes without it.
 */
export const botAuthentication: Rule<{ botAuthentication: 'managed-identity' | 'token'; chosen: boolean; entra: boolean }> = ({ botAuthentication: kind, chosen, entra }) => {
  if (kind === 'managed-identity' && !entra) {
    return [error('HRB-RUNTIME-2', 'runtime.botAuthentication', kind, 'needs runtime.entra (tenantId and the runtime\'s audience): bots present their managed identity\'s token for that audience; set it, or choose token')];
  }
  // Chosen explicitly, a shared token is an informed opt-in; by default, it is worth a word.
  if (kind === 'token' && !chosen) {
    return [
      warning(
        'HRB-RUNTIME-3',
        'runtime.botAuthentication',
        kind,
        "is token because runtime.entra is not set: every bot of a group holds the group's shared token, which its flows can read; set runtime.entra so that bots prove their group with their managed identity, or choose token explicitly",
      ),
    ];
  }
  return [];
};
