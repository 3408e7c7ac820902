/**
 * What a change does to the fleet, in sentences a reviewer reads: computed from the fleet
 * manifests (and image versions) of two synth outputs, and from their synthesized stacks, for what
 * Terraform would replace or destroy (stack-diff.ts). Pure: reading the outputs and synthesizing
 * a git ref are the command's (fleet-diff-command.ts).
 *
 * Sentences describe what the runtime does with the new manifest, see README "What a redeploy
 * changes": an undeclared group's queued runs end `cancelled` with `group_removed`
 * (runtime/domain/transitions.ts groupRemoved, runtime/scaler/loop.ts start), bots above a lowered
 * limit go as they become idle, and bots on an old image are replaced when idle (plan.ts 'outdated').
 */
import type { FleetManifest, ManifestGroup, ScalingSettings } from '../config/manifest';
import { diffStackResources, TerraformConfig } from './stack-diff';

/** One side of the comparison: the stacks of a synth output. */
export interface FleetSide {
  readonly stacks: ReadonlyArray<{
    readonly name: string;
    /** The parsed fleet.json of an environment stack. */
    readonly fleet?: FleetManifest;
    /** Gallery image versions the stack's cdk.tf.json declares (image stacks). */
    readonly imageVersions: ReadonlyArray<{ readonly gallery: string; readonly image: string; readonly version: string; readonly regions: readonly string[] }>;
    /** The stack's cdk.tf.json; when both sides have it, the resources are compared too. */
    readonly terraform?: TerraformConfig;
  }>;
}

export type ChangeKind =
  | 'stack-added'
  | 'stack-removed'
  | 'group-added'
  | 'group-removed'
  | 'max-bots'
  | 'committed-bots'
  | 'bot-capacity'
  | 'scaling'
  | 'image'
  | 'image-version'
  | 'access'
  | 'flow-added'
  | 'flow-removed'
  | 'flow-changed'
  | 'location'
  | 'setting'
  /** Terraform replaces a resource (offline: a ForceNew attribute changed; or its plan says so). */
  | 'resource-replaced'
  /** Terraform destroys a resource: no longer declared, or declared at a new address. */
  | 'resource-destroyed'
  /** A VNet address space or subnet prefix changed. */
  | 'network'
  /** A stack's Terraform plan in numbers. */
  | 'terraform-plan';

export interface FleetChange {
  readonly kind: ChangeKind;
  /** A change that takes away capacity, bots or runs: a pipeline asks for approval. */
  readonly destructive: boolean;
  readonly stack: string;
  readonly group?: string;
  /** The Terraform resource address, for resource changes. */
  readonly resource?: string;
  readonly text: string;
}

/** What each scaling setting does, for the sentence that reports its change. */
const SCALING_EFFECTS: Record<keyof ScalingSettings, string> = {
  idleMinutes: 'how long an idle bot is kept before it is deleted',
  standbyBots: 'idle bots kept warm while the group is in use',
  coldAfterHours: 'after this long unused the group keeps no standby bots',
  bootTimeoutMinutes: 'a bot not registered by then is marked failed and deleted',
  heartbeatSeconds: 'three missed heartbeats mark a bot lost',
  maxAttempts: 'tries of a run whose bots are lost',
  queueTimeoutHours: 'a run waiting longer ends expired',
  inactiveDays: 'a group without committed bots unused this long expires',
  recycleAfterRuns: 'a bot is replaced after this many runs',
  standbyPool: 'the Azure standby pool of the scale set',
  predictive: 'starting bots ahead of the demand the last 7 days forecast',
  predictiveLeadMinutes: 'how far ahead predictive warm-up looks',
  predictiveMaxBots: 'the most bots predictive warm-up alone keeps',
  spareBot: 'one spare bot beyond the forecast busy bots',
};

const show = (value: unknown): string => (value === undefined ? 'unset' : typeof value === 'object' ? JSON.stringify(value) : String(value));
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function imageLabel(image: ManifestGroup['image']): string {
  return image.kind === 'gallery' ? `${image.gallery}/${image.image}@${image.version}` : `${image.publisher}/${image.offer}/${image.sku}@${image.version}`;
}

/** Settings that changed between two scaling blocks, skipping `inherited` ones (reported once for the environment). */
function scalingChanges(before: ScalingSettings, after: ScalingSettings, inherited?: { before: ScalingSettings; after: ScalingSettings }): string[] {
  const keys = Object.keys(SCALING_EFFECTS) as Array<keyof ScalingSettings>;
  return keys
    .filter((k) => !same(before[k], after[k]))
    .filter((k) => !(inherited && same(before[k], inherited.before[k]) && same(after[k], inherited.after[k])))
    .map((k) => `scaling.${k} ${show(before[k])} → ${show(after[k])} (${SCALING_EFFECTS[k]})`);
}

function principalChanges(role: string, before: readonly string[], after: readonly string[]): string[] {
  const was = new Set(before);
  const now = new Set(after);
  return [
    ...after.filter((p) => !was.has(p)).map((p) => `${p} added to ${role}`),
    ...before.filter((p) => !now.has(p)).map((p) => `${p} removed from ${role}`),
  ];
}

/** A group's access changes; a principal taken from one list and put in the other moves. */
function groupAccessChanges(before: ManifestGroup['access'], after: ManifestGroup['access']): string[] {
  const toCoOwners = before.users.filter((p) => !after.users.includes(p) && after.coOwners.includes(p) && !before.coOwners.includes(p));
  const toUsers = before.coOwners.filter((p) => !after.coOwners.includes(p) && after.users.includes(p) && !before.users.includes(p));
  const moved = new Set([...toCoOwners, ...toUsers]);
  const keep = (line: string) => !moved.has(line.replace(/ (added to|removed from) \w+$/, ''));
  return [
    ...toCoOwners.map((p) => `${p} moved from users to coOwners: may now also cancel, re-prioritise and move runs to the top, and pause or resume the group`),
    ...toUsers.map((p) => `${p} moved from coOwners to users: may no longer cancel others' runs, re-prioritise, move runs to the top, or pause the group`),
    ...principalChanges('users', before.users, after.users).filter(keep),
    ...principalChanges('coOwners', before.coOwners, after.coOwners).filter(keep),
  ];
}

/** Who can use a new group, for the sentence that reports it. */
function whoCanUse(access: ManifestGroup['access']): string {
  if (access.users.length === 0 && access.coOwners.length === 0) return "nobody but the environment's admins can use it";
  const list = (names: readonly string[]) => (names.length ? names.join(', ') : 'none');
  return `who can use it: users ${list(access.users)}; coOwners ${list(access.coOwners)}; and the environment's admins`;
}

const HIGH_PRIORITY: Record<ManifestGroup['queue']['highPriority'], string> = { 'co-owners': 'co-owners', users: 'users and co-owners' };

function groupChanges(stack: string, a: ManifestGroup, b: ManifestGroup, env: { before: ScalingSettings; after: ScalingSettings }): FleetChange[] {
  const changes: FleetChange[] = [];
  const add = (kind: ChangeKind, destructive: boolean, text: string) => changes.push({ kind, destructive, stack, group: b.name, text: `group ${b.name}: ${text}` });
  if (a.maxBots > b.maxBots) {
    add('max-bots', true, `maxBots lowered from ${a.maxBots} to ${b.maxBots}: capacity lowered below the bots that may exist: the excess goes as bots become idle, never mid-run`);
  } else if (a.maxBots < b.maxBots) {
    add('max-bots', false, `maxBots raised from ${a.maxBots} to ${b.maxBots}: up to ${plural(b.maxBots - a.maxBots, 'more bot')} may run at once`);
  }
  if (a.committedBots > b.committedBots) {
    add('committed-bots', true, `committed bots lowered from ${a.committedBots} to ${b.committedBots}: ${plural(a.committedBots - b.committedBots, 'fewer bot')} reserved for the group before the shared pool; the excess goes as bots become idle`);
  } else if (a.committedBots < b.committedBots) {
    add('committed-bots', false, `committed bots raised from ${a.committedBots} to ${b.committedBots}: ${plural(b.committedBots - a.committedBots, 'more bot')} of the capacity reserved for the group before the shared pool`);
  }
  if (!same(a.image, b.image) && imageLabel(a.image) !== imageLabel(b.image)) {
    add('image', false, `image ${imageLabel(a.image)} → ${imageLabel(b.image)}: bots will be replaced after their current run`);
  }
  if (a.vmSize !== b.vmSize) add('setting', false, `vmSize ${a.vmSize} → ${b.vmSize}`);
  for (const line of scalingChanges(a.scaling, b.scaling, env)) add('scaling', false, line);
  if (a.queue.maxQueuedPerUser !== b.queue.maxQueuedPerUser) add('setting', false, `queue.maxQueuedPerUser ${a.queue.maxQueuedPerUser} → ${b.queue.maxQueuedPerUser} (the most runs one user may have queued)`);
  if (a.queue.highPriority !== b.queue.highPriority) {
    add('access', false, `who may queue at high priority: ${HIGH_PRIORITY[a.queue.highPriority]} → ${HIGH_PRIORITY[b.queue.highPriority]} (environment admins always may)`);
  }
  for (const line of groupAccessChanges(a.access, b.access)) add('access', false, line);
  for (const [name, flow] of Object.entries(b.flows)) {
    const old = a.flows[name];
    if (!old) add('flow-added', false, `flow ${name} added (${flow.command}, time-out ${flow.timeoutMinutes} min)`);
    else {
      if (old.command !== flow.command) add('flow-changed', false, `flow ${name}: command ${old.command} → ${flow.command}`);
      if (old.timeoutMinutes !== flow.timeoutMinutes) add('flow-changed', false, `flow ${name}: time-out ${old.timeoutMinutes} → ${flow.timeoutMinutes} min`);
    }
  }
  for (const name of Object.keys(a.flows).filter((n) => !b.flows[n])) {
    add('flow-removed', false, `flow ${name} removed: new runs of it are refused`);
  }
  return changes;
}

function fleetChanges(stack: string, a: FleetManifest, b: FleetManifest): FleetChange[] {
  const changes: FleetChange[] = [];
  const add = (kind: ChangeKind, destructive: boolean, text: string, group?: string) => changes.push({ kind, destructive, stack, group, text });
  const ea = a.environment;
  const eb = b.environment;
  if (ea.geography !== eb.geography || ea.region !== eb.region) {
    add(
      'location',
      true,
      `environment ${eb.name} moves from ${ea.geography} (${ea.region}) to ${eb.geography} (${eb.region}): its resources are created anew there and the old ones deleted, with their bots and runs`,
    );
  }
  if (ea.botCapacity > eb.botCapacity) {
    add('bot-capacity', true, `environment ${eb.name}: botCapacity cut from ${ea.botCapacity} to ${eb.botCapacity}: capacity lowered below the bots that may exist: the excess goes as bots become idle, never mid-run`);
  } else if (ea.botCapacity < eb.botCapacity) {
    add('bot-capacity', false, `environment ${eb.name}: botCapacity raised from ${ea.botCapacity} to ${eb.botCapacity}`);
  }
  if (ea.enabled !== eb.enabled) add('setting', !eb.enabled, `environment ${eb.name} ${eb.enabled ? 'enabled' : 'disabled: no runs are handed out and idle bots are deleted'}`);
  if (ea.timeZone !== eb.timeZone) add('setting', false, `environment ${eb.name}: timeZone ${ea.timeZone} → ${eb.timeZone}`);
  for (const line of scalingChanges(ea.scaling, eb.scaling)) add('scaling', false, `environment ${eb.name}: ${line}`);
  for (const line of principalChanges('admins', ea.admins, eb.admins)) add('access', false, `environment ${eb.name}: ${line}`);

  const before = new Map(a.groups.map((g) => [g.name, g]));
  const after = new Map(b.groups.map((g) => [g.name, g]));
  for (const g of b.groups) {
    const old = before.get(g.name);
    if (!old) {
      add(
        'group-added',
        false,
        `group ${g.name} added: up to ${plural(g.maxBots, 'bot')}${g.committedBots ? ` (${g.committedBots} committed)` : ''}, image ${imageLabel(g.image)}, flows ${Object.keys(g.flows).join(', ') || 'none'}; ${whoCanUse(g.access)}`,
        g.name,
      );
    } else {
      changes.push(...groupChanges(stack, old, g, { before: ea.scaling, after: eb.scaling }));
    }
  }
  for (const g of a.groups.filter((g) => !after.has(g.name))) {
    add('group-removed', true, `group ${g.name} removed: its queued runs will be cancelled (group_removed) when the runtime starts on the new manifest, and the deploy deletes its scale set and bots`, g.name);
  }
  return changes;
}

type ImageVersion = FleetSide['stacks'][number]['imageVersions'][number];
const versionKey = (v: ImageVersion) => `${v.gallery}/${v.image}@${v.version}`;

/** `stack/group` of every group in `side` that runs on this gallery image version. */
function usersOfVersion(side: FleetSide, v: ImageVersion): string[] {
  return side.stacks.flatMap((s) =>
    (s.fleet?.groups ?? []).filter((g) => g.image.kind === 'gallery' && g.image.gallery === v.gallery && g.image.image === v.image && g.image.version === v.version).map((g) => `${s.name}/${g.name}`),
  );
}

/** Every change from `from` to `to`, stack by stack in the order of `to` (removed stacks last). */
export function diffFleets(from: FleetSide, to: FleetSide): FleetChange[] {
  const changes: FleetChange[] = [];
  const before = new Map(from.stacks.map((s) => [s.name, s]));
  const after = new Set(to.stacks.map((s) => s.name));
  for (const s of to.stacks) {
    const old = before.get(s.name);
    if (!old) {
      const env = s.fleet?.environment;
      const what = env ? `environment ${env.name} in ${env.geography} (${env.region}) with ${plural(s.fleet!.groups.length, 'group')}; admins ${env.admins.join(', ') || 'none'}` : 'a stack without a fleet';
      changes.push({ kind: 'stack-added', destructive: false, stack: s.name, text: `stack ${s.name} added: ${what}` });
      continue;
    }
    if (old.fleet && s.fleet) changes.push(...fleetChanges(s.name, old.fleet, s.fleet));
    const oldVersions = new Map(old.imageVersions.map((v) => [versionKey(v), v]));
    const newVersions = new Map(s.imageVersions.map((v) => [versionKey(v), v]));
    for (const [key, v] of newVersions) {
      const was = oldVersions.get(key);
      if (!was) changes.push({ kind: 'image-version', destructive: false, stack: s.name, text: `image version ${key} added: built and replicated to ${v.regions.join(', ') || 'no region'}` });
      else if (!same([...was.regions].sort(), [...v.regions].sort())) {
        changes.push({ kind: 'image-version', destructive: false, stack: s.name, text: `image version ${key}: replica regions ${was.regions.join(', ')} → ${v.regions.join(', ')}` });
      }
    }
    for (const key of oldVersions.keys()) {
      if (newVersions.has(key)) continue;
      const users = usersOfVersion(to, oldVersions.get(key)!);
      const still = users.length ? `; still used by ${users.join(', ')}, whose bots cannot start once it is gone` : '';
      changes.push({ kind: 'image-version', destructive: true, stack: s.name, text: `image version ${key} removed: the deploy deletes it from the gallery, so no group can roll back to it${still}` });
    }
    if (old.terraform && s.terraform) changes.push(...diffStackResources(s.name, old.terraform, s.terraform));
  }
  for (const s of from.stacks.filter((s) => !after.has(s.name))) {
    const what = s.fleet ? `: environment ${s.fleet.environment.name} and its ${plural(s.fleet.groups.length, 'group')} (${s.fleet.groups.map((g) => g.name).join(', ') || 'none'}) go with it` : '';
    changes.push({ kind: 'stack-removed', destructive: true, stack: s.name, text: `stack ${s.name} removed${what}` });
  }
  return changes;
}

/** 0: nothing, or nothing destructive; 2: something destructive, so a pipeline asks for approval. */
export function diffExitCode(changes: readonly FleetChange[]): 0 | 2 {
  return changes.some((c) => c.destructive) ? 2 : 0;
}

/** Plain text: one line per change, destructive ones marked, grouped by stack. */
export function renderText(changes: readonly FleetChange[]): string {
  if (changes.length === 0) return 'no fleet changes\n';
  const lines: string[] = [];
  let stack: string | undefined;
  for (const c of changes) {
    if (c.stack !== stack) {
      stack = c.stack;
      lines.push(`${lines.length ? '\n' : ''}${stack}`);
    }
    lines.push(`  ${c.destructive ? '! ' : '  '}${c.text}`);
  }
  const destructive = changes.filter((c) => c.destructive).length;
  lines.push('', `${plural(changes.length, 'change')}, ${destructive} destructive${destructive ? ' (marked !): needs approval' : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Markdown for a pull-request comment: a heading, a summary, and a table with destructive rows flagged. */
export function renderMarkdown(changes: readonly FleetChange[], title = 'Fleet changes'): string {
  const lines = [`### ${title}`, ''];
  if (changes.length === 0) return `${lines.join('\n')}\nNo fleet changes.\n`;
  const destructive = changes.filter((c) => c.destructive).length;
  lines.push(
    destructive
      ? `**${plural(destructive, 'destructive change')}** of ${changes.length}: this needs approval before it is deployed.`
      : `${plural(changes.length, 'change')}, none destructive.`,
    '',
    '| | stack | change |',
    '|---|---|---|',
  );
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  for (const c of changes) lines.push(`| ${c.destructive ? '⚠️ destructive' : ''} | ${cell(c.stack)} | ${cell(c.text)} |`);
  return `${lines.join('\n')}\n`;
}
