/**
 * A saved Terraform plan, read from `terraform show -json <plan>` (Terraform's "JSON Output
 * Format", format_version 1.x): which resources it creates, updates in place, replaces and
 * destroys, and for each resource whose actions include "delete", the actions, Terraform's
 * `replace_paths` (the attributes that forced the replacement) and its `action_reason`. Pure:
 * running terraform is terraform-process.ts's, the command plan-command.ts's.
 */
import type { FleetChange } from './fleet-diff';
import { replacementRule, sourceCitation } from './force-new-attributes';

/** A resource the plan deletes: replaced (delete and create, in either order) or destroyed. */
export interface PlannedDeletion {
  readonly address: string;
  readonly type: string;
  /** As Terraform gives them: ["delete","create"], ["create","delete"] or ["delete"]. */
  readonly actions: readonly string[];
  readonly kind: 'replace' | 'destroy';
  /** Terraform's replace_paths, each rendered as `a.b[0].c`. */
  readonly replacePaths: readonly string[];
  /** Terraform's action_reason, e.g. replace_because_cannot_update, when it gives one. */
  readonly actionReason?: string;
  /**
   * Why replacing it loses nothing, for one of the library's own resources that the stack marks
   * as replaced routinely (constructs/routine-replacement.ts); undefined for every other resource.
   */
  readonly routine?: string;
}

export interface TerraformPlanSummary {
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly replaced: readonly string[];
  readonly destroyed: readonly string[];
  /** Every replaced or destroyed resource, in the plan's order. */
  readonly deletions: readonly PlannedDeletion[];
}

/** What each action_reason Terraform documents means, for the sentence. */
const ACTION_REASONS: Readonly<Record<string, string>> = {
  replace_because_cannot_update: 'an attribute that cannot be updated in place changed',
  replace_because_tainted: 'it is tainted (a create or an earlier apply failed part-way)',
  replace_by_request: 'a -replace option asked for it',
  replace_by_triggers: 'lifecycle.replace_triggered_by fired',
  delete_because_no_resource_config: 'it is no longer declared',
  delete_because_no_module: 'its module is no longer declared',
  delete_because_wrong_repetition: 'count or for_each was added or removed',
  delete_because_count_index: 'its count index is out of range',
  delete_because_each_key: 'its for_each key is gone',
  delete_because_no_move_target: 'a moved block points at an address that is not declared',
};

/** `["os_profile", 0, "admin_password"]` → `os_profile[0].admin_password`. */
export function renderPath(steps: readonly unknown[]): string {
  return steps.reduce<string>((out, step) => (typeof step === 'number' ? `${out}[${step}]` : out ? `${out}.${String(step)}` : String(step)), '');
}

function fail(source: string, what: string): never {
  throw new Error(`${source}: ${what}; it is not the output of terraform show -json <plan file> (Terraform 1.11 or later)`);
}

/**
 * Reads `terraform show -json` output; `source` names it in errors. `routine` holds the addresses
 * whose replacement is routine, with why (routineReplacementsOf the stack's cdk.tf.json).
 */
export function readTerraformPlan(showJson: unknown, source: string, routine: ReadonlyMap<string, string> = new Map()): TerraformPlanSummary {
  if (!showJson || typeof showJson !== 'object') fail(source, 'not a JSON object');
  const plan = showJson as { format_version?: unknown; resource_changes?: unknown; errored?: unknown };
  if (typeof plan.format_version !== 'string' || !/^1\./.test(plan.format_version)) fail(source, `format_version is ${JSON.stringify(plan.format_version)}, not 1.x`);
  if (plan.errored === true) fail(source, 'the plan errored');
  const changes = plan.resource_changes ?? [];
  if (!Array.isArray(changes)) fail(source, 'resource_changes is not a list');
  const created: string[] = [];
  const updated: string[] = [];
  const replaced: string[] = [];
  const destroyed: string[] = [];
  const deletions: PlannedDeletion[] = [];
  for (const rc of changes as Array<Record<string, any>>) {
    // Data sources are read, never deleted.
    if (rc?.mode === 'data') continue;
    const actions: unknown = rc?.change?.actions;
    if (!Array.isArray(actions) || typeof rc.address !== 'string') fail(source, `a resource change without an address or change.actions: ${JSON.stringify(rc).slice(0, 200)}`);
    const address = rc.address as string;
    const list = actions.map(String);
    if (list.includes('delete')) {
      const kind = list.includes('create') ? 'replace' : 'destroy';
      (kind === 'replace' ? replaced : destroyed).push(address);
      const paths = Array.isArray(rc.change.replace_paths) ? (rc.change.replace_paths as unknown[][]).map((p) => renderPath(Array.isArray(p) ? p : [p])) : [];
      deletions.push({
        address,
        type: String(rc.type ?? address.split('.').slice(-2)[0]),
        actions: list,
        kind,
        replacePaths: paths,
        ...(typeof rc.action_reason === 'string' ? { actionReason: rc.action_reason } : {}),
        ...(kind === 'replace' && routine.has(address) ? { routine: routine.get(address) } : {}),
      });
    } else if (list.includes('create')) created.push(address);
    else if (list.includes('update')) updated.push(address);
  }
  return { created, updated, replaced, destroyed, deletions };
}

/** A deletion that loses something: every destroy, and every replacement but those of the library's own resources marked routine. */
export function isDestructive(d: PlannedDeletion): boolean {
  return d.kind === 'destroy' || !d.routine;
}

/** True when the plan replaces or destroys anything that is not routine: the plan needs approval (exit code 2). */
export function planDeletes(plan: TerraformPlanSummary): boolean {
  return plan.deletions.some(isDestructive);
}

/** The sentence for one replaced or destroyed resource. */
function deletionText(d: PlannedDeletion): string {
  const rule = replacementRule(d.type);
  const head = `${d.address}${rule ? ` (${rule.what})` : ''}`;
  const reason = d.actionReason ? (ACTION_REASONS[d.actionReason] ?? d.actionReason) : undefined;
  const routine = d.kind === 'replace' ? d.routine : undefined;
  const lost = routine ? `; routine, nothing is lost: ${routine}` : rule?.loses ? `; lost with it: ${rule.loses}` : '';
  if (d.kind === 'destroy') return `${head} is destroyed${reason ? `: ${reason}` : ''} (actions ${d.actions.join(', ')})${lost}`;
  const order = d.actions[0] === 'create' ? 'the new one is created before the old one is destroyed' : 'destroyed, then created';
  const forcedBy = d.replacePaths.length ? `; forced by ${d.replacePaths.join(', ')}` : '';
  const cite = d.replacePaths.length && rule ? ` (ForceNew in ${sourceCitation(rule)})` : '';
  return `${head} is replaced (${order}: actions ${d.actions.join(', ')})${reason ? `: ${reason}` : ''}${forcedBy}${cite}${lost}`;
}

const count = (n: number, what: string) => `${n} to ${what}`;

/** The plan in the fleet report's sentences: one line of numbers, then each replaced or destroyed resource. */
export function planChanges(stack: string, plan: TerraformPlanSummary): FleetChange[] {
  const total = plan.created.length + plan.updated.length + plan.replaced.length + plan.destroyed.length;
  const numbers =
    total === 0
      ? 'Terraform plan: no changes'
      : `Terraform plan: ${[count(plan.created.length, 'create'), count(plan.updated.length, 'update in place'), count(plan.replaced.length, 'replace'), count(plan.destroyed.length, 'destroy')].join(', ')}`;
  return [
    { kind: 'terraform-plan', destructive: false, stack, text: numbers },
    ...plan.deletions.map(
      (d): FleetChange => ({ kind: d.kind === 'replace' ? 'resource-replaced' : 'resource-destroyed', destructive: isDestructive(d), stack, resource: d.address, text: deletionText(d) }),
    ),
  ];
}
