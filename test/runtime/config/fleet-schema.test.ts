/**
 * The fleet manifest's one contract: what the constructs emit, the runtime parses; every bound
 * holds the same at synth and at run time; the defaults the constructs write are the schema's.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdktf';
import { buildMultiGeo } from '../../../examples/multi-geo/main';
import { buildSingleGeo } from '../../../examples/single-geo/main';
import { HostedBotGroupProps, HostedBotsStack } from '../../../index';
import { BoundScope, boundsList, CAPPED_BY_MAX_BOTS, DEFAULTS, NumericBound } from '../../../runtime/config/fleet-schema';
import { localizeManifest, ManifestError, parseManifest } from '../../../runtime/config/manifest';
import { errors, fleetStack, FleetOptions, resources, synth } from '../../helpers/fleet';

type Json = Record<string, any>;

/** The manifest a stack builds, with its apply-time values filled in as a local run does. */
function localized(raw: unknown): Json {
  const names = ((raw as Json).groups as Json[]).map((g) => g.name as string);
  return localizeManifest(raw, { subscriptionId: 'sub-1', botTokens: Object.fromEntries(names.map((n) => [n, `token-${n}`])) }) as Json;
}

const emitted = (stack: HostedBotsStack): Json => JSON.parse(JSON.stringify(stack.resolvedFleetManifest()));

/** The runtime's problems with a manifest; none when it parses. */
function runtimeProblems(manifest: unknown, options: { compressedTime?: boolean } = {}): string[] {
  try {
    parseManifest(manifest, options);
    return [];
  } catch (err) {
    if (err instanceof ManifestError) return [...err.problems];
    throw err;
  }
}

/** Synth errors of a stack, or the error its construction throws. */
function synthErrors(build: () => HostedBotsStack): { stack?: HostedBotsStack; errors: string[] } {
  let stack: HostedBotsStack;
  try {
    stack = build();
  } catch (err) {
    return { errors: [(err as Error).message] };
  }
  return { stack, errors: errors(synth(stack)) };
}

function synthesizedManifests(build: (app: App) => void): Json[] {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-schema-'));
  const app = new App({ outdir, stackTraces: false });
  build(app);
  app.synth();
  const stacks = path.join(outdir, 'stacks');
  return fs
    .readdirSync(stacks)
    .filter((stack) => fs.existsSync(path.join(stacks, stack, 'fleet.json')))
    .map((stack) => JSON.parse(fs.readFileSync(path.join(stacks, stack, 'fleet.json'), 'utf8')));
}

describe('a manifest the constructs emit, the runtime parses', () => {
  test.each([
    ['single-geo', (app: App) => void buildSingleGeo(app), 1],
    ['multi-geo', (app: App) => void buildMultiGeo(app), 2],
  ])('the %s example: every fleet.json, as written and with its apply-time values filled in', (_name, build, count) => {
    const manifests = synthesizedManifests(build);
    expect(manifests).toHaveLength(count);
    for (const manifest of manifests) {
      // As written, only the values Terraform fills in at apply time stand in the way.
      const problems = runtimeProblems(manifest);
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.filter((p) => !/: still holds a Terraform expression; /.test(p))).toEqual([]);
      expect(() => parseManifest(manifest, { requireResolved: false })).not.toThrow();
      expect(() => parseManifest(localized(manifest))).not.toThrow();
    }
  });

  test('a stack using every setting: managed identity, standby pool, recycling, predictive off, queue and retention', () => {
    const stack = fleetStack({
      runtime: { entra: { tenantId: 'tenant', audience: 'api://bots' } },
      environment: {
        botCapacity: 6,
        plan: 'standard',
        enabled: false,
        admins: ['ops'],
        runRetentionDays: 90,
        idempotencyKeyHours: 48,
        // An environment-wide standby count above a small group's maxBots: each group caps it.
        scaling: { standbyBots: 3, predictive: false, heartbeatSeconds: 5, queueTimeoutHours: 0.01 },
      },
      groups: [
        {
          name: 'finance',
          maxBots: 5,
          committedBots: 2,
          flows: { a: { command: 'a.cmd', timeoutMinutes: 1440, description: 'A' }, b: { command: 'b.cmd' } },
          access: { users: ['ana'], coOwners: ['lead'] },
          queue: { maxQueuedPerUser: 10_000, highPriority: 'users' },
          scaling: { recycleAfterRuns: 1, predictive: true, predictiveLeadMinutes: 1440, predictiveMaxBots: 5, standbyPool: { maxReadyCapacity: 2, minReadyCapacity: 1, vmState: 'Running' } },
        },
        { name: 'sales', maxBots: 2, computerNamePrefix: 'sales' },
      ],
    });
    expect(errors(synth(stack))).toEqual([]);
    const manifest = emitted(stack);
    expect(manifest.groups[0].botAuth.kind).toBe('managed-identity');
    expect(manifest.groups[1].scaling.standbyBots).toBe(3);
    expect(() => parseManifest(manifest, { requireResolved: false })).not.toThrow();
    const parsed = parseManifest(localized(manifest));
    expect(parsed.groups[0].scaling).toMatchObject({ predictive: true, recycleAfterRuns: 1, standbyPool: { maxReadyCapacity: 2, minReadyCapacity: 1, vmState: 'Running' } });
    expect(parsed.groups[1].scaling).toMatchObject({ predictive: false, standbyBots: 3 });
  });
});

// ---------------------------------------------------------------------------------------------
// Every bound, both sides.

interface Where {
  /** How the synth rule names the field. */
  readonly field: string;
  /** Construct props with the value. */
  readonly props: (value: number) => FleetOptions;
  /** The runtime's path of the field, as its problems name it. */
  readonly path: string;
  /** Puts the value into a good manifest. */
  readonly set: (manifest: Json, value: number) => void;
}

const groupWith = (props: Partial<HostedBotGroupProps>): FleetOptions => ({ groups: [props] });

/** Where each bound's field sits, at synth and in the manifest. A bound missing here fails the table. */
function whereOf(scope: BoundScope, field: string): Where[] {
  switch (scope) {
    case 'manifest':
      return [
        {
          field,
          props: (n) => ({ groups: Array.from({ length: n }, (_, i) => ({ name: `g${i}`, maxBots: 1 })) }),
          path: field,
          set: (m, n) => void (m.groups = Array.from({ length: n }, (_, i) => ({ ...m.groups[0], name: `g${i}` }))),
        },
      ];
    case 'environment':
      return [{ field, props: (v) => ({ environment: { [field]: v } }), path: `environment.${field}`, set: (m, v) => void (m.environment[field] = v) }];
    case 'group':
      return [{ field, props: (v) => groupWith({ [field]: v }), path: `groups[0].${field}`, set: (m, v) => void (m.groups[0][field] = v) }];
    case 'queue':
      return [{ field: `queue.${field}`, props: (v) => groupWith({ queue: { [field]: v } }), path: `groups[0].queue.${field}`, set: (m, v) => void (m.groups[0].queue[field] = v) }];
    case 'flow':
      return [
        {
          field: `flows.f.${field}`,
          props: (v) => groupWith({ flows: { f: { command: 'f.cmd', [field]: v } } }),
          path: `groups[0].flows.f.${field}`,
          set: (m, v) => void (m.groups[0].flows = { f: { command: 'f.cmd', timeoutMinutes: 30, [field]: v } }),
        },
      ];
    case 'scaling':
      return [
        { field: `scaling.${field}`, props: (v) => groupWith({ scaling: { [field]: v } }), path: `groups[0].scaling.${field}`, set: (m, v) => void (m.groups[0].scaling[field] = v) },
        {
          field: `scaling.${field}`,
          props: (v) => ({ environment: { scaling: { [field]: v } } }),
          path: `environment.scaling.${field}`,
          set: (m, v) => void (m.environment.scaling[field] = v),
        },
      ];
    case 'standbyPool': {
      const pool = (v: number) => ({ maxReadyCapacity: 1, [field]: v });
      return [
        {
          field: `scaling.standbyPool.${field}`,
          props: (v) => groupWith({ scaling: { standbyPool: pool(v) as { maxReadyCapacity: number } } }),
          path: `groups[0].scaling.standbyPool.${field}`,
          set: (m, v) => void (m.groups[0].scaling.standbyPool = pool(v)),
        },
      ];
    }
    default:
      throw new Error(`the bound ${scope}.${field} has no place in this table: add it`);
  }
}

/** Values just inside and just outside a bound. A count (of groups) cannot be negative or a fraction. */
function edges(scope: BoundScope, b: NumericBound): Array<{ value: number; inside: boolean }> {
  const step = b.whole ? 1 : 0.001;
  const count = scope === 'manifest';
  const low = b.minExclusive ? b.min + step : b.min;
  const out = [{ value: low, inside: true }];
  if (!count || b.min > 0) out.push({ value: b.minExclusive ? b.min : b.min - step, inside: false });
  if (b.max !== undefined) out.push({ value: b.max, inside: true }, { value: b.max + step, inside: false });
  if (b.whole && !count) out.push({ value: low + 0.5, inside: false });
  return out;
}

const table = boundsList().flatMap(({ scope, field, bound }) =>
  whereOf(scope, field).flatMap((where) => edges(scope, bound).map(({ value, inside }) => ({ name: `${where.path} = ${value}`, scope, field, where, value, inside }))),
);

describe('every bound holds the same at synth and at run time', () => {
  const good = localized(emitted(fleetStack()));

  test('the table has, for every bound of the schema, a value inside and one outside', () => {
    for (const { scope, field } of boundsList()) {
      const rows = table.filter((row) => row.scope === scope && row.field === field);
      expect([`${scope}.${field}`, rows.some((r) => r.inside), rows.some((r) => !r.inside)]).toEqual([`${scope}.${field}`, true, true]);
    }
  });

  test.each(table)('$name', ({ where, value, inside }) => {
    const built = synthErrors(() => fleetStack(where.props(value)));
    const manifest = JSON.parse(JSON.stringify(good));
    where.set(manifest, value);
    const problems = runtimeProblems(manifest);
    if (inside) {
      expect(built.errors).toEqual([]);
      // What synth emits with the value, the runtime parses.
      expect(runtimeProblems(localized(emitted(built.stack!)))).toEqual([]);
      expect(problems).toEqual([]);
    } else {
      expect(built.errors).toEqual(expect.arrayContaining([expect.stringContaining(` ${where.field} ${value} `)]));
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${where.path.replace(/[.[\]]/g, '\\$&')}: .*${String(value).replace('.', '\\.')}`))]));
    }
  });

  test.each([...CAPPED_BY_MAX_BOTS])("a group's own %s above its maxBots fails both; the environment's is a cap each group applies", (key) => {
    const own = synthErrors(() => fleetStack(groupWith({ maxBots: 2, scaling: { [key]: 3 } })));
    expect(own.errors).toEqual([expect.stringContaining(`scaling.${key} 3 must be at most the group's maxBots (2)`)]);
    const manifest = JSON.parse(JSON.stringify(good));
    manifest.groups[0].scaling[key] = manifest.groups[0].maxBots + 1;
    expect(runtimeProblems(manifest)).toEqual([`groups[0].scaling.${key}: ${manifest.groups[0].maxBots + 1} is more than the group's maxBots (${manifest.groups[0].maxBots})`]);

    const inherited = synthErrors(() => fleetStack({ environment: { scaling: { [key]: 3 } }, groups: [{ maxBots: 2 }] }));
    expect(inherited.errors).toEqual([]);
    expect(runtimeProblems(localized(emitted(inherited.stack!)))).toEqual([]);
  });

  test('a local fleet in compressed time needs its durations only above 0; a deployed runtime holds the full bounds', () => {
    const durations = boundsList().filter(({ bound }) => bound.duration && bound.min > 0);
    expect(durations.length).toBeGreaterThan(0);
    for (const { scope, field, bound } of durations) {
      for (const where of whereOf(scope, field)) {
        const short = JSON.parse(JSON.stringify(good));
        where.set(short, bound.min / 100);
        expect(runtimeProblems(short)).toEqual([expect.stringMatching(new RegExp(`^${where.path.replace(/[.[\]]/g, '\\$&')}: `))]);
        expect(runtimeProblems(short, { compressedTime: true })).toEqual([]);
        const zero = JSON.parse(JSON.stringify(good));
        where.set(zero, 0);
        expect(runtimeProblems(zero, { compressedTime: true })).toEqual([expect.stringContaining(`${where.path}: 0 must be a number greater than 0`)]);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Settings that are not numbers, both sides.

interface NonNumericRow {
  readonly name: string;
  /** How the synth rule names the field. */
  readonly field: string;
  readonly props: FleetOptions;
  /** The runtime's path of the field, as its problems name it. */
  readonly path: string;
  readonly set: (manifest: Json) => void;
  readonly value: unknown;
  readonly inside: boolean;
  /** The rule's words in both messages. */
  readonly rule: string;
}

const timeZoneRows: NonNumericRow[] = [
  ['UTC', true],
  ['Europe/Berlin', true],
  ['Asia/Tokyo', true],
  ['Mars/Olympus_Mons', false],
  ['+01:00', false],
  ['', false],
].map(([value, inside]) => ({
  name: `environment.timeZone = ${JSON.stringify(value)}`,
  field: 'timeZone',
  props: { environment: { timeZone: value as string } },
  path: 'environment.timeZone',
  set: (m: Json) => void (m.environment.timeZone = value),
  value,
  inside: inside as boolean,
  rule: 'must be an IANA time zone name',
}));

const spareBotRows: NonNumericRow[] = [true, false, 'yes'].flatMap((value) => [
  {
    name: `groups[0].scaling.spareBot = ${JSON.stringify(value)}`,
    field: 'scaling.spareBot',
    props: groupWith({ scaling: { spareBot: value as boolean } }),
    path: 'groups[0].scaling.spareBot',
    set: (m: Json) => void (m.groups[0].scaling.spareBot = value),
    value,
    inside: typeof value === 'boolean',
    rule: 'must be true or false',
  },
  {
    name: `environment.scaling.spareBot = ${JSON.stringify(value)}`,
    field: 'scaling.spareBot',
    props: { environment: { scaling: { spareBot: value as boolean } } },
    path: 'environment.scaling.spareBot',
    set: (m: Json) => void (m.environment.scaling.spareBot = value),
    value,
    inside: typeof value === 'boolean',
    rule: 'must be true or false',
  },
]);

describe('the time zone and the spare bot hold the same at synth and at run time', () => {
  const good = localized(emitted(fleetStack()));

  test.each([...timeZoneRows, ...spareBotRows])('$name', ({ field, props, path: where, set, value, inside, rule }) => {
    const built = synthErrors(() => fleetStack(props));
    const manifest = JSON.parse(JSON.stringify(good));
    set(manifest);
    const problems = runtimeProblems(manifest);
    if (inside) {
      expect(built.errors).toEqual([]);
      const parsed = parseManifest(localized(emitted(built.stack!)));
      expect(where === 'environment.timeZone' ? parsed.environment.timeZone : where.startsWith('environment') ? parsed.environment.scaling.spareBot : parsed.groups[0].scaling.spareBot).toBe(value);
      expect(problems).toEqual([]);
    } else {
      // The field, the value and the rule, in both.
      expect(built.errors).toEqual([expect.stringContaining(` ${field} ${JSON.stringify(value)} ${rule}`)]);
      expect(problems).toEqual([`${where}: ${JSON.stringify(value)} ${rule}${rule.startsWith('must be an IANA') ? ', such as "UTC" or "Europe/Berlin"' : ''}`]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Defaults.

describe('the defaults the constructs write are the schema\'s', () => {
  test('scaling, queue, retention and flow time-out', () => {
    const stack = fleetStack({ groups: [{ flows: { f: { command: 'f.cmd' } } }] });
    const manifest = emitted(stack);
    expect(manifest.environment.scaling).toEqual(DEFAULTS.scaling);
    expect(manifest.groups[0].scaling).toEqual(DEFAULTS.scaling);
    expect(manifest.groups[0].queue).toEqual(DEFAULTS.queue);
    expect(manifest.environment.runRetentionDays).toBe(DEFAULTS.runRetentionDays);
    expect(manifest.environment.idempotencyKeyHours).toBe(DEFAULTS.idempotencyKeyHours);
    expect(manifest.environment.timeZone).toBe(DEFAULTS.timeZone);
    expect(manifest.groups[0].flows.f.timeoutMinutes).toBe(DEFAULTS.flowTimeoutMinutes);
  });

  test('the fields a manifest may leave out get, at run time, the values the constructs write', () => {
    const full = localized(emitted(fleetStack()));
    const older = JSON.parse(JSON.stringify(full));
    delete older.environment.runRetentionDays;
    delete older.environment.idempotencyKeyHours;
    delete older.environment.timeZone;
    for (const scaling of [older.environment.scaling, older.groups[0].scaling]) {
      delete scaling.predictive;
      delete scaling.predictiveLeadMinutes;
      delete scaling.spareBot;
    }
    delete older.groups[0].queue;
    delete older.groups[0].botAuth;
    expect(parseManifest(older)).toEqual(parseManifest(full));
  });

  test('a standby pool gets the schema\'s minimum and VM state', () => {
    const stack = fleetStack({ groups: [{ scaling: { standbyPool: { maxReadyCapacity: 2 } } }] });
    const [pool] = resources(synth(stack).json, 'azurerm_virtual_machine_scale_set_standby_pool');
    expect(pool.elasticity_profile).toEqual({ max_ready_capacity: 2, min_ready_capacity: DEFAULTS.standbyPool.minReadyCapacity });
    expect(pool.virtual_machine_state).toBe(DEFAULTS.standbyPool.vmState);
  });
});

test('the schema module imports nothing but zod and the self-test flow\'s name (which imports nothing), so the runtime bundle carries it without the construct library', () => {
  const importsOf = (file: string) => {
    const source = fs.readFileSync(path.resolve(__dirname, '../../../runtime/config', file), 'utf8');
    expect(source).not.toMatch(/require\(/);
    return [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
  };
  expect(importsOf('fleet-schema.ts')).toEqual(['zod', './self-test-flow']);
  expect(importsOf('self-test-flow.ts')).toEqual([]);
});

describe("a group's webhooks", () => {
  const withWebhooks = (webhooks: unknown[]) => {
    const manifest = localized(emitted(fleetStack()));
    manifest.groups[0].webhooks = webhooks;
    return manifest;
  };

  test('the webhooks synth emits, the runtime parses', () => {
    const stack = fleetStack({ groups: [{ webhooks: [{ url: 'https://hooks.example.com/in', events: ['queue.wait_exceeded'], waitAboveMinutes: 20 }] }] });
    expect(runtimeProblems(localized(emitted(stack)))).toEqual([]);
  });

  test('a manifest written before webhooks existed parses with none', () => {
    const manifest = localized(emitted(fleetStack()));
    delete manifest.groups[0].webhooks;
    expect(parseManifest(manifest).groups[0].webhooks).toEqual([]);
  });

  test.each([
    [[{ url: 'https://user:pw@hooks.example.com/in', events: ['run.failed'] }], /^groups\[0\]\.webhooks\[0\]\.url: must be an absolute https URL/],
    [[{ url: 'https://hooks.example.com/in', events: ['run.exploded'] }], /^groups\[0\]\.webhooks\[0\]\.events\[0\]: must be one of run\.succeeded/],
    [[{ url: 'https://hooks.example.com/in', events: ['run.failed'], secret: 'whsec_x' }], /^groups\[0\]\.webhooks\[0\]: .*secret/],
    [[{ url: 'https://hooks.example.com/in', events: ['run.failed'] }, { url: 'https://hooks.example.com/in', events: ['run.succeeded'] }], /^groups\[0\]\.webhooks\[1\]\.url: is declared twice in this group/],
  ])('the runtime refuses %j, naming the field', (webhooks, message) => {
    expect(runtimeProblems(withWebhooks(webhooks))).toEqual([expect.stringMatching(message)]);
  });
});
