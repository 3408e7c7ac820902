/**
 * Where a construct's resources go: a resource group and a location. Stacks provide one, so a
 * construct created inside a stack needs neither in its props.
 */
import { IConstruct } from './cdktf';

export interface ResourcePlacement {
  readonly resourceGroupName: string;
  readonly location: string;
  /**
   * The resource group's name as declared, when `resourceGroupName` is a reference to the group
   * (a Terraform token, which also orders creation after it).
   * @default `resourceGroupName` is the name as declared
   */
  readonly declaredResourceGroupName?: string;
}

/** A construct, usually a stack, that places the resources below it. */
export interface IPlacementProvider {
  readonly placement: ResourcePlacement;
}

function providesPlacement(node: IConstruct): node is IConstruct & IPlacementProvider {
  return typeof (node as Partial<IPlacementProvider>).placement === 'object';
}

/**
 * Whether two resource group names name the same group. "Resource and resource group names are
 * case-insensitive unless specifically noted in the valid characters column. [...] Always perform
 * a case-insensitive comparison of names." (Microsoft Learn, "Naming rules and restrictions for
 * Azure resources", azure-resource-manager/management/resource-name-rules.md)
 */
export function sameResourceGroupName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The placement for a construct: explicit props win, then the nearest enclosing provider.
 * Explicit props that name the provider's own resource group, in any case, get the provider's
 * reference to it, so that Terraform creates the group first. Throws, naming the construct, when
 * there is neither.
 */
export function resolvePlacement(scope: IConstruct, props: Partial<ResourcePlacement>): ResourcePlacement {
  const provided = scope.node.scopes.slice().reverse().find(providesPlacement)?.placement;
  const declared = provided?.declaredResourceGroupName ?? provided?.resourceGroupName;
  const providersGroup = props.resourceGroupName !== undefined && declared !== undefined && sameResourceGroupName(props.resourceGroupName, declared);
  const resourceGroupName = providersGroup ? provided!.resourceGroupName : props.resourceGroupName ?? provided?.resourceGroupName;
  const location = props.location ?? provided?.location;
  if (resourceGroupName === undefined || location === undefined) {
    throw new Error(
      `${scope.node.path}: resourceGroupName and location are required outside a BotImagesStack or HostedBotsStack; pass both in the props`,
    );
  }
  return providersGroup && provided!.declaredResourceGroupName !== undefined
    ? { resourceGroupName, location, declaredResourceGroupName: provided!.declaredResourceGroupName }
    : { resourceGroupName, location };
}
