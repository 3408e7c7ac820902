/**
 * The role assignments a standby pool needs (STANDBY_POOL_ROLES in azure-rules.ts), declared once
 * per scope and principal however many pools need them.
 */
import { RoleAssignment as AzureRoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { STANDBY_POOL_ROLES } from './azure-rules';
import { Construct, IConstruct, Token } from './cdktf';
import { assignRoles } from './role-assignments';

export type StandbyPoolScope = keyof typeof STANDBY_POOL_ROLES;

/** The tenant's Standby Pool Resource Provider, given the roles that let standby pools fill. */
export interface StandbyPoolProvider {
  /**
   * Object ID of the tenant's "Standby Pool Resource Provider" service principal:
   * `az ad sp list --display-name "Standby Pool Resource Provider" --query "[].id" -o tsv`.
   */
  readonly principalId: string;
}

const DECLARED = new WeakMap<IConstruct, Map<string, AzureRoleAssignment[]>>();

/**
 * The provider's roles for one kind of scope, declared under `owner` the first time a standby pool
 * asks for them and shared by every pool after: Azure refuses a second assignment of a role to the
 * same principal on the same scope (RoleAssignmentExists).
 */
export function standbyPoolRolesOn(owner: Construct, kind: StandbyPoolScope, scope: string, principalId: string): AzureRoleAssignment[] {
  const declared = DECLARED.get(owner) ?? new Map<string, AzureRoleAssignment[]>();
  DECLARED.set(owner, declared);
  // Object IDs are GUIDs, which Azure compares ignoring case.
  const key = `${kind} ${Token.isUnresolved(principalId) ? principalId : principalId.toLowerCase()}`;
  const found = declared.get(key);
  if (found) return found;
  const sameKind = [...declared.keys()].filter((k) => k.startsWith(`${kind} `)).length;
  const assignments = assignRoles(
    owner,
    `standby-pool-provider-${kind.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}${sameKind === 0 ? '' : `-${sameKind}`}`,
    scope,
    STANDBY_POOL_ROLES[kind].map((role) => ({
      principalId,
      roleDefinitionIdOrName: role,
      principalType: 'ServicePrincipal' as const,
      description: 'Lets standby pools of hosted RPA bots create their VMs (Configure role permissions for standby pools)',
    })),
  );
  declared.set(key, assignments);
  return assignments;
}
