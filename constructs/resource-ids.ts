/**
 * Parts of Azure resource IDs: worked out at synth when the ID is a plain string, else by
 * Terraform, with the same pattern, when the ID is only known at apply time.
 */
import { Fn, Token } from './cdktf';
import { expressionString } from './terraform-expressions';

/** The VNet ID of a subnet ID (the subnet ID without `/subnets/<name>`). */
export function virtualNetworkOf(subnetId: string): string {
  if (Token.isUnresolved(subnetId)) return Fn.element(Fn.regex(expressionString('(?i)^(.+)/subnets/[^/]+/?$'), subnetId), 0);
  return subnetId.replace(/\/subnets\/[^/]+\/?$/i, '');
}

/** The resource group ID of a resource ID; undefined when a plain string is not a resource ID. */
export function resourceGroupOf(resourceId: string): string | undefined {
  if (Token.isUnresolved(resourceId)) {
    return Fn.element(Fn.regex(expressionString('^(/subscriptions/[^/]+/resourceGroups/[^/]+)'), resourceId), 0);
  }
  return /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)/i.exec(resourceId)?.[1];
}
