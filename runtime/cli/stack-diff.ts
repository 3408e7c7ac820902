/**
 * What Terraform would replace or destroy, read offline from two synthesized stacks (each
 * stack's cdk.tf.json), for a pull-request job without cloud credentials: a resource gone, a
 * resource whose address changed, a change to an attribute the provider marks ForceNew
 * (force-new-attributes.ts), a replacement that follows from one (a ForceNew attribute that refers
 * to a replaced resource), and network changes. Pure: `hosted-bots plan` (terraform-plan.ts) is
 * the authority once credentials are at hand; this is what can be known before.
 *
 * Values that are Terraform expressions are compared as text, as they stand in cdk.tf.json: a
 * changed expression "changes at apply time", and so does an unchanged one whose local changed.
 */
import { routineReplacementOf } from '../../constructs/routine-replacement';
import type { FleetChange } from './fleet-diff';
import { coveredBy, ResourceReplacementRule, replacementRule, sourceCitation } from './force-new-attributes';

type Json = unknown;
type ResourceBody = Readonly<Record<string, Json>>;

/** The parts of a synthesized stack (cdk.tf.json) the comparison reads. */
export interface TerraformConfig {
  readonly resource?: Readonly<Record<string, Readonly<Record<string, ResourceBody>>>>;
  readonly locals?: Readonly<Record<string, Json>>;
}

/** Keys of a resource body that are Terraform's own, not the provider's attributes. */
const META = new Set(['//', 'depends_on', 'lifecycle', 'provider', 'count', 'for_each', 'provisioner', 'connection']);

/** Attributes whose values are never printed: the provider marks these sensitive, or they hold secrets. */
const SECRET = /(password|secret|token|protected_settings|custom_data|user_data|value|content)/i;

/** Microsoft Learn, "Add, change, or delete a virtual network subnet": the address range of a subnet with resources in it cannot change. */
const NETWORK_EFFECT =
  'the provider updates it in place, but Azure changes a subnet\'s address range only while nothing is deployed in it (Microsoft Learn, "Add, change, or delete a virtual network subnet"), and these subnets hold the bots, the runtime\'s VNet integration, the database and the private endpoint';

interface Resource {
  readonly address: string;
  readonly type: string;
  readonly body: ResourceBody;
}

interface Leaf {
  /** With list indexes, e.g. `os_profile[0].windows_configuration[0].admin_password`. */
  readonly key: string;
  /** Without them, as the table names attributes. */
  readonly path: string;
  readonly value: Json;
}

interface ChangedLeaf {
  readonly path: string;
  readonly before: Json;
  readonly after: Json;
  /** Locals the value refers to whose definitions changed, when its own text did not. */
  readonly changedLocals: readonly string[];
}

function resourcesOf(config: TerraformConfig | undefined): Map<string, Resource> {
  const all = new Map<string, Resource>();
  for (const [type, byName] of Object.entries(config?.resource ?? {})) {
    for (const [name, body] of Object.entries(byName ?? {})) all.set(`${type}.${name}`, { address: `${type}.${name}`, type, body: body ?? {} });
  }
  return all;
}

const isNothing = (v: Json): boolean => v === undefined || v === null;
const isPrimitive = (v: Json): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** Every attribute value of a resource, blocks and maps walked down to their leaves. */
function leavesOf(body: ResourceBody): Map<string, Leaf> {
  const leaves = new Map<string, Leaf>();
  const walk = (value: Json, key: string, path: string) => {
    if (Array.isArray(value) && value.length > 0 && !value.every(isPrimitive)) {
      value.forEach((item, i) => walk(item, `${key}[${i}]`, path));
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, Json>);
      if (entries.length === 0) leaves.set(key, { key, path, value: undefined });
      for (const [k, v] of entries) walk(v, `${key}.${k}`, `${path}.${k}`);
    } else if (!isNothing(value)) {
      leaves.set(key, { key, path, value });
    }
  };
  for (const [k, v] of Object.entries(body)) if (!META.has(k)) walk(v, k, k);
  return leaves;
}

const LOCAL_REF = /(?<![\w.])local\.([A-Za-z_][\w-]*)/g;
/** `type.name.attribute` inside an expression; data sources, locals and variables do not match a resource address. */
const RESOURCE_REF = /(?<![\w.-])([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)\.([a-z_][a-z0-9_]*)/g;

function localsIn(value: Json): string[] {
  const text = JSON.stringify(value) ?? '';
  return [...text.matchAll(LOCAL_REF)].map((m) => m[1]);
}

function resourceRefs(value: Json): Array<{ address: string; attribute: string }> {
  const text = JSON.stringify(value) ?? '';
  if (!text.includes('${')) return [];
  return [...text.matchAll(RESOURCE_REF)].map((m) => ({ address: `${m[1]}.${m[2]}`, attribute: m[3] }));
}

/** A lifecycle.ignore_changes entry as a table path: `os_profile[0].x` and `os_profile.0.x` both become `os_profile.x`. */
const tablePath = (entry: string): string => entry.replace(/\[\d+\]/g, '').replace(/\.\d+(?=\.|$)/g, '');

function ignoredPaths(body: ResourceBody): readonly string[] | 'all' {
  const ignore = (body.lifecycle as { ignore_changes?: Json } | undefined)?.ignore_changes;
  if (ignore === 'all') return 'all';
  return Array.isArray(ignore) ? ignore.filter((e): e is string => typeof e === 'string').map(tablePath) : [];
}

function changedLeaves(before: ResourceBody, after: ResourceBody, changedLocals: ReadonlySet<string>): ChangedLeaf[] {
  const ignored = ignoredPaths(after);
  if (ignored === 'all') return [];
  const a = leavesOf(before);
  const b = leavesOf(after);
  const changes: ChangedLeaf[] = [];
  const seen = new Set<string>();
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const leafA = a.get(key);
    const leafB = b.get(key);
    const path = (leafB ?? leafA)!.path;
    if (coveredBy(path, ignored)) continue;
    const sameText = JSON.stringify(leafA?.value) === JSON.stringify(leafB?.value);
    const locals = sameText ? localsIn(leafB?.value).filter((l) => changedLocals.has(l)) : [];
    if (sameText && locals.length === 0) continue;
    // One sentence per attribute, however many list items changed it.
    const id = `${path}\u0000${JSON.stringify(leafA?.value)}\u0000${JSON.stringify(leafB?.value)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    changes.push({ path, before: leafA?.value, after: leafB?.value, changedLocals: [...new Set(locals)] });
  }
  return changes;
}

const isSecret = (path: string): boolean => SECRET.test(path.split('.').pop() ?? '');

function shown(value: Json): string {
  if (value === undefined) return 'unset';
  const text = Array.isArray(value) ? value.map(String).join(', ') : String(value);
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

const isExpression = (v: Json): boolean => typeof v === 'string' && v.includes('${');

/** How one attribute changed, e.g. `name kv-a → kv-b (a rename)` or `key_vault_id changes at apply time (... → ...)`. */
function describeChange(c: ChangedLeaf): string {
  if (c.changedLocals.length) return `${c.path} changes at apply time: it uses ${c.changedLocals.map((l) => `local.${l}`).join(', ')}, which changed`;
  if (isSecret(c.path)) return `${c.path} changes (its value is not shown)`;
  const was = shown(c.before);
  const now = shown(c.after);
  const what = c.path === 'name' ? ' (a rename)' : c.path === 'location' ? ' (a region move)' : '';
  const expressionsOnly = (v: Json) => (typeof v === 'string' ? v.match(/\$\{[^}]*\}/g)?.join(' ') ?? '' : '');
  if ((isExpression(c.before) || isExpression(c.after)) && expressionsOnly(c.before) !== expressionsOnly(c.after)) {
    return `${c.path} changes at apply time (${was} → ${now})${what}`;
  }
  return `${c.path} ${was} → ${now}${what}`;
}

const label = (r: { address: string }, rule: ResourceReplacementRule | undefined): string => `${r.address}${rule ? ` (${rule.what})` : ''}`;
const lost = (rule: ResourceReplacementRule | undefined): string => (rule?.loses ? `; lost with it: ${rule.loses}` : '');
const constructPath = (body: ResourceBody): string | undefined => (body['//'] as { metadata?: { path?: string } } | undefined)?.metadata?.path;

interface Replacement {
  readonly reasons: string[];
  /** Only conditional rules that cannot be decided offline: the resource may be replaced. */
  readonly uncertain: boolean;
}

/** The replacements and network changes of one resource present on both sides. */
function assess(changes: readonly ChangedLeaf[], after: ResourceBody, rule: ResourceReplacementRule): { replacement?: Replacement; network: ChangedLeaf[] } {
  const certain: string[] = [];
  const maybe: string[] = [];
  const network: ChangedLeaf[] = [];
  for (const c of changes) {
    if (coveredBy(c.path, rule.forceNew)) {
      certain.push(`${describeChange(c)} forces a new resource`);
      continue;
    }
    const conditional = rule.forceNewWhen?.find((w) => coveredBy(c.path, [w.path]));
    if (conditional) {
      const forces = conditional.forces(c.before, c.after, after);
      if (forces) certain.push(`${describeChange(c)} forces a new resource (${conditional.rule})`);
      else if (forces === undefined) maybe.push(`${describeChange(c)} may force a new resource (${conditional.rule}; the values are known only at apply time)`);
      continue;
    }
    if (rule.network && coveredBy(c.path, rule.network)) network.push(c);
  }
  const reasons = [...certain, ...maybe];
  return { replacement: reasons.length ? { reasons, uncertain: certain.length === 0 } : undefined, network };
}

/**
 * A resource whose ForceNew attribute refers to a replaced resource is replaced with it, unless
 * the attribute it refers to is one the configuration sets to the same text on both sides (a
 * name that stays, say): the others, such as `id`, are unknown until the new resource exists.
 */
function followReplacements(
  common: readonly string[],
  before: ReadonlyMap<string, Resource>,
  after: ReadonlyMap<string, Resource>,
  replaced: Map<string, Replacement>,
  changed: ReadonlySet<string>,
): void {
  const settled = (address: string, attribute: string) => {
    const a = before.get(address)?.body[attribute];
    const b = after.get(address)?.body[attribute];
    return b !== undefined && JSON.stringify(a) === JSON.stringify(b);
  };
  let grew = true;
  while (grew) {
    grew = false;
    for (const address of common) {
      if (replaced.has(address)) continue;
      const resource = after.get(address)!;
      const rule = replacementRule(resource.type);
      const reasons: string[] = [];
      if (rule) {
        for (const leaf of leavesOf(resource.body).values()) {
          if (!coveredBy(leaf.path, rule.forceNew) && !rule.forceNewWhen?.some((w) => coveredBy(leaf.path, [w.path]))) continue;
          for (const ref of resourceRefs(leaf.value)) {
            const cause = replaced.get(ref.address);
            if (cause && !cause.uncertain && !settled(ref.address, ref.attribute)) {
              reasons.push(`${leaf.path} refers to ${ref.address}.${ref.attribute}, which changes when that resource is replaced, and ${leaf.path} forces a new resource`);
            }
          }
        }
      }
      const triggers = (resource.body.lifecycle as { replace_triggered_by?: Json } | undefined)?.replace_triggered_by;
      for (const trigger of Array.isArray(triggers) ? triggers : []) {
        const target = String(trigger).replace(/^\$\{|\}$/g, '').split('.').slice(0, 2).join('.');
        if (replaced.has(target) || changed.has(target)) reasons.push(`lifecycle.replace_triggered_by names ${target}, which changes`);
      }
      if (reasons.length) {
        replaced.set(address, { reasons: [...new Set(reasons)], uncertain: false });
        grew = true;
      }
    }
  }
}

/** Every replacement, destroy and network change from one synthesized stack to the next. */
export function diffStackResources(stack: string, from: TerraformConfig | undefined, to: TerraformConfig | undefined): FleetChange[] {
  const before = resourcesOf(from);
  const after = resourcesOf(to);
  const changedLocals = new Set(
    [...new Set([...Object.keys(from?.locals ?? {}), ...Object.keys(to?.locals ?? {})])].filter((l) => JSON.stringify(from?.locals?.[l]) !== JSON.stringify(to?.locals?.[l])),
  );
  const changes: FleetChange[] = [];
  const add = (destructive: boolean, kind: FleetChange['kind'], resource: string, text: string) => changes.push({ kind, destructive, stack, resource, text });

  // A construct ID change gives the same resource a new address: the same type and name, elsewhere.
  const gone = [...before.values()].filter((r) => !after.has(r.address));
  const arrived = [...after.values()].filter((r) => !before.has(r.address));
  const movedTo = new Map<string, Resource>();
  for (const old of gone) {
    const name = old.body.name;
    if (name === undefined) continue;
    const match = arrived.find((r) => r.type === old.type && JSON.stringify(r.body.name) === JSON.stringify(name) && ![...movedTo.values()].includes(r));
    if (match) movedTo.set(old.address, match);
  }

  const common = [...after.keys()].filter((a) => before.has(a));
  const replaced = new Map<string, Replacement>();
  const changedAddresses = new Set<string>();
  const network: Array<{ resource: Resource; changes: ChangedLeaf[] }> = [];
  const unknown: Array<{ resource: Resource; changes: ChangedLeaf[] }> = [];
  for (const address of common) {
    const resource = after.get(address)!;
    const leaves = changedLeaves(before.get(address)!.body, resource.body, changedLocals);
    if (leaves.length === 0) continue;
    changedAddresses.add(address);
    const rule = replacementRule(resource.type);
    if (!rule) {
      unknown.push({ resource, changes: leaves });
      continue;
    }
    const assessed = assess(leaves, resource.body, rule);
    if (assessed.replacement) replaced.set(address, assessed.replacement);
    if (assessed.network.length) network.push({ resource, changes: assessed.network });
  }
  followReplacements(common, before, after, replaced, changedAddresses);

  for (const address of common) {
    const replacement = replaced.get(address);
    if (!replacement) continue;
    const resource = after.get(address)!;
    const rule = replacementRule(resource.type);
    const verb = replacement.uncertain ? 'may be replaced' : 'is replaced';
    const routine = routineReplacementOf(resource.type, resource.body);
    add(
      !routine,
      'resource-replaced',
      address,
      `${label(resource, rule)} ${verb}: ${replacement.reasons.join('; ')}${rule ? ` (${sourceCitation(rule)})` : ''}${routine ? `; routine, nothing is lost: ${routine}` : lost(rule)}`,
    );
  }
  for (const { resource, changes: leaves } of network) {
    const rule = replacementRule(resource.type);
    add(true, 'network', resource.address, `${label(resource, rule)}: network change: ${leaves.map(describeChange).join('; ')}; ${NETWORK_EFFECT}`);
  }
  for (const old of gone) {
    const rule = replacementRule(old.type);
    const moved = movedTo.get(old.address);
    if (moved) {
      const paths = [constructPath(old.body), constructPath(moved.body)];
      add(
        true,
        'resource-destroyed',
        old.address,
        `${label(old, rule)} is destroyed and ${moved.address} created in its place: its address changed${paths.every(Boolean) ? ` (construct path ${paths[0]} → ${paths[1]})` : ''}, and Terraform does not carry a resource to a new address by itself (moveFromId on the new resource, or a moved block, keeps it)${lost(rule)}`,
      );
    } else {
      add(true, 'resource-destroyed', old.address, `${label(old, rule)} is destroyed: it is no longer declared${lost(rule)}`);
    }
  }
  for (const { resource, changes: leaves } of unknown) {
    add(
      false,
      'setting',
      resource.address,
      `${resource.address}: ${leaves.map((c) => c.path).join(', ')} changed; ${resource.type} has no row in the ForceNew table (runtime/cli/force-new-attributes.ts), so hosted-bots plan must tell whether Terraform replaces it`,
    );
  }
  return changes;
}
