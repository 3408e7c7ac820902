/**
 * Where a construct's resources go: a resource group and a location. Stacks provide one, so a
 * construct created inside a stack needs neither in its props.
 */
import { IConstruct } from './cdktf';

export interface ResourcePlacement {
  readonly resourceGroupName: string;
  readonly location: string;
}

/** A construct, usually a stack, that places the resources below it. */
export interface IPlacementProvider {
  readonly placement: ResourcePlacement;
}

function providesPlacement(node: IConstruct): node is IConstruct & IPlacementProvider {
  return typeof (node as Partial<IPlacementProvider>).placement === 'object';
}

/**
 * The placement for a construct: explicit props win, then the nearest enclosing provider.
 * Throws, naming the construct, when there is neither.
 */
export function resolvePlacement(scope: IConstruct, props: Partial<ResourcePlacement>): ResourcePlacement {
  const provider = scope.node.scopes.slice().reverse().find(providesPlacement);
  const resourceGroupName = props.resourceGroupName ?? provider?.placement.resourceGroupName;
  const location = props.location ?? provider?.placement.location;
  if (resourceGroupName === undefined || location === undefined) {
    throw new Error(
      `${scope.node.path}: resourceGroupName and location are required outside a BotImagesStack or HostedBotsStack; pass both in the props`,
    );
  }
  return { resourceGroupName, location };
}
