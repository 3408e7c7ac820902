/**
 * One shape for role assignments across constructs, as Azure Verified Modules do: users learn it once.
 */
import { RoleAssignment as AzureRoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Construct, Token } from './cdktf';

/** A role granted to a principal on the construct's resource. */
export interface RoleAssignment {
  /** Object ID of the user, group or service principal. */
  readonly principalId: string;
  /** A built-in role name such as `Reader`, or a role definition resource ID. */
  readonly roleDefinitionIdOrName: string;
  /**
   * Lets Azure skip a directory look-up for new principals.
   * @default Azure infers the type
   */
  readonly principalType?: 'User' | 'Group' | 'ServicePrincipal';
  /** @default no description */
  readonly description?: string;
}

const ROLE_DEFINITION_ID = /^\/(subscriptions|providers)\//i;

/** Creates one `azurerm_role_assignment` per entry, scoped to `scope`. */
export function assignRoles(owner: Construct, idPrefix: string, scope: string, assignments: readonly RoleAssignment[]): AzureRoleAssignment[] {
  return assignments.map((a, i) => {
    const byId = Token.isUnresolved(a.roleDefinitionIdOrName) || ROLE_DEFINITION_ID.test(a.roleDefinitionIdOrName);
    return new AzureRoleAssignment(owner, `${idPrefix}-${i}`, {
      scope,
      principalId: a.principalId,
      principalType: a.principalType,
      description: a.description,
      ...(byId ? { roleDefinitionId: a.roleDefinitionIdOrName } : { roleDefinitionName: a.roleDefinitionIdOrName }),
    });
  });
}
