/**
 * Every Azure resource name the library makes comes from here, so names stay consistent and a
 * rule change happens in one place. `azure-rules.ts` holds Azure's rule for each resource type;
 * the tests check these names against those rules for generated inputs.
 *
 * Global names (Key Vault, storage account, PostgreSQL server, web app) end in a suffix that
 * Terraform computes at plan time from the resource group's ID, the way Bicep templates use
 * `uniqueString(resourceGroup().id)`: unique per subscription, and the same on every apply.
 */
import { createHash } from 'crypto';

/** Windows allows 15 characters and Azure appends 6 per VM, so a prefix has at most 9. */
const COMPUTER_NAME_PREFIX_MAX = 9;

/** Hex characters of the global-name suffix (40 bits). */
export const NAME_SUFFIX_LENGTH = 10;

/** A suffix of the right length and alphabet, for checking names at synth, before Terraform computes the real one. */
export const SAMPLE_NAME_SUFFIX = '5f3a9c0e1b';

/** Longest names Azure accepts, per type (resource-name-rules.md; standby pools and action group short names: azurerm's validation, see NAME_RULES). */
const MAX = { keyVault: 24, storageAccount: 24, postgresServer: 63, webApp: 60, scaleSet: 64, identity: 128, standbyPool: 24, actionGroupShortName: 12 } as const;

/** The suffix Terraform derives from the resource group ID; tests compute it here to compare. */
export function globalNameSuffix(subscriptionId: string, resourceGroupName: string): string {
  return createHash('sha256').update(resourceGroupId(subscriptionId, resourceGroupName).toLowerCase()).digest('hex').slice(0, NAME_SUFFIX_LENGTH);
}

export function resourceGroupId(subscriptionId: string, resourceGroupName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}`;
}

/** Joins segments with single hyphens: no empty segment, no leading, trailing or doubled hyphen. */
function hyphenated(segments: readonly string[]): string {
  return segments
    .map((s) => s.replace(/-+/g, '-').replace(/^-|-$/g, ''))
    .filter((s) => s !== '')
    .join('-');
}

/**
 * `segments` joined by hyphens, then `-<suffix>`, within `max` characters: the last segment is cut
 * to fit (never below zero), then the others from the right.
 */
function withSuffix(segments: readonly string[], suffix: string, max: number): string {
  const room = max - NAME_SUFFIX_LENGTH - 1;
  const cut = [...segments];
  for (let i = cut.length - 1; i >= 0 && hyphenated(cut).length > room; i--) {
    const over = hyphenated(cut).length - room;
    cut[i] = cut[i].slice(0, Math.max(0, cut[i].length - over));
  }
  return `${hyphenated(cut)}-${suffix}`;
}

/** What every global name is built from. `suffix` is Terraform's (a token) or, in tests, ten hex characters. */
export interface GlobalNameInputs {
  /** A user's prefix for global names, lowercase letters and digits. */
  readonly prefix?: string;
  readonly environment: string;
  readonly suffix: string;
}

/** A short hash that keeps names apart when a readable name had to be shortened. */
export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 6);
}

/** `full` when it fits in `max` characters, else cut, with trailing hyphens dropped, and ended by a hash of `key`. */
function cutWithHash(full: string, max: number, key: string): string {
  if (full.length <= max) return full;
  const hash = shortHash(key);
  return `${full.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

export const names = {
  resourceGroup: (environment: string, region: string): string => `rg-hostedbots-${environment}-${region}`,
  virtualNetwork: (environment: string): string => `vnet-hostedbots-${environment}`,
  subnet: (): string => 'snet-bots',
  runtimeSubnet: (): string => 'snet-runtime-app',
  databaseSubnet: (): string => 'snet-runtime-database',
  networkSecurityGroup: (environment: string): string => `nsg-hostedbots-${environment}-bots`,
  natGateway: (environment: string): string => `ng-hostedbots-${environment}`,
  natPublicIp: (environment: string): string => `pip-hostedbots-${environment}-outbound`,
  runtimePrivateEndpoint: (environment: string): string => `pe-hostedbots-${environment}-runtime`,
  vaultPrivateEndpoint: (environment: string): string => `pe-hostedbots-${environment}-vault`,
  /** The link of the runtime's private DNS zones to the VNet of an existing bots subnet. */
  botNetworkLink: (environment: string): string => `link-hostedbots-${environment}-bots`,
  /** Scale set names are at most 64 characters; a longer environment and group pair is cut and told apart by a hash. */
  scaleSet: (environment: string, group: string): string => cutWithHash(`vmss-${environment}-${group}`, MAX.scaleSet, `${environment}/${group}`),
  /** Standby pool names are 3-24 letters, digits or hyphens; a longer environment and group pair is cut and told apart by a hash. */
  standbyPool: (environment: string, group: string): string => cutWithHash(`sbp-${environment}-${group}`, MAX.standbyPool, `${environment}/${group}`),
  botIdentity: (environment: string, group: string): string => `id-${environment}-${group}-bots`,
  runtimeIdentity: (environment: string): string => `id-hostedbots-${environment}-runtime`,
  servicePlan: (environment: string): string => `asp-hostedbots-${environment}`,
  /** Custom role names must be unique in the Entra tenant, so the suffix keeps subscriptions apart. */
  roleDefinition: (role: string, environment: string, region: string, suffix: string): string =>
    `Hosted RPA bots ${role} (${environment}, ${region}, ${suffix})`,
  /** Key Vault: 3-24 letters, digits and single hyphens, starting with a letter. */
  keyVault: ({ prefix, environment, suffix }: GlobalNameInputs): string => withSuffix([prefix ?? '', 'kv', environment], suffix, MAX.keyVault),
  /** Storage account: 3-24 lowercase letters and digits. */
  storageAccount: ({ prefix, environment, suffix }: GlobalNameInputs): string => {
    const head = `${prefix ?? ''}st${environment.replace(/[^a-z0-9]/g, '')}`;
    return `${head.slice(0, MAX.storageAccount - NAME_SUFFIX_LENGTH)}${suffix}`;
  },
  /** PostgreSQL flexible server: 3-63 lowercase letters, digits and hyphens. */
  postgresServer: ({ prefix, environment, suffix }: GlobalNameInputs): string =>
    withSuffix([prefix ?? '', 'psql-hostedbots', environment], suffix, MAX.postgresServer),
  /** App Service: 2-60 letters, digits and hyphens; the runtime's host name is `<name>.azurewebsites.net`. */
  webApp: ({ prefix, environment, suffix }: GlobalNameInputs): string => withSuffix([prefix ?? '', 'hostedbots', environment], suffix, MAX.webApp),
  /** Log Analytics workspace: 4-63 letters, digits and hyphens, unique in the resource group. */
  logAnalyticsWorkspace: (environment: string): string => `log-hostedbots-${environment}`,
  /** Application Insights component: 1-260 characters, unique in the resource group. */
  applicationInsights: (environment: string): string => `appi-hostedbots-${environment}`,
  /** The environment's action group, which every alert rule of the environment notifies. */
  actionGroup: (environment: string): string => `ag-hostedbots-${environment}`,
  /**
   * An action group's short name (1-12 characters), which Azure shows in the e-mails and SMS it
   * sends: `bots-` and as much of the environment's name as fits, without a trailing hyphen.
   */
  actionGroupShortName: (environment: string): string => `bots-${environment}`.slice(0, MAX.actionGroupShortName).replace(/-+$/, ''),
  /** An alert rule of the environment, e.g. `alert-hostedbots-demo-queue-wait`. */
  alertRule: (environment: string, alert: string): string => `alert-hostedbots-${environment}-${alert}`,
  /** The diagnostic setting that sends a runtime resource's logs and metrics to the workspace. */
  diagnosticSetting: (): string => 'hostedbots-to-log-analytics',
  /** The private DNS zone of the PostgreSQL server; Azure requires the `.postgres.database.azure.com` ending. */
  postgresDnsZone: (environment: string): string => `hostedbots-${environment}.private.postgres.database.azure.com`,
  /** Derives a Windows computer-name prefix from a group name: its first 9 letters, digits or hyphens. */
  computerNamePrefix: (group: string): string =>
    group.replace(/[^A-Za-z0-9-]/g, '').slice(0, COMPUTER_NAME_PREFIX_MAX),
};
