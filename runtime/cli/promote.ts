/**
 * `hosted-bots promote`: environment stacks deployed one geography at a time, each gated on its
 * runtime before the next starts. Gate 1 is `/healthz`; gate 2, optional, is a smoke run of a
 * named flow that must succeed. The first failure stops the promotion; later stages stay as
 * they were. `hosted-bots gate` runs the same gates on one runtime that was deployed another way
 * (a pipeline's `hosted-bots apply` of a reviewed plan).
 */
import { SELF_TEST_FLOW } from '../config/self-test-flow';
import { CdktfSteps, RUNTIME_URL_OUTPUT } from './cdktf-steps';
import { commandLine } from './cdktf-process';
import { describeRunEnd, followRun, retryTransient, RunView, RuntimeClient, waitForHealth } from './runtime-client';
import { SynthOutput } from './synth-output';
import { formatDuration, Output, ProgressLine } from './terminal';

export interface SmokeTest {
  readonly group: string;
  readonly flow: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

export interface PromoteOptions extends GateOptions {
  /** --order; without it, the order the app declares (declarePromotionOrder). */
  readonly order?: readonly string[];
  readonly dryRun: boolean;
  /** --url overrides of the runtime_url output, by stack. */
  readonly urls: ReadonlyMap<string, string>;
}

interface Stage {
  readonly name: string;
  /** The stacks this stage deploys: dependencies that are not stages themselves, then the stage. */
  readonly deploys: readonly string[];
}

/** A gate that did not pass; the message says which gate and why. */
export class GateFailed extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'GateFailed';
  }
}

/** A promotion that stopped at a stage; the message names the stage and the reason. */
export class PromotionFailed extends Error {
  constructor(
    readonly stage: string,
    reason: string,
  ) {
    super(`stage ${stage}: ${reason}`);
    this.name = 'PromotionFailed';
  }
}

/** `--order a,b`: names, each once. */
export function parseOrder(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) throw new Error(`--order "${value}" has an empty stage name; list stack names separated by commas, e.g. bots-europe,bots-us`);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`--order lists stage "${twice}" twice; list each stack once`);
  return names;
}

function stamp(date = new Date()): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/** Checks the stages against the synth before anything runs, and adds the stacks each deploys first. */
function planStages(synth: SynthOutput, order: readonly string[], options: PromoteOptions): Stage[] {
  synth.assertKnown(order, 'promote: stage');
  for (const name of order) {
    if (!synth.get(name)!.fleet) {
      throw new Error(`promote: stage "${name}" is not an environment stack (it has no fleet.json, so no runtime to gate on); deploy it with hosted-bots deploy ${name}`);
    }
  }
  const unknownUrls = [...options.urls.keys()].filter((s) => !order.includes(s));
  if (unknownUrls.length) throw new Error(`--url names ${unknownUrls.map((s) => `"${s}"`).join(', ')}, which ${unknownUrls.length > 1 ? 'are not stages' : 'is not a stage'}; the stages are ${order.join(', ')}`);
  if (options.smoke) {
    const { group, flow } = options.smoke;
    for (const name of order) {
      const g = synth.get(name)!.fleet!.groups.find((x) => x.name === group);
      if (!g) throw new Error(`--smoke ${group}/${flow}: stage ${name} has no group "${group}" (its groups: ${synth.get(name)!.fleet!.groups.map((x) => x.name).join(', ') || 'none'})`);
      const flows = Object.keys(g.flows ?? {});
      if (flow !== SELF_TEST_FLOW && !flows.includes(flow)) {
        throw new Error(`--smoke ${group}/${flow}: group ${group} of stage ${name} has no flow "${flow}" (its flows: ${flows.join(', ') || 'none'}; every group also runs the built-in ${SELF_TEST_FLOW})`);
      }
    }
  }
  const deployed = new Set<string>();
  return order.map((name, i) => {
    const ancestors = synth.ancestors(name);
    const later = order.slice(i + 1).find((s) => ancestors.has(s));
    if (later) throw new Error(`promote: stage ${name} depends on stack ${later}, which comes later in the order ${order.join(', ')}; put ${later} first`);
    const needed = [...ancestors].filter((s) => !order.includes(s) && !deployed.has(s));
    const deploys = synth.dependencyOrder([...needed, name]);
    deploys.forEach((s) => deployed.add(s));
    return { name, deploys };
  });
}

function describeGates(options: PromoteOptions, stage: string): string[] {
  const url = options.urls.get(stage) ?? `<${RUNTIME_URL_OUTPUT} output of ${stage}>`;
  const lines = [`  gate 1, health: GET ${url}/healthz answers 200 with status ok within ${options.healthTimeoutMs / 1000} s`];
  if (options.smoke) {
    const { group, flow, inputs } = options.smoke;
    const shown = Object.keys(inputs).length ? ` with inputs ${JSON.stringify(inputs)}` : '';
    lines.push(`  gate 2, smoke:  a high-priority run of ${group}/${flow}${shown} ends succeeded within ${options.smokeTimeoutMs / 1000} s`);
    if (!options.token) lines.push('                  (it needs an API token when the promotion runs: --token or HOSTED_BOTS_TOKEN)');
  }
  return lines;
}

function printPlan(out: Output, steps: CdktfSteps, stages: ReadonlyArray<{ name: string; deploys?: readonly string[] }>, options: PromoteOptions, synthFirst: boolean): void {
  const say = (line: string) => out.write(`${line}\n`);
  say('promote: dry run; nothing is deployed and no runtime is called');
  if (synthFirst) say(`first it runs: ${commandLine(steps.synthArgs)} (the stage names are checked against what it writes)`);
  stages.forEach((stage, i) => {
    say(`stage ${i + 1}/${stages.length}: ${stage.name}`);
    if (stage.deploys) {
      for (const s of stage.deploys) say(`  deploy: ${commandLine(steps.deployArgs(s))}${s === stage.name ? '' : `   (${stage.name} depends on it)`}`);
    } else {
      say(`  deploy: the stacks ${stage.name} depends on that are not stages and not yet deployed, then:`);
      say(`          ${commandLine(steps.deployArgs(stage.name))}`);
    }
    describeGates(options, stage.name).forEach(say);
  });
  say('the first stage that fails stops the promotion; later stages are not touched.');
}

async function healthGate(out: Output, url: string, timeoutMs: number): Promise<void> {
  const progress = new ProgressLine(out, `  health: GET ${url}/healthz`);
  const result = await waitForHealth(url, timeoutMs, (last) => progress.update(`last: ${last}`));
  if (!result.ok) {
    progress.done(`  health: failed (${result.attempts} tries)`);
    throw new GateFailed(`health gate failed: ${url} did not answer 200 with status ok within ${timeoutMs / 1000} s (last: ${result.last})`);
  }
  progress.done(`  health: ok in ${formatDuration(result.ms)}`);
}

async function smokeGate(out: Output, label: string, url: string, token: string, smoke: SmokeTest, timeoutMs: number): Promise<void> {
  const { group, flow } = smoke;
  const deadline = Date.now() + timeoutMs;
  const client = new RuntimeClient(url, token);
  const key = `promote-${label}-${stamp()}`;
  const progress = new ProgressLine(out, `  smoke: run of ${group}/${flow} (Idempotency-Key ${key})`);
  const fail = (reason: string): never => {
    progress.done('  smoke: failed');
    throw new GateFailed(`smoke gate failed: ${reason}`);
  };
  let run: RunView;
  try {
    // The key makes a retried enqueue return the same run.
    run = (await retryTransient(() => client.enqueue(group, { flow, inputs: { ...smoke.inputs }, priority: 'high' }, key), deadline, (err) => progress.update(`retrying: ${err.message}`))).run;
  } catch (err) {
    return fail((err as Error).message);
  }
  progress.update(`run ${run.id} ${run.state}`);
  let result;
  try {
    result = await followRun(client, run, Math.max(0, deadline - Date.now()), (r) => progress.update(`run ${r.id} ${r.state}`), (err) => progress.update(`retrying: ${err.message}`));
  } catch (err) {
    return fail(`following run ${run.id}: ${(err as Error).message}`);
  }
  const ended = result.run;
  if (result.timedOut) {
    // A smoke run left in the queue would still take a bot later; nobody waits for it any more.
    const cancelled = await client.cancel(ended.id).then(
      () => 'it was cancelled',
      (err: Error) => `cancelling it failed: ${err.message}`,
    );
    return fail(`run ${ended.id} of ${group}/${flow} did not end within ${timeoutMs / 1000} s (still ${ended.state}); ${cancelled}`);
  }
  const output = ended.result?.output?.trim();
  if (ended.state !== 'succeeded') {
    if (output) out.write(`  output of run ${ended.id}:\n${output.split('\n').slice(-20).map((l) => `    ${l}\n`).join('')}`);
    return fail(`run ${ended.id} of ${group}/${flow} ended ${ended.state}${describeRunEnd(ended)}`);
  }
  progress.done(`  smoke: run ${ended.id} succeeded (waited ${formatDuration(ended.waitMs)}, ran ${formatDuration(ended.runMs ?? 0)})`);
  // The self-test's report (host, OS, Node.js, the runtime's answer time) is worth a reader's glance.
  if (flow === SELF_TEST_FLOW && output) out.write(output.split('\n').map((l) => `    ${l}\n`).join(''));
}

export interface GateOptions {
  readonly token?: string;
  readonly smoke?: SmokeTest;
  readonly smokeTimeoutMs: number;
  readonly healthTimeoutMs: number;
}

/**
 * The gates of one runtime: its /healthz, then the smoke run when one is given. `label` names the
 * runtime in the smoke run's idempotency key. Throws GateFailed at the first gate that fails.
 */
export async function runGates(out: Output, label: string, url: string, options: GateOptions): Promise<void> {
  if (options.smoke && !options.token) {
    throw new Error(`--smoke ${options.smoke.group}/${options.smoke.flow} starts a run, which needs an API token: pass --token or set HOSTED_BOTS_TOKEN`);
  }
  await healthGate(out, url, options.healthTimeoutMs);
  if (options.smoke) await smokeGate(out, label, url, options.token!, options.smoke, options.smokeTimeoutMs);
}

export async function promote(options: PromoteOptions, steps: CdktfSteps, out: Output): Promise<void> {
  const say = (line: string) => out.write(`${line}\n`);
  // A dry run calls no runtime, so it needs no token; a real one fails here, before any deploy.
  if (options.smoke && !options.token && !options.dryRun) {
    throw new Error(`--smoke ${options.smoke.group}/${options.smoke.flow} starts a run, which needs an API token: pass --token or set HOSTED_BOTS_TOKEN`);
  }
  if (options.order && options.dryRun) {
    const unknownUrls = [...options.urls.keys()].filter((s) => !options.order!.includes(s));
    if (unknownUrls.length) throw new Error(`--url names ${unknownUrls.map((s) => `"${s}"`).join(', ')}, which is not in --order ${options.order.join(',')}`);
    printPlan(out, steps, options.order.map((name) => ({ name })), options, true);
    return;
  }
  steps.assertAvailable();
  if (!options.order) say(`promote: no --order, so cdktf synth runs first to read the order the stacks declare${options.dryRun ? ' (the dry run runs nothing else)' : ''}`);
  const synth = await steps.synth();
  const order = options.order ?? synth.declaredPromotionOrder();
  if (!order) throw new Error('promote: no stack declares a promotion order; pass --order a,b,... or call declarePromotionOrder() in the app');
  say(`order: ${order.join(' → ')}${options.order ? ' (--order)' : ' (declared by the app)'}`);
  const stages = planStages(synth, order, options);
  if (options.dryRun) {
    printPlan(out, steps, stages, options, false);
    return;
  }

  const started = Date.now();
  for (const [i, stage] of stages.entries()) {
    const stageStarted = Date.now();
    say(`stage ${i + 1}/${stages.length}: ${stage.name}`);
    try {
      for (const stack of stage.deploys) {
        const deployed = await steps.deploy(stack, `  ${stack}`);
        if (!deployed.ok) throw new PromotionFailed(stage.name, `deploy failed: ${deployed.reason}`);
      }
      let url = options.urls.get(stage.name);
      if (!url) {
        const found = steps.runtimeUrl(stage.name);
        if ('missing' in found) throw new PromotionFailed(stage.name, `health gate failed: no runtime URL: ${found.missing}; pass --url ${stage.name}=<url>`);
        url = found.url.replace(/\/+$/, '');
      }
      await runGates(out, stage.name, url, options);
    } catch (err) {
      const rest = stages.slice(i + 1).map((s) => s.name);
      if (rest.length) say(`not started: ${rest.join(', ')}`);
      throw err instanceof GateFailed ? new PromotionFailed(stage.name, err.message) : err;
    }
    say(`stage ${i + 1}/${stages.length}: ${stage.name} passed in ${formatDuration(Date.now() - stageStarted)}`);
  }
  say(`promoted ${order.join(' → ')} in ${formatDuration(Date.now() - started)}`);
}
