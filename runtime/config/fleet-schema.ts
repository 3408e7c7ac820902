/**
 * The fleet manifest's contract, in one place: its shape, its bounds and its defaults.
 *
 * The construct library writes the manifest at synth (constructs/fleet-manifest.ts) and checks its
 * settings against these bounds (constructs/azure-rules.ts); the runtime parses it with this
 * schema (runtime/config/manifest.ts). This module imports nothing but zod, the reserved name of
 * the built-in self-test flow and the webhook contract's words (config/webhooks.ts), so the runtime
 * bundle carries it without the construct library.
 */
import { z } from 'zod';
import { SELF_TEST_FLOW, SELF_TEST_FLOW_RESERVED } from './self-test-flow';
import {
  isWebhookUrl, MAX_WAIT_ABOVE_MINUTES, MAX_WEBHOOK_URL_CHARS, MAX_WEBHOOKS_PER_GROUP, WEBHOOK_EVENT_TYPES, WEBHOOK_FORMATS, WEBHOOK_URL_RULE,
} from './webhooks';

export const FLEET_MANIFEST_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Bounds.

/** A numeric bound of one manifest field. */
export interface NumericBound {
  /** The lowest value allowed. */
  readonly min: number;
  /** The value must be greater than `min`, not equal to it. */
  readonly minExclusive?: boolean;
  /** The highest value allowed. @default no upper bound */
  readonly max?: number;
  /** Only whole numbers. */
  readonly whole: boolean;
  /**
   * A length of time. A local fleet running in compressed time (the demo, tests, benchmarks)
   * needs it only above 0, see ManifestSchemaOptions.compressedTime.
   */
  readonly duration?: boolean;
}

/**
 * Every numeric bound of the manifest, by where the field sits: `scaling` holds for the
 * environment's scaling settings and every group's, `standbyPool` for their standby pools.
 */
export const BOUNDS = {
  manifest: {
    /** Groups per environment (a count of the `groups` array). */
    groups: { min: 0, max: 10, whole: true },
  },
  environment: {
    botCapacity: { min: 1, whole: true },
    runRetentionDays: { min: 1, max: 3650, whole: false, duration: true },
    idempotencyKeyHours: { min: 1, max: 24 * 365, whole: false, duration: true },
  },
  group: {
    maxBots: { min: 1, max: 50, whole: true },
    committedBots: { min: 0, whole: true },
  },
  queue: {
    maxQueuedPerUser: { min: 1, max: 10_000, whole: true },
  },
  flow: {
    timeoutMinutes: { min: 1, max: 24 * 60, whole: true, duration: true },
  },
  scaling: {
    idleMinutes: { min: 0, whole: false, duration: true },
    standbyBots: { min: 0, whole: true },
    coldAfterHours: { min: 0, whole: false, duration: true },
    bootTimeoutMinutes: { min: 1, whole: false, duration: true },
    heartbeatSeconds: { min: 5, whole: false, duration: true },
    maxAttempts: { min: 1, whole: true },
    queueTimeoutHours: { min: 0.01, whole: false, duration: true },
    inactiveDays: { min: 1, whole: false, duration: true },
    recycleAfterRuns: { min: 1, whole: true },
    predictiveLeadMinutes: { min: 0, minExclusive: true, max: 24 * 60, whole: false, duration: true },
    predictiveMaxBots: { min: 0, whole: true },
  },
  standbyPool: {
    maxReadyCapacity: { min: 0, whole: true },
    minReadyCapacity: { min: 0, whole: true },
  },
} as const satisfies Record<string, Record<string, NumericBound>>;

export type BoundScope = keyof typeof BOUNDS;

/** Every bound as one list, e.g. for tests that must cover each of them. */
export function boundsList(): Array<{ scope: BoundScope; field: string; bound: NumericBound }> {
  return (Object.entries(BOUNDS) as Array<[BoundScope, Record<string, NumericBound>]>).flatMap(([scope, fields]) =>
    Object.entries(fields).map(([field, bound]) => ({ scope, field, bound })),
  );
}

/**
 * Scaling settings a group keeps within its maxBots. A group's own value must fit; a value the
 * group inherits from the environment is a cap each group applies within its maxBots.
 */
export const CAPPED_BY_MAX_BOTS = ['standbyBots', 'predictiveMaxBots'] as const;

/** The bound a local fleet in compressed time applies: durations need only be more than 0. */
function effective(bound: NumericBound, compressedTime: boolean): NumericBound {
  return compressedTime && bound.duration && bound.min > 0 ? { ...bound, min: 0, minExclusive: true, whole: false } : bound;
}

/** Whether a value is a finite number within the bound. */
export function withinBound(bound: NumericBound, value: unknown, compressedTime = false): value is number {
  const b = effective(bound, compressedTime);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (b.whole && !Number.isInteger(value)) return false;
  if (b.minExclusive ? value <= b.min : value < b.min) return false;
  return b.max === undefined || value <= b.max;
}

/** The bound in words, e.g. "must be a whole number from 1 to 50". */
export function describeBound(bound: NumericBound, compressedTime = false): string {
  const b = effective(bound, compressedTime);
  const kind = b.whole ? 'a whole number' : 'a number';
  if (b.minExclusive) return `must be ${kind} greater than ${b.min}${b.max === undefined ? '' : ` and at most ${b.max}`}`;
  return b.max === undefined ? `must be ${kind}, at least ${b.min}` : `must be ${kind} from ${b.min} to ${b.max}`;
}

const show = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/** A number within its bound; a problem names the value and the rule. */
function bounded(bound: NumericBound, compressedTime: boolean) {
  const rule = describeBound(bound, compressedTime);
  return z
    .number({ error: (issue) => (issue.input === undefined ? 'is required' : `${show(issue.input)} ${rule}`) })
    .refine((value) => withinBound(bound, value, compressedTime), { error: (issue) => `${show(issue.input)} ${rule}` });
}

/** Whether `name` is a time zone this Node knows by name, e.g. "Europe/Berlin" or "UTC". */
export function isTimeZone(name: unknown): name is string {
  // Intl also takes offsets such as "+01:00", which follow no daylight saving: a name is asked for.
  if (typeof name !== 'string' || name === '' || /^[+-]/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The rule a time zone setting must meet, in words. */
export const TIME_ZONE_RULE = 'must be an IANA time zone name, such as "UTC" or "Europe/Berlin"';

// ---------------------------------------------------------------------------------------------
// Defaults.

/** The defaults of every setting the manifest may leave out or the constructs fill in. */
export const DEFAULTS = {
  scaling: {
    idleMinutes: 10,
    standbyBots: 0,
    coldAfterHours: 8,
    bootTimeoutMinutes: 30,
    heartbeatSeconds: 30,
    maxAttempts: 3,
    queueTimeoutHours: 6,
    inactiveDays: 28,
    predictive: true,
    predictiveLeadMinutes: 15,
    spareBot: true,
  },
  timeZone: 'UTC',
  queue: { maxQueuedPerUser: 100, highPriority: 'co-owners' },
  runRetentionDays: 30,
  idempotencyKeyHours: 24,
  flowTimeoutMinutes: 180,
  standbyPool: { minReadyCapacity: 0, vmState: 'Deallocated' },
} as const;

// ---------------------------------------------------------------------------------------------
// The schema.


/** Group names appear in URLs, scale set names and computer names. */
export const GROUP_NAME_MAX = 40;
export const COMPUTER_NAME_PREFIX_MAX = 9;

export interface ManifestSchemaOptions {
  /**
   * The manifest of a local fleet that runs in compressed time (the demo, tests, benchmarks):
   * durations need only be more than 0. A deployed runtime never uses this.
   * @default false
   */
  readonly compressedTime?: boolean;
}

/**
 * A webhook subscription declared in the stack. Its secret is never here: the runtime keeps it in
 * its Key Vault under `secretName` (README, Notifications).
 */
export const webhookSchema = z
  .object({
    url: z.string().max(MAX_WEBHOOK_URL_CHARS).refine(isWebhookUrl, WEBHOOK_URL_RULE),
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES, { message: `must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }))
      .min(1, 'must name at least one event type')
      .refine((e) => new Set(e).size === e.length, 'must not name an event type twice'),
    format: z.enum(WEBHOOK_FORMATS, { message: `must be one of ${WEBHOOK_FORMATS.join(', ')}` }).default('json'),
    /** For queue.wait_exceeded: how long the oldest queued run may wait before the alert. */
    waitAboveMinutes: z.number().positive('must be more than 0').max(MAX_WAIT_ABOVE_MINUTES, `must be at most ${MAX_WAIT_ABOVE_MINUTES} (a week)`).optional(),
    /** The Key Vault secret that holds the signing secret. @default webhook-<group>-<12 hex digits of the URL's hash> */
    secretName: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'Key Vault secret names are 1-127 letters, digits and hyphens').optional(),
  })
  .strict()
  .superRefine((w, ctx) => {
    const waits = w.events.includes('queue.wait_exceeded');
    if (waits && w.waitAboveMinutes === undefined) ctx.addIssue({ code: 'custom', path: ['waitAboveMinutes'], message: 'is required with the event queue.wait_exceeded' });
    if (!waits && w.waitAboveMinutes !== undefined) ctx.addIssue({ code: 'custom', path: ['waitAboveMinutes'], message: 'applies to queue.wait_exceeded only' });
  });


function buildSchema(compressedTime: boolean) {
  const num = <S extends BoundScope>(scope: S, field: keyof (typeof BOUNDS)[S]) =>
    bounded((BOUNDS[scope] as Record<string, NumericBound>)[field as string], compressedTime);
  const principal = z.string().min(1).max(256);

  const scaling = z
    .object({
      /** A bot idle this long is deleted. */
      idleMinutes: num('scaling', 'idleMinutes'),
      /** Warm bots kept idle while the group is in use, inside maxBots and the capacity. */
      standbyBots: num('scaling', 'standbyBots'),
      /** A group unused this long is cold: it keeps no standby bots, and its first run pays the full boot. */
      coldAfterHours: num('scaling', 'coldAfterHours'),
      /** A bot that has not registered by then is marked failed and deleted. */
      bootTimeoutMinutes: num('scaling', 'bootTimeoutMinutes'),
      /** How often an agent reports a running flow; three missed beats mean the bot is lost. */
      heartbeatSeconds: num('scaling', 'heartbeatSeconds'),
      /** How many times a run is tried before it ends failed because its bots were lost. */
      maxAttempts: num('scaling', 'maxAttempts'),
      /** A run that waits longer ends as `expired`. */
      queueTimeoutHours: num('scaling', 'queueTimeoutHours'),
      /** A group without committed bots that ran nothing this long becomes `expired`. */
      inactiveDays: num('scaling', 'inactiveDays'),
      /** Replace a bot after it has run this many flows (a fresh desktop). @default never */
      recycleAfterRuns: num('scaling', 'recycleAfterRuns').optional(),
      /** An Azure standby pool for the group's scale set. @default no standby pool */
      standbyPool: z
        .object({
          /** The most VMs the pool keeps ready. */
          maxReadyCapacity: num('standbyPool', 'maxReadyCapacity'),
          /** @default 0 */
          minReadyCapacity: num('standbyPool', 'minReadyCapacity').optional(),
          /** `Deallocated` VMs cost only their disks; `Running` VMs start faster. @default 'Deallocated' */
          vmState: z.enum(['Running', 'Deallocated']).optional(),
        })
        .strict()
        .optional(),
      /**
       * Predictive warm-up: start bots ahead of the demand the group's last 7 days of arrivals show
       * for the coming boot window at this local time of day on days of the same type (weekday or
       * weekend, in the environment's timeZone), scaled by how busy today is against those days. `false` scales on queued and running runs (and standby bots) only. Manifests written
       * before it existed lack it and get the default.
       */
      predictive: z.boolean({ error: (issue) => `${show(issue.input)} must be true or false` }).default(DEFAULTS.scaling.predictive),
      /** How far ahead predictive warm-up looks, in minutes: about one boot. */
      predictiveLeadMinutes: num('scaling', 'predictiveLeadMinutes').default(DEFAULTS.scaling.predictiveLeadMinutes),
      /** The most bots predictive warm-up alone keeps in a group (a cost cap). @default the group's maxBots */
      predictiveMaxBots: num('scaling', 'predictiveMaxBots').optional(),
      /**
       * With predictive warm-up, keep one spare bot beyond the forecast busy bots while the
       * history gives an arrival within the lead window at least an even chance, so a sparse group
       * (a run every half hour) does not boot for nearly every run. Manifests written before it
       * existed lack it and get the default.
       */
      spareBot: z.boolean({ error: (issue) => `${show(issue.input)} must be true or false` }).default(DEFAULTS.scaling.spareBot),
    })
    .strict();

  const flow = z
    .object({
      command: z.string().min(1),
      timeoutMinutes: num('flow', 'timeoutMinutes'),
      description: z.string().optional(),
    })
    .strict();

  const image = z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('marketplace'), publisher: z.string(), offer: z.string(), sku: z.string(), version: z.string() }).strict(),
    z.object({ kind: z.literal('gallery'), gallery: z.string(), image: z.string(), version: z.string(), id: z.string() }).strict(),
  ]);

  /** Each user's share of a group's queue, and who may queue at high priority. */
  const queue = z
    .object({
      /** The most runs one user may have queued in the group at once. */
      maxQueuedPerUser: num('queue', 'maxQueuedPerUser'),
      /** Who may start or move runs to high priority (environment admins always may). */
      highPriority: z.enum(['co-owners', 'users']),
    })
    .strict();

  const group = z
    .object({
      name: z.string().regex(/^[a-z]([a-z0-9-]*[a-z0-9])?$/, 'must be lowercase letters, digits and hyphens, starting with a letter').max(GROUP_NAME_MAX),
      description: z.string(),
      maxBots: num('group', 'maxBots'),
      committedBots: num('group', 'committedBots'),
      vmss: z.object({ subscriptionId: z.string().min(1), resourceGroup: z.string().min(1), name: z.string().min(1) }).strict(),
      vmSize: z.string().min(1),
      computerNamePrefix: z.string().min(1).max(COMPUTER_NAME_PREFIX_MAX),
      image,
      flows: z.record(
        z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'flow names are 1-64 letters, digits, periods, underscores or hyphens')
          .refine((name) => name !== SELF_TEST_FLOW, `"${SELF_TEST_FLOW}" ${SELF_TEST_FLOW_RESERVED}`),
        flow,
      ),
      access: z.object({ users: z.array(principal), coOwners: z.array(principal) }).strict(),
      // Absent in manifests written before it existed: the defaults apply.
      queue: queue.default({ ...DEFAULTS.queue }),
      scaling,
      // How the group's bots prove their group: a shared token (its SHA-256 below), or an access
      // token of the group's managed identity (no shared secret). Absent in older manifests: token.
      botAuth: z
        .discriminatedUnion('kind', [
          z.object({ kind: z.literal('token') }).strict(),
          z.object({ kind: z.literal('managed-identity'), principalId: z.string().min(1), resourceId: z.string().min(1), clientId: z.string().min(1) }).strict(),
        ])
        .default({ kind: 'token' }),
      /** SHA-256 (hex) of the group's bot token when it uses one, resolved at apply time; the token itself is never here. */
      botTokenSha256: z.string().min(1).optional(),
      /**
       * Changes when the bots' admin password changes (random, resolved at apply time): bots
       * created under another version are replaced once idle. @default none: no replacement
       */
      credentialVersion: z.string().min(1).max(128).optional(),
      /** Where the group's events go (runtime/webhooks). Absent in older manifests: none. */
      webhooks: z
        .array(webhookSchema)
        .max(MAX_WEBHOOKS_PER_GROUP, { error: (issue) => `${(issue.input as unknown[]).length} webhooks, at most ${MAX_WEBHOOKS_PER_GROUP} per group` })
        .default([]),
    })
    .strict()
    .superRefine((g, ctx) => {
      const urls = new Set<string>();
      g.webhooks.forEach((w, i) => {
        if (urls.has(w.url)) ctx.addIssue({ code: 'custom', path: ['webhooks', i, 'url'], message: 'is declared twice in this group; give each URL one subscription with all its events' });
        urls.add(w.url);
      });
      if (g.botAuth.kind === 'token' && g.botTokenSha256 === undefined) {
        ctx.addIssue({ code: 'custom', path: ['botTokenSha256'], message: 'is required when the group\'s bots prove their group with a token (botAuth.kind token)' });
      }
    });

  return z
    .object({
      version: z.literal(FLEET_MANIFEST_VERSION),
      stack: z.string().min(1),
      environment: z
        .object({
          name: z.string().min(1),
          geography: z.string().min(1),
          region: z.string().min(1),
          botCapacity: num('environment', 'botCapacity'),
          plan: z.enum(['standard', 'trial']),
          enabled: z.boolean(),
          admins: z.array(principal),
          scaling,
          /** Finished runs and their output are deleted this many days after they end. */
          runRetentionDays: num('environment', 'runRetentionDays').default(DEFAULTS.runRetentionDays),
          /** An Idempotency-Key answers retries with the same run for this many hours. */
          idempotencyKeyHours: num('environment', 'idempotencyKeyHours').default(DEFAULTS.idempotencyKeyHours),
          /**
           * The IANA time zone the environment's users work in: predictive warm-up tells weekdays
           * from weekends and times of day in it. Manifests written before it existed get UTC.
           */
          timeZone: z
            .string({ error: (issue) => `${show(issue.input)} ${TIME_ZONE_RULE}` })
            .refine(isTimeZone, { error: (issue) => `${show(issue.input)} ${TIME_ZONE_RULE}` })
            .default(DEFAULTS.timeZone),
        })
        .strict(),
      groups: z
        .array(group)
        .max(BOUNDS.manifest.groups.max, { error: (issue) => `${(issue.input as unknown[]).length} groups, at most ${BOUNDS.manifest.groups.max} per environment` }),
      /** The order in which the app's environment stacks are promoted, when the app declares one. */
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
        for (const key of CAPPED_BY_MAX_BOTS) {
          const value = g.scaling[key];
          // A value equal to the environment's is inherited: each group caps it by its maxBots.
          if (value !== undefined && value > g.maxBots && value !== m.environment.scaling[key]) {
            ctx.addIssue({ code: 'custom', path: ['groups', i, 'scaling', key], message: `${value} is more than the group's maxBots (${g.maxBots})` });
          }
        }
        committed += g.committedBots;
      });
      if (committed > m.environment.botCapacity) {
        ctx.addIssue({ code: 'custom', path: ['groups'], message: `committed bots add up to ${committed}, more than the botCapacity (${m.environment.botCapacity})` });
      }
    });
}

/** The manifest as a deployed runtime accepts it. */
export const manifestSchema = buildSchema(false);
const compressedTimeSchema = buildSchema(true);

/** The schema for a deployed runtime, or for a local fleet in compressed time. */
export function fleetManifestSchema(options: ManifestSchemaOptions = {}): typeof manifestSchema {
  return options.compressedTime ? compressedTimeSchema : manifestSchema;
}

// ---------------------------------------------------------------------------------------------
// Types.

/** The manifest after parsing: every default filled in. The constructs write it so. */
export type FleetManifest = z.output<typeof manifestSchema>;
/** The manifest as it may be written: fields with a default may be left out. */
export type FleetManifestInput = z.input<typeof manifestSchema>;
export type ManifestGroup = FleetManifest['groups'][number];
export type ScalingSettings = ManifestGroup['scaling'];
export type StandbyPoolSettings = NonNullable<ScalingSettings['standbyPool']>;
export type QueueSettings = ManifestGroup['queue'];
export type ManifestFlow = ManifestGroup['flows'][string];
export type ManifestImage = ManifestGroup['image'];
export type ManifestBotAuth = ManifestGroup['botAuth'];
export type ManifestWebhook = ManifestGroup['webhooks'][number];

/** A type with every property and array readonly, as the construct library exposes the manifest. */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
