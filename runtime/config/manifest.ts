/**
 * The fleet manifest as the runtime reads it: validated with zod on start, refused with every
 * problem listed. The construct library writes it (constructs/fleet-manifest.ts); this module
 * does not import the constructs, it holds its own schema of the contract.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { z } from 'zod';

const MAX_GROUPS = 10;
const MAX_BOTS_PER_GROUP = 50;
const MAX_FLOW_TIMEOUT_MINUTES = 24 * 60;

const positive = z.number().positive();

const scalingSchema = z
  .object({
    idleMinutes: z.number().min(0),
    standbyBots: z.number().int().min(0),
    coldAfterHours: z.number().min(0),
    bootTimeoutMinutes: positive,
    heartbeatSeconds: positive,
    maxAttempts: z.number().int().min(1),
    queueTimeoutHours: positive,
    inactiveDays: positive,
    standbyPool: z
      .object({
        maxReadyCapacity: z.number().int().min(0),
        minReadyCapacity: z.number().int().min(0).optional(),
        vmState: z.enum(['Running', 'Deallocated']).optional(),
      })
      .optional(),
    recycleAfterRuns: z.number().int().min(1).optional(),
    // Predictive warm-up; absent in manifests written before it existed (the runtime then has it on).
    predictive: z.boolean().optional(),
    predictiveLeadMinutes: positive.optional(),
    predictiveMaxBots: z.number().int().min(0).optional(),
  })
  .strict();

const principal = z.string().min(1).max(256);

const flowSchema = z
  .object({
    command: z.string().min(1),
    timeoutMinutes: z.number().positive().max(MAX_FLOW_TIMEOUT_MINUTES),
    description: z.string().optional(),
  })
  .strict();

const imageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('marketplace'), publisher: z.string(), offer: z.string(), sku: z.string(), version: z.string() }).strict(),
  z.object({ kind: z.literal('gallery'), gallery: z.string(), image: z.string(), version: z.string(), id: z.string() }).strict(),
]);

/** Each user's share of a group's queue, and who may queue at high priority. */
const queueSchema = z
  .object({
    maxQueuedPerUser: z.number().int().min(1).max(10_000),
    highPriority: z.enum(['co-owners', 'users']),
  })
  .strict();

export const DEFAULT_QUEUE_SETTINGS = { maxQueuedPerUser: 100, highPriority: 'co-owners' } as const;
export const DEFAULT_RUN_RETENTION_DAYS = 30;
export const DEFAULT_IDEMPOTENCY_KEY_HOURS = 24;

const groupSchema = z
  .object({
    name: z.string().regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, 'must be lowercase letters, digits and hyphens, starting with a letter').max(40),
    description: z.string(),
    maxBots: z.number().int().min(1).max(MAX_BOTS_PER_GROUP),
    committedBots: z.number().int().min(0),
    vmss: z.object({ subscriptionId: z.string().min(1), resourceGroup: z.string().min(1), name: z.string().min(1) }).strict(),
    vmSize: z.string().min(1),
    computerNamePrefix: z.string().min(1).max(9),
    image: imageSchema,
    flows: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'flow names are 1-64 letters, digits, periods, underscores or hyphens'), flowSchema),
    access: z.object({ users: z.array(principal), coOwners: z.array(principal) }).strict(),
    // Absent in manifests written before it existed: the defaults apply.
    queue: queueSchema.default({ ...DEFAULT_QUEUE_SETTINGS }),
    scaling: scalingSchema,
    // How the group's bots prove their group: a shared token (its SHA-256 below), or an access
    // token of the group's managed identity (no shared secret). Absent in older manifests: token.
    botAuth: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('token') }).strict(),
        z.object({ kind: z.literal('managed-identity'), principalId: z.string().min(1), resourceId: z.string().min(1), clientId: z.string().min(1) }).strict(),
      ])
      .default({ kind: 'token' }),
    botTokenSha256: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((g, ctx) => {
    if (g.botAuth.kind === 'token' && g.botTokenSha256 === undefined) {
      ctx.addIssue({ code: 'custom', path: ['botTokenSha256'], message: 'is required when the group\'s bots prove their group with a token (botAuth.kind token)' });
    }
  });

export const manifestSchema = z
  .object({
    version: z.literal(1),
    stack: z.string().min(1),
    environment: z
      .object({
        name: z.string().min(1),
        geography: z.string().min(1),
        region: z.string().min(1),
        botCapacity: z.number().int().min(1),
        plan: z.enum(['standard', 'trial']),
        enabled: z.boolean(),
        admins: z.array(principal),
        scaling: scalingSchema,
        // Finished runs and their output are deleted this long after they end; idempotency keys after theirs.
        runRetentionDays: z.number().positive().max(3650).default(DEFAULT_RUN_RETENTION_DAYS),
        idempotencyKeyHours: z.number().positive().max(24 * 365).default(DEFAULT_IDEMPOTENCY_KEY_HOURS),
      })
      .strict(),
    groups: z.array(groupSchema).max(MAX_GROUPS, `at most ${MAX_GROUPS} groups per environment`),
    promotion: z.object({ order: z.array(z.string()) }).strict().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    let committed = 0;
    m.groups.forEach((g, i) => {
      if (seen.has(g.name)) ctx.addIssue({ code: 'custom', path: ['groups', i, 'name'], message: `group name "${g.name}" is used twice` });
      seen.add(g.name);
      if (g.committedBots > g.maxBots) {
        ctx.addIssue({ code: 'custom', path: ['groups', i, 'committedBots'], message: `${g.committedBots} is more than the group's maxBots (${g.maxBots})` });
      }
      committed += g.committedBots;
    });
    if (committed > m.environment.botCapacity) {
      ctx.addIssue({ code: 'custom', path: ['groups'], message: `committed bots add up to ${committed}, more than the botCapacity (${m.environment.botCapacity})` });
    }
  });

export type FleetManifest = z.infer<typeof manifestSchema>;
export type ManifestGroup = FleetManifest['groups'][number];
export type ScalingSettings = z.infer<typeof scalingSchema>;
export type FlowDefinition = z.infer<typeof flowSchema>;

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
}

/** Validates a parsed manifest; throws ManifestError listing every problem. */
export function parseManifest(raw: unknown, options: ParseOptions = {}): FleetManifest {
  const source = options.source ?? 'manifest';
  const result = manifestSchema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.map((issue) => `${describePath(issue.path)}: ${issue.message}`);
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
}

/**
 * Fills a synthesized manifest's apply-time values with local ones, for the demo, tests and
 * benchmarks: the subscription, each group's bot-token hash, and gallery image IDs.
 */
export function localizeManifest(raw: unknown, values: LocalValues): unknown {
  const manifest = JSON.parse(JSON.stringify(raw)) as { groups?: Array<Record<string, any>> };
  for (const group of manifest.groups ?? []) {
    const token = values.botTokens[group.name];
    if (token === undefined) throw new Error(`no local bot token for group "${group.name}"`);
    group.botTokenSha256 = sha256Hex(token);
    // Simulated VMs have no managed identity: locally, every group's bots prove it with a token.
    group.botAuth = { kind: 'token' };
    if (group.vmss && typeof group.vmss.subscriptionId === 'string' && group.vmss.subscriptionId.includes('${')) {
      group.vmss.subscriptionId = values.subscriptionId;
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
