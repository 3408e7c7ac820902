/**
 * The replacements the library makes on purpose and that lose nothing, and how a reviewer's tools
 * tell them from a user's own resources of the same type.
 *
 * Each such resource carries a marker in the comment key `//` of its synthesized body (beside
 * cdktf's own metadata), which Terraform ignores: adding it changes no plan, and a resource
 * declared by anyone else (a user's own `random_id` or storage blob in the same stack) has none.
 * `hosted-bots plan` (terraform-plan.ts, reading the stack's cdk.tf.json beside the saved plan) and
 * the offline `hosted-bots diff` (stack-diff.ts) report a replacement as routine (exit code 0)
 * only for a resource that carries the marker and has the type the marker names. A destroy of one
 * stays destructive.
 */
import type { TerraformResource } from './cdktf';

/** The key under `//` that holds the marker. */
export const ROUTINE_REPLACEMENT_KEY = 'hosted_bots_routine_replacement';

export interface RoutineReplacement {
  /** The Terraform resource type the marker is valid on. */
  readonly type: string;
  /** Why replacing it loses nothing, for the report. */
  readonly why: string;
}

export const ROUTINE_REPLACEMENTS = {
  'runtime-package': {
    type: 'azurerm_storage_blob',
    why: 'the runtime package: a new bundle is a new blob named by its content, created before the old one is destroyed (create_before_destroy), and the app loads the new one (constructs/bot-runtime.ts)',
  },
  'admin-password-version': {
    type: 'random_id',
    why: "a bot group's admin password version: a new password gives it a new value, so the runtime replaces idle bots that still have the old password (constructs/bot-group.ts)",
  },
} as const satisfies Readonly<Record<string, RoutineReplacement>>;

export type RoutineReplacementKind = keyof typeof ROUTINE_REPLACEMENTS;

/** Marks one of the library's own resources as replaced routinely. */
export function markRoutineReplacement(resource: TerraformResource, kind: RoutineReplacementKind): void {
  if (resource.terraformResourceType !== ROUTINE_REPLACEMENTS[kind].type) {
    throw new Error(`markRoutineReplacement: ${kind} is for ${ROUTINE_REPLACEMENTS[kind].type}, not ${resource.terraformResourceType} (${resource.node.path})`);
  }
  resource.addOverride(`//.${ROUTINE_REPLACEMENT_KEY}`, kind);
}

/** Why replacing a synthesized resource is routine, or undefined: it has no marker, or a marker for another type. */
export function routineReplacementOf(type: string, body: unknown): string | undefined {
  const comment = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['//'] : undefined;
  const kind = typeof comment === 'object' && comment !== null ? (comment as Record<string, unknown>)[ROUTINE_REPLACEMENT_KEY] : undefined;
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(ROUTINE_REPLACEMENTS, kind)) return undefined;
  const routine: RoutineReplacement = ROUTINE_REPLACEMENTS[kind as RoutineReplacementKind];
  return routine.type === type ? routine.why : undefined;
}

/**
 * The routine replacements of a synthesized stack (its cdk.tf.json), by Terraform address
 * (`type.name`, as `terraform show -json` gives it for a resource without count or for_each).
 */
export function routineReplacementsOf(config: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const resources = typeof config === 'object' && config !== null ? (config as { resource?: unknown }).resource : undefined;
  if (typeof resources !== 'object' || resources === null) return out;
  for (const [type, byName] of Object.entries(resources as Record<string, unknown>)) {
    if (typeof byName !== 'object' || byName === null) continue;
    for (const [name, body] of Object.entries(byName as Record<string, unknown>)) {
      const why = routineReplacementOf(type, body);
      if (why) out.set(`${type}.${name}`, why);
    }
  }
  return out;
}
