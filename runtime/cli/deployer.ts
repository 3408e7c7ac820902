/**
 * The deployer commands of `hosted-bots`: synth, deploy and promote drive the `cdktf` command
 * line; status and run call a running runtime's API. Pipelines and schedulers use these.
 */
import { randomUUID } from 'crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CdktfSteps } from './cdktf-steps';
import { SELF_TEST_FLOW } from '../config/self-test-flow';
import { parseOrder, promote, runGates, SmokeTest } from './promote';
import { describeRunEnd, followRun, isFinal, retryTransient, RunView, RuntimeClient, runtimeUrl } from './runtime-client';
import { imageLabel, SynthOutput } from './synth-output';
import { formatDuration, formatTable } from './terminal';

const out = process.stdout;
const say = (line = '') => out.write(`${line}\n`);

function seconds(flag: string, min = 1, max = 86_400) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be a number of seconds from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** `key=value`; the value is a number or a boolean when it reads as one in JSON, else a string. */
function parseInput(flag: string) {
  return (pair: string, previous: Array<[string, unknown]> = []): Array<[string, unknown]> => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError(`${flag} takes key=value, e.g. batch=42, got "${pair}"`);
    const key = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    if (previous.some(([k]) => k === key)) throw new InvalidArgumentError(`${flag} ${key} is given twice; give each input once`);
    const value = raw === 'true' ? true : raw === 'false' ? false : JSON_NUMBER.test(raw) && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    return [...previous, [key, value]];
  };
}

/** `--url stack=url`, repeatable. */
function parseStackUrl(pair: string, previous: Map<string, string> = new Map()): Map<string, string> {
  const at = pair.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`--url takes <stack>=<url>, e.g. bots-europe=https://hostedbots-rpa-northeurope.azurewebsites.net, got "${pair}"`);
  const stack = pair.slice(0, at);
  if (previous.has(stack)) throw new InvalidArgumentError(`--url gives stack ${stack} twice`);
  let url: string;
  try {
    url = runtimeUrl(pair.slice(at + 1), `--url ${stack}`);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return new Map([...previous, [stack, url]]);
}

function parseSmoke(value: string): { group: string; flow: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`--smoke takes <group>/<flow>, e.g. finance/${SELF_TEST_FLOW}, got "${value}"`);
  return { group: m[1], flow: m[2] };
}

function tokenFrom(option: string | undefined, command: string): string {
  const token = option || process.env.HOSTED_BOTS_TOKEN;
  if (!token) throw new Error(`${command} needs an API token: pass --token <token> or set HOSTED_BOTS_TOKEN`);
  return token;
}

const appOption = () => new Option('--app <command>', "the command that runs the CDKTF app (default: cdktf.json's app)");
const outputOption = () => new Option('--output <dir>', "cdktf's output folder (default: cdktf.json's output, else cdktf.out)");
const verboseOption = () => new Option('--verbose', "print cdktf's output as it comes");
const tokenOption = () => new Option('--token <token>', 'API token of a user of the runtime (default: HOSTED_BOTS_TOKEN)');

function synthSummary(synth: SynthOutput): string[] {
  const order = synth.dependencyOrder();
  const lines: string[] = [];
  const environments = order.map((n) => synth.get(n)!).filter((s) => s.fleet);
  if (environments.length) {
    const rows: string[][] = [];
    for (const s of environments) {
      const env = s.fleet!.environment;
      const head = [s.name, env.geography, env.region, `${env.botCapacity}${env.plan === 'trial' ? ' (trial)' : ''}`];
      const groups = s.fleet!.groups;
      if (groups.length === 0) rows.push([...head, '-', '', '', '']);
      groups.forEach((g, i) => rows.push([...(i === 0 ? head : ['', '', '', '']), g.name, String(g.maxBots), String(g.committedBots ?? 0), imageLabel(g.image)]));
    }
    lines.push('environment stacks', ...formatTable(['stack', 'geography', 'region', 'capacity', 'group', 'maxBots', 'committed', 'image'], rows), '');
  }
  const images = order.map((n) => synth.get(n)!).filter((s) => s.imageVersions.length);
  if (images.length) {
    const rows = images.flatMap((s) => s.imageVersions.map((v, i) => [i === 0 ? s.name : '', `${v.gallery}/${v.image}@${v.version}`, v.regions.join(', ')]));
    lines.push('image stacks', ...formatTable(['stack', 'image version', 'replica regions'], rows), '');
  }
  const others = order.filter((n) => !environments.some((s) => s.name === n) && !images.some((s) => s.name === n));
  if (others.length) lines.push(`other stacks: ${others.join(', ')}`);
  const promotion = synth.declaredPromotionOrder();
  if (promotion) lines.push(`promotion order: ${promotion.join(' → ')}`);
  const dependencies = order.filter((n) => synth.get(n)!.dependencies.length);
  for (const n of dependencies) lines.push(`${n} depends on ${synth.get(n)!.dependencies.join(', ')}`);
  return lines;
}

async function deployStacks(steps: CdktfSteps, synth: SynthOutput, names: readonly string[]): Promise<void> {
  synth.assertKnown(names, 'deploy:');
  const order = synth.dependencyOrder(names.length ? names : synth.names);
  for (const name of order) {
    const missing = synth.get(name)!.dependencies.filter((d) => !order.includes(d));
    if (missing.length) say(`note: ${name} depends on ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not in this deploy and must be deployed already`);
  }
  say(`deploy: ${order.join(', ')}`);
  const started = Date.now();
  for (const [i, name] of order.entries()) {
    const result = await steps.deploy(name, `[${i + 1}/${order.length}] ${name}`);
    if (!result.ok) {
      const rest = order.slice(i + 1);
      throw new Error(`deploy stopped at ${name}: ${result.reason}${rest.length ? `; not deployed: ${rest.join(', ')}` : ''}`);
    }
    const url = synth.get(name)!.fleet ? steps.runtimeUrl(name) : undefined;
    if (url && 'url' in url) say(`    runtime: ${url.url}`);
  }
  say(`deployed ${order.length} stack${order.length === 1 ? '' : 's'} in ${formatDuration(Date.now() - started)}`);
}

function stateLine(run: RunView, startedAt: number): string {
  const at = formatDuration(Date.now() - startedAt).padStart(9);
  const where = run.state === 'running' && run.bot ? ` on ${run.bot.vmName ?? run.bot.id}` : '';
  const attempt = run.attempts > 1 ? ` (attempt ${run.attempts})` : '';
  return `${at}  ${run.state}${where}${attempt}`;
}

export function registerDeployerCommands(program: Command): void {
  program
    .command('synth')
    .description('Synthesize the CDKTF app with cdktf synth, then summarize each stack: environments with their region, groups and images; image stacks with their replica regions.')
    .addOption(appOption())
    .addOption(outputOption())
    .addOption(verboseOption())
    .action(async (opts: { app?: string; output?: string; verbose?: boolean }) => {
      const steps = new CdktfSteps(opts, out);
      steps.assertAvailable();
      const synth = await steps.synth();
      say();
      synthSummary(synth).forEach((l) => say(l));
    });

  program
    .command('deploy')
    .argument('[stacks...]', 'the stacks to deploy (default: all of them)')
    .description('Synthesize, then deploy the stacks one at a time with cdktf deploy --auto-approve, in dependency order; stops at the first failure.')
    .addOption(appOption())
    .addOption(outputOption())
    .addOption(verboseOption())
    .action(async (stacks: string[], opts: { app?: string; output?: string; verbose?: boolean }) => {
      const steps = new CdktfSteps(opts, out);
      steps.assertAvailable();
      const synth = await steps.synth();
      await deployStacks(steps, synth, stacks);
    });

  program
    .command('plan')
    .description(
      'Synthesize (unless --skip-synth), then for each stack run terraform init (when its folder is not initialized), terraform plan -out=hosted-bots.tfplan ' +
        'and terraform show -json, in cdktf.out/stacks/<stack>, and report what each plan creates, updates in place, replaces and destroys; every replaced or ' +
        "destroyed resource is named with its actions and the attributes that force it (Terraform's replace_paths). The saved plan stays in the stack's " +
        'folder for hosted-bots apply. Progress goes to stderr, the report to stdout. Exit code 0: nothing replaced or destroyed; 2: something is, so a ' +
        'pipeline asks for approval; 1: an error (terraform missing, a failed plan: its error output is shown). Needs Terraform 1.11 or later and the ' +
        "stack's cloud credentials.",
    )
    .option('--stack <stacks...>', 'the stacks to plan, in dependency order; repeatable (default: every environment and image stack)')
    .option('--markdown', 'print Markdown for a pull-request comment')
    .option('--skip-synth', 'plan the synth output as it is (cdktf.out), without synthesizing first')
    .addOption(appOption())
    .addOption(outputOption())
    .addOption(new Option('--verbose', "print cdktf's and terraform's output as it comes"))
    .action(async (opts: { stack?: string[]; markdown?: boolean; skipSynth?: boolean; app?: string; output?: string; verbose?: boolean }) => {
      const { runPlanCommand } = require('./plan-command') as typeof import('./plan-command');
      process.exitCode = await runPlanCommand({ stacks: opts.stack, markdown: opts.markdown, skipSynth: opts.skipSynth, app: opts.app, output: opts.output, verbose: opts.verbose });
    });

  program
    .command('apply')
    .description(
      "Apply exactly the plan hosted-bots plan saved for a stack: terraform apply hosted-bots.tfplan in cdktf.out/stacks/<stack>, after terraform init when the folder " +
        'is not initialized (a pipeline job that downloaded the folder as an artifact). Refuses when there is no saved plan; the applied plan file is removed. ' +
        'Terraform itself refuses a plan made stale by a change applied since.',
    )
    .requiredOption('--stack <stack>', 'the stack whose saved plan to apply')
    .addOption(outputOption())
    .addOption(new Option('--verbose', "print terraform's output as it comes"))
    .action(async (opts: { stack: string; output?: string; verbose?: boolean }) => {
      const { runApplyCommand } = require('./plan-command') as typeof import('./plan-command');
      await runApplyCommand({ stack: opts.stack, output: opts.output, verbose: opts.verbose });
    });

  program
    .command('promote')
    .description(
      "Deploy environment stacks one stage at a time (--order, or the order the app declares). After each stage, gate on its runtime's /healthz and, with --smoke, on a run of a flow that must succeed; the first failure stops the promotion.",
    )
    .option('--order <stacks>', 'stages, comma-separated, e.g. bots-europe,bots-us (default: the declared promotion order, read from a synth)', parseOrderOption)
    .option('--dry-run', 'print the stages, gates and commands, and run nothing (without --order, cdktf synth still runs to read the declared order)')
    .addOption(tokenOption())
    .option('--smoke <group/flow>', `gate 2: start a run of this flow in every stage; it must end succeeded (${SELF_TEST_FLOW}: the built-in self-test every group runs)`, parseSmoke)
    .option('--smoke-input <key=value>', 'an input of the smoke run; repeatable (values as for run --input)', parseInput('--smoke-input'))
    .addOption(new Option('--smoke-timeout <s>', 'how long the smoke run may take, queue time included').default(900).argParser(seconds('--smoke-timeout')))
    .addOption(new Option('--health-timeout <s>', 'how long a stage\'s runtime may take to answer /healthz with status ok').default(300).argParser(seconds('--health-timeout')))
    .option('--url <stack=url>', "a stage's runtime URL, instead of its runtime_url output; repeatable", parseStackUrl)
    .addOption(appOption())
    .addOption(outputOption())
    .addOption(verboseOption())
    .action(async (opts) => {
      if (opts.smokeInput && !opts.smoke) throw new Error('--smoke-input needs --smoke <group>/<flow>');
      const smoke: SmokeTest | undefined = opts.smoke ? { ...opts.smoke, inputs: Object.fromEntries(opts.smokeInput ?? []) } : undefined;
      const steps = new CdktfSteps({ app: opts.app, output: opts.output, verbose: opts.verbose }, out);
      await promote(
        {
          order: opts.order,
          dryRun: Boolean(opts.dryRun),
          token: opts.token || process.env.HOSTED_BOTS_TOKEN || undefined,
          smoke,
          smokeTimeoutMs: opts.smokeTimeout * 1000,
          healthTimeoutMs: opts.healthTimeout * 1000,
          urls: opts.url ?? new Map(),
        },
        steps,
        out,
      );
    });

  program
    .command('gate')
    .description(
      "The gates promote runs after each stage, for a runtime deployed another way (a pipeline's hosted-bots apply of a reviewed plan): its /healthz must answer 200 with status ok, then, with --smoke, a run of a flow must succeed. " +
        `--smoke <group>/${SELF_TEST_FLOW} runs the built-in self-test, which needs no flow of yours. Exit code 0 when every gate passes.`,
    )
    .requiredOption('--url <url>', "the runtime's URL (the stack's runtime_url output)")
    .addOption(tokenOption())
    .option('--smoke <group/flow>', 'start a high-priority run of this flow; it must end succeeded', parseSmoke)
    .option('--smoke-input <key=value>', 'an input of the smoke run; repeatable (values as for run --input)', parseInput('--smoke-input'))
    .addOption(new Option('--smoke-timeout <s>', 'how long the smoke run may take, queue time included').default(900).argParser(seconds('--smoke-timeout')))
    .addOption(new Option('--health-timeout <s>', 'how long the runtime may take to answer /healthz with status ok').default(300).argParser(seconds('--health-timeout')))
    .action(async (opts) => {
      if (opts.smokeInput && !opts.smoke) throw new Error('--smoke-input needs --smoke <group>/<flow>');
      const url = runtimeUrl(opts.url, '--url');
      const smoke: SmokeTest | undefined = opts.smoke ? { ...opts.smoke, inputs: Object.fromEntries(opts.smokeInput ?? []) } : undefined;
      const started = Date.now();
      say(`gates of ${url}`);
      await runGates(out, new URL(url).hostname, url, {
        token: opts.token || process.env.HOSTED_BOTS_TOKEN || undefined,
        smoke,
        smokeTimeoutMs: opts.smokeTimeout * 1000,
        healthTimeoutMs: opts.healthTimeout * 1000,
      });
      say(`every gate passed in ${formatDuration(Date.now() - started)}`);
    });

  program
    .command('status')
    .description("Show a running runtime's environment and its groups: state, your access, bots by state, queued and running runs.")
    .requiredOption('--url <url>', "the runtime's URL (the stack's runtime_url output)")
    .addOption(tokenOption())
    .action(async (opts: { url: string; token?: string }) => {
      const client = new RuntimeClient(runtimeUrl(opts.url, '--url'), tokenFrom(opts.token, 'status'));
      const [env, groups] = await Promise.all([client.environment(), client.groups()]);
      say(
        `environment ${env.name}: ${env.geography} (${env.region}), plan ${env.plan}, ${env.enabled ? 'enabled' : 'disabled'}, capacity ${env.botCapacity} bots, ${env.botsInUse} in use`,
      );
      if (groups.length === 0) {
        say(env.enabled ? 'no groups visible to this token' : 'no groups are listed while the environment is disabled');
        return;
      }
      const states = ['provisioning', 'idle', 'busy', 'failed', 'deleting'];
      const rows = groups.map((g) => [g.name, g.state, g.access, ...states.map((s) => String(g.bots?.[s] ?? 0)), String(g.queued), String(g.running)]);
      formatTable(['group', 'state', 'access', ...states, 'queued', 'running'], rows).forEach((l) => say(l));
    });

  program
    .command('run')
    .description('Start a run of a declared flow, with an idempotency key, and print its ID; with --wait, follow it to its end and exit 0 only if it succeeded.')
    .requiredOption('--url <url>', "the runtime's URL (the stack's runtime_url output)")
    .addOption(tokenOption())
    .requiredOption('--group <group>', 'the bot group')
    .requiredOption('--flow <flow>', "a flow of the group's catalogue")
    .option(
      '--input <key=value>',
      'an input of the run; repeatable. A value that reads as a JSON number or true/false is sent as one (42, -1.5, true), anything else as a string (007, "42" via --inputs-json)',
      parseInput('--input'),
    )
    .option('--inputs-json <json>', 'the inputs as a JSON object; --input values are set on top of it')
    .addOption(new Option('--priority <priority>', 'queue priority').choices(['high', 'normal']))
    .option('--idempotency-key <key>', 'a retry with the same key returns the same run instead of a new one (default: a random UUID)')
    .option('--wait', 'follow the run to its end; exit 0 only if it succeeded')
    .addOption(new Option('--timeout <s>', 'with --wait: how long to wait for the run to end, queue time included').default(3600).argParser(seconds('--timeout')))
    .action(async (opts, command: Command) => {
      if (command.getOptionValueSource('timeout') === 'cli' && !opts.wait) throw new Error('--timeout only applies with --wait');
      const url = runtimeUrl(opts.url, '--url');
      const token = tokenFrom(opts.token, 'run');
      let inputs: Record<string, unknown> = {};
      if (opts.inputsJson !== undefined) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(opts.inputsJson);
        } catch (err) {
          throw new Error(`--inputs-json is not valid JSON: ${(err as Error).message}`);
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`--inputs-json must be a JSON object, e.g. '{"batch":42}', got ${opts.inputsJson}`);
        inputs = parsed as Record<string, unknown>;
      }
      inputs = { ...inputs, ...Object.fromEntries((opts.input as Array<[string, unknown]> | undefined) ?? []) };
      const key: string = opts.idempotencyKey ?? randomUUID();
      if (!/^[\x21-\x7e]{1,200}$/.test(key)) throw new Error(`--idempotency-key "${key}" must be 1-200 printable ASCII characters without spaces`);

      const client = new RuntimeClient(url, token);
      const startedAt = Date.now();
      const deadline = startedAt + opts.timeout * 1000;
      // The idempotency key makes a retried enqueue safe: it returns the same run.
      const { run, replayed } = await retryTransient(
        () => client.enqueue(opts.group, { flow: opts.flow, inputs: Object.keys(inputs).length ? inputs : undefined, priority: opts.priority }, key),
        Math.min(deadline, startedAt + 60_000),
        (err) => say(`retrying: ${err.message}`),
      );
      say(`run ${run.id} ${replayed ? 'was already enqueued with this idempotency key' : 'enqueued'}: group ${run.group}, flow ${run.flow}, priority ${run.priority}, idempotency key ${key}`);
      if (!opts.wait) {
        say(`state: ${run.state}`);
        return;
      }
      say(stateLine(run, startedAt));
      const result = isFinal(run.state)
        ? { run, timedOut: false as const }
        : await followRun(client, run, Math.max(0, deadline - Date.now()), (r) => say(stateLine(r, startedAt)), (err) => say(`retrying: ${err.message}`));
      const ended = result.run;
      if (result.timedOut) {
        throw new Error(`run ${ended.id} did not end within ${opts.timeout} s: it is still ${ended.state} and goes on (cancel it with POST ${url}/v1/runs/${ended.id}/cancel)`);
      }
      say(`run ${ended.id} ${ended.state}: waited ${formatDuration(ended.waitMs)}, ran ${ended.runMs === null ? '-' : formatDuration(ended.runMs)}${describeRunEnd(ended)}`);
      const output = ended.result?.output;
      if (output) {
        say('output:');
        say(output.replace(/\n$/, '').split('\n').map((l) => `  ${l}`).join('\n'));
      }
      if (ended.state !== 'succeeded') throw new Error(`run ${ended.id} ended ${ended.state}${describeRunEnd(ended)}`);
    });
}

function parseOrderOption(value: string): string[] {
  try {
    return parseOrder(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}
