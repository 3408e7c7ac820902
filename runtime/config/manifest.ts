/**
 * The fleet manifest as the runtime reads it: validated on start with the contract's schema
 * (fleet-schema.ts, shared with the construct library), refused with every problem listed. This
 * module adds what only the runtime needs: reading the file, refusing fields Terraform has not
 * resolved, filling them in for local runs, and the error's wording.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { DEFAULTS, fleetManifestSchema, FleetManifest, ManifestFlow, ManifestGroup, ScalingSettings } from './fleet-schema';

export { manifestSchema } from './fleet-schema';
export type { FleetManifest, ManifestGroup, ScalingSettings };
export type FlowDefinition = ManifestFlow;

export const DEFAULT_QUEUE_SETTINGS = DEFAULTS.queue;
export const DEFAULT_RUN_RETENTION_DAYS = DEFAULTS.runRetentionDays;
export const DEFAULT_IDEMPOTENCY_KEY_HOURS = DEFAULTS.idempotencyKeyHours;

/** A manifest the runtime refuses, with every problem found. */
export class ManifestError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`fleet manifest ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

/** A bad record key (a flow's name) says why, not only zod's "Invalid key in record". */
function issueMessage(issue: { code: string; message: string; issues?: ReadonlyArray<{ message: string }> }): string {
  return issue.code === 'invalid_key' && issue.issues?.length ? issue.issues.map((i) => i.message).join('; ') : issue.message;
}

function describePath(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(manifest)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

/**
 * The fields synth leaves as Terraform expressions for apply time (`localizeManifest` fills the
 * same ones locally). Only these are checked: user text such as a flow command may hold `${`
 * (PowerShell's `${env:TEMP}`) and is not an expression.
 */
function applyTimeFields(value: unknown): Array<[string, unknown]> {
  const groups = (value as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups)) return [];
  return groups.flatMap((group: Record<string, any> | null, i): Array<[string, unknown]> => [
    [`groups.[${i}].vmss.subscriptionId`, group?.vmss?.subscriptionId],
    [`groups.[${i}].botTokenSha256`, group?.botTokenSha256],
    [`groups.[${i}].credentialVersion`, group?.credentialVersion],
    ...(['principalId', 'resourceId', 'clientId'] as const).map((k): [string, unknown] => [`groups.[${i}].botAuth.${k}`, group?.botAuth?.[k]]),
    ...(group?.image?.kind === 'gallery' ? [[`groups.[${i}].image.id`, group.image.id] as [string, unknown]] : []),
  ]);
}

/** Terraform expressions left in a synthesized manifest's apply-time fields, by path. */
export function unresolvedTokens(value: unknown): string[] {
  return applyTimeFields(value)
    .filter(([, v]) => typeof v === 'string' && v.includes('${'))
    .map(([path]) => path);
}

export interface ParseOptions {
  /**
   * A deployed runtime refuses a manifest that still holds Terraform tokens (values only known at
   * apply time). Local runs replace them first, see localizeManifest().
   * @default true
   */
  readonly requireResolved?: boolean;
  /** How messages name the manifest. @default 'manifest' */
  readonly source?: string;
  /**
   * A local fleet running in compressed time (the demo, tests, benchmarks): durations need only
   * be more than 0. A deployed runtime never sets it.
   * @default false
   */
  readonly compressedTime?: boolean;
}

/** Validates a parsed manifest; throws ManifestError listing every problem. */
export function parseManifest(raw: unknown, options: ParseOptions = {}): FleetManifest {
  const source = options.source ?? 'manifest';
  const result = fleetManifestSchema({ compressedTime: options.compressedTime }).safeParse(raw);
  const problems = result.success ? [] : result.error.issues.map((issue) => `${describePath(issue.path)}: ${issueMessage(issue)}`);
  if (options.requireResolved ?? true) {
    for (const path of unresolvedTokens(raw)) {
      problems.push(`${path}: still holds a Terraform expression; deploy the stack (terraform resolves it) or run locally with values filled in`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ManifestError(source, problems);
  return result.data;
}

/** Reads and validates a fleet.json file. */
export function loadManifest(file: string, options: Omit<ParseOptions, 'source'> = {}): FleetManifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ManifestError(file, [`cannot be read: ${(err as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(file, [`is not JSON: ${(err as Error).message}`]);
  }
  return parseManifest(raw, { ...options, source: file });
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Values a local run uses in place of what Terraform would fill in at apply time. */
export interface LocalValues {
  readonly subscriptionId: string;
  /** The bot token of each group, by group name. */
  readonly botTokens: Readonly<Record<string, string>>;
  /** The admin credential version of each group, by group name, as a rotation would change it. @default 'local' */
  readonly credentialVersions?: Readonly<Record<string, string>>;
  /**
   * Groups whose bots prove the group with a (local) managed identity, and that identity, by group
   * name. @default none: every group's bots use a token
   */
  readonly identities?: Readonly<Record<string, { readonly principalId: string; readonly resourceId: string; readonly clientId: string }>>;
}

/**
 * Fills a synthesized manifest's apply-time values with local ones, for the demo, tests and
 * benchmarks: the subscription, each group's bot-token hash and credential version, and gallery image IDs.
 */
export function localizeManifest(raw: unknown, values: LocalValues): unknown {
  const manifest = JSON.parse(JSON.stringify(raw)) as { groups?: Array<Record<string, any>> };
  for (const group of manifest.groups ?? []) {
    const token = values.botTokens[group.name];
    if (token === undefined) throw new Error(`no local bot token for group "${group.name}"`);
    group.botTokenSha256 = sha256Hex(token);
    // Simulated VMs have a managed identity only where a local one is given; the others use a token.
    const identity = values.identities?.[group.name];
    group.botAuth = identity ? { kind: 'managed-identity', principalId: identity.principalId, resourceId: identity.resourceId, clientId: identity.clientId } : { kind: 'token' };
    if (group.vmss && typeof group.vmss.subscriptionId === 'string' && group.vmss.subscriptionId.includes('${')) {
      group.vmss.subscriptionId = values.subscriptionId;
    }
    if (group.credentialVersion !== undefined && String(group.credentialVersion).includes('${')) {
      group.credentialVersion = values.credentialVersions?.[group.name] ?? 'local';
    }
    if (group.image?.kind === 'gallery' && String(group.image.id).includes('${')) {
      group.image.id = `/subscriptions/${values.subscriptionId}/resourceGroups/local/providers/Microsoft.Compute/galleries/${group.image.gallery}/images/${group.image.image}/versions/${group.image.version}`;
    }
  }
  return manifest;
}

/** The scale set resource ID of a group. */
export function scaleSetId(group: ManifestGroup): string {
  const { subscriptionId, resourceGroup, name } = group.vmss;
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
}
