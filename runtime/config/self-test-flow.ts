/**
 * The built-in self-test flow. Every group accepts it from its users without declaring it, and
 * every agent carries it (runtime/agent/self-test.ts): it starts a child process on the bot and
 * calls the runtime's /healthz from there, which proves that the bot can run a command and reach
 * the runtime. Pipelines use it as the smoke run of a fresh deploy, before any of the fleet's own
 * flows (and the image that carries them) exist: `--smoke <group>/hosted-bots-self-test`.
 *
 * Its name is reserved: the rule pack refuses a declared flow of that name at synth (HRB-FLOW-2,
 * constructs/azure-rules.ts), and so does the manifest's schema (fleet-schema.ts). This module
 * imports nothing, so the agent bundle and the schema carry it without anything else.
 */

/** The reserved name of the built-in self-test flow. */
export const SELF_TEST_FLOW = 'hosted-bots-self-test';

/** How the flow appears to the queue: the runtime gives it this time-out, and the agent knows it by name. */
export const SELF_TEST_FLOW_DEFINITION = {
  /** Never run as a command: the agent runs the self-test itself when it claims a run of this flow. */
  command: `(built in: ${SELF_TEST_FLOW})`,
  timeoutMinutes: 5,
  description: 'Built-in: runs a child process on the bot and calls the runtime from it; reports host, OS, Node.js and the runtime\'s answer time.',
} as const;

/** Why a declared flow may not take the name, and what to do: the message of HRB-FLOW-2 and of the schema. */
export const SELF_TEST_FLOW_RESERVED = `is the name of the built-in self-test flow, which every group runs without declaring it; give your flow another name`;

/**
 * The flow a group runs under `name`: a flow of its own catalogue (own properties only, so a flow
 * named `constructor` is in none), else the built-in self-test, else undefined.
 */
export function acceptedFlow<F extends { readonly command: string; readonly timeoutMinutes: number }>(
  catalogue: Readonly<Record<string, F>>,
  name: string,
): F | typeof SELF_TEST_FLOW_DEFINITION | undefined {
  if (Object.hasOwn(catalogue, name)) return catalogue[name];
  return name === SELF_TEST_FLOW ? SELF_TEST_FLOW_DEFINITION : undefined;
}
