/**
 * The order in which environment stacks are promoted: a change is deployed to the first
 * geography, checked, then to the next. The order is written into every listed stack's
 * fleet.json, where `hosted-bots promote` reads it.
 */
import type { HostedBotsStack } from './hosted-bots-stack';

export function declarePromotionOrder(stacks: readonly HostedBotsStack[]): readonly string[] {
  const order = stacks.map((s) => s.node.id);
  const seen = new Set<string>();
  for (const id of order) {
    if (seen.has(id)) throw new Error(`promotion order: stack "${id}" is listed twice; list each stack once`);
    seen.add(id);
  }
  for (const stack of stacks) stack._setPromotionOrder(order);
  return order;
}
