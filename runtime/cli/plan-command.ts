/**
 * `hosted-bots plan` and `hosted-bots apply`: a reviewed plan, then exactly that plan applied.
 *
 * plan synthesizes (unless --skip-synth), then in each stack's folder of the synth output runs
 * `terraform init` when the folder has not been initialized, `terraform plan -out=hosted-bots.tfplan`
 * and `terraform show -json hosted-bots.tfplan`, and reports what the plan creates, updates,
 * replaces and destroys (terraform-plan.ts) in the fleet report's text or Markdown. Exit code 2
 * when anything is replaced or destroyed, but the library's own routine replacements, which the
 * stack's cdk.tf.json marks (constructs/routine-replacement.ts); 0 otherwise, 1 on errors. The saved plan stays in the
 * stack's folder: a pipeline keeps that folder as an artifact, and a later, approved job runs
 * apply, which applies that file and nothing else.
 */
import * as fs from 'fs';
import * as path from 'path';
import { routineReplacementsOf } from '../../constructs/routine-replacement';
import { CdktfSteps } from './cdktf-steps';
import { diffExitCode, FleetChange, renderMarkdown, renderText } from './fleet-diff';
import { SynthOutput } from './synth-output';
import { planChanges, readTerraformPlan, TerraformPlanSummary } from './terraform-plan';
import { describeExit, failureLines, findTerraform, runTerraform, TerraformExecutable, TerraformResult } from './terraform-process';
import { formatDuration, Output, ProgressLine } from './terminal';

/** The saved plan's file name, in the stack's folder. */
export const PLAN_FILE = 'hosted-bots.tfplan';

export interface PlanCommandOptions {
  /** The stacks to plan; none: every environment and image stack. */
  readonly stacks?: readonly string[];
  readonly markdown?: boolean;
  readonly app?: string;
  readonly output?: string;
  readonly skipSynth?: boolean;
  readonly verbose?: boolean;
}

export interface ApplyCommandOptions {
  readonly stack: string;
  readonly output?: string;
  readonly verbose?: boolean;
}

/** The report goes to stdout (a pull-request comment); progress to stderr. */
const stderrOutput: Output = { write: (text: string) => process.stderr.write(text), isTTY: process.stderr.isTTY, columns: process.stderr.columns };

function readJson(file: string): any {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file} cannot be read as JSON: ${(err as Error).message}`);
  }
}

class StackRunner {
  constructor(
    private readonly terraform: TerraformExecutable,
    private readonly progressOut: Output,
    private readonly verbose: boolean,
  ) {}

  async run(dir: string, args: string[], label: string, captureStdout = false): Promise<{ result: TerraformResult; progress: ProgressLine }> {
    // Streamed lines and a line redrawn in place do not mix: --verbose prints plain lines.
    const out = this.verbose ? { write: (text: string) => this.progressOut.write(text), isTTY: false } : this.progressOut;
    const progress = new ProgressLine(out, label);
    const result = await runTerraform(this.terraform, args, {
      cwd: dir,
      progress,
      captureStdout,
      onLine: this.verbose ? (line) => this.progressOut.write(`    | ${line}\n`) : undefined,
    });
    return { result, progress };
  }

  /** Runs a step; on failure shows terraform's error output and throws. */
  async step(dir: string, args: string[], label: string, what: string, captureStdout = false): Promise<TerraformResult> {
    const { result, progress } = await this.run(dir, args, label, captureStdout);
    if (result.code !== 0) {
      progress.done(`${label}: failed after ${formatDuration(result.ms)}`);
      process.stderr.write(failureLines(result).map((l) => `  ${l}\n`).join(''));
      throw new Error(`${what}: terraform ${args[0]} ${describeExit(result)}; its error output is above`);
    }
    progress.done(`${label}: done in ${formatDuration(result.ms)}`);
    return result;
  }

  init(dir: string, label: string, stack: string): Promise<TerraformResult> {
    return this.step(dir, ['init', '-input=false', '-no-color'], `${label}: terraform init`, `stack ${stack}`);
  }
}

/** Terraform asks for `terraform init` when the backend or providers changed since the last one. */
const NEEDS_INIT = /terraform init|Backend initialization required|Inconsistent dependency lock file|Required plugins are not installed/i;

const initialized = (dir: string) => fs.existsSync(path.join(dir, '.terraform'));

/** The stacks plan covers when none are named: environment stacks (fleet.json) and image stacks (a compute gallery). */
function defaultStacks(synth: SynthOutput): string[] {
  return synth.names.filter((name) => {
    const s = synth.get(name)!;
    if (s.fleet) return true;
    const tf = path.join(s.directory, 'cdk.tf.json');
    return fs.existsSync(tf) && Boolean(readJson(tf)?.resource?.azurerm_shared_image_gallery);
  });
}

async function planStack(runner: StackRunner, name: string, dir: string, label: string, progressOut: Output): Promise<TerraformPlanSummary> {
  if (!fs.existsSync(path.join(dir, 'cdk.tf.json'))) {
    throw new Error(`stack ${name}: ${dir} has no cdk.tf.json; synthesize first (hosted-bots plan without --skip-synth, or hosted-bots synth)`);
  }
  const planFile = path.join(dir, PLAN_FILE);
  // A plan that fails must not leave an older plan behind for apply to pick up.
  fs.rmSync(planFile, { force: true });
  let didInit = false;
  if (!initialized(dir)) {
    await runner.init(dir, label, name);
    didInit = true;
  }
  const planArgs = ['plan', '-input=false', '-no-color', `-out=${PLAN_FILE}`];
  let { result, progress } = await runner.run(dir, planArgs, `${label}: terraform plan`);
  if (result.code !== 0 && !didInit && NEEDS_INIT.test(result.errorLines.join('\n'))) {
    progress.done(`${label}: terraform plan asks for terraform init; running it`);
    await runner.init(dir, label, name);
    ({ result, progress } = await runner.run(dir, planArgs, `${label}: terraform plan`));
  }
  if (result.code !== 0) {
    progress.done(`${label}: terraform plan failed after ${formatDuration(result.ms)}`);
    process.stderr.write(failureLines(result).map((l) => `  ${l}\n`).join(''));
    throw new Error(`stack ${name}: terraform plan ${describeExit(result)}; its error output is above`);
  }
  progress.done(`${label}: terraform plan: done in ${formatDuration(result.ms)}`);
  const shown = await runner.step(dir, ['show', '-json', '-no-color', PLAN_FILE], `${label}: terraform show -json`, `stack ${name}`, true);
  let json: unknown;
  try {
    json = JSON.parse(shown.stdout);
  } catch (err) {
    throw new Error(`stack ${name}: terraform show -json ${PLAN_FILE} printed no JSON (${(err as Error).message})`);
  }
  // Which replacements are routine is read from the configuration the plan was made from.
  const plan = readTerraformPlan(json, `terraform show -json ${planFile}`, routineReplacementsOf(readJson(path.join(dir, 'cdk.tf.json'))));
  progressOut.write(
    `${label}: ${plan.created.length} to create, ${plan.updated.length} to update in place, ${plan.replaced.length} to replace, ${plan.destroyed.length} to destroy; saved plan ${path.relative(process.cwd(), planFile) || planFile}\n`,
  );
  return plan;
}

/** Runs the plan command and returns its exit code; errors throw (main turns them into exit code 1). */
export async function runPlanCommand(opts: PlanCommandOptions, out: Output = process.stdout, progressOut: Output = stderrOutput): Promise<number> {
  // Before any synth: a missing terraform should fail in a moment, not after minutes.
  const terraform = findTerraform();
  const steps = new CdktfSteps({ app: opts.app, output: opts.output, verbose: opts.verbose }, progressOut);
  let synth: SynthOutput | undefined;
  if (!opts.skipSynth) {
    steps.assertAvailable();
    synth = await steps.synth();
  } else if (fs.existsSync(path.join(steps.outdir, 'manifest.json'))) {
    synth = SynthOutput.read(steps.outdir);
  } else if (!fs.existsSync(steps.outdir)) {
    throw new Error(`--skip-synth: ${steps.outdir} does not exist; synthesize first (hosted-bots synth), or drop --skip-synth`);
  }
  const named = [...new Set(opts.stacks ?? [])];
  let order: string[];
  if (synth) {
    synth.assertKnown(named, 'plan:');
    order = synth.dependencyOrder(named.length ? named : defaultStacks(synth));
    if (order.length === 0) throw new Error(`${steps.outdir} has no environment or image stack to plan; name one with --stack`);
  } else {
    if (named.length === 0) throw new Error(`${steps.outdir} has no manifest.json to list its stacks; name them with --stack, or synthesize first`);
    order = named;
  }
  const directory = (name: string) => synth?.get(name)?.directory ?? path.join(steps.outdir, 'stacks', name);
  progressOut.write(`plan: ${order.join(', ')} (terraform ${terraform.version})\n`);
  const runner = new StackRunner(terraform, progressOut, Boolean(opts.verbose));
  const changes: FleetChange[] = [];
  for (const [i, name] of order.entries()) {
    const plan = await planStack(runner, name, directory(name), `[${i + 1}/${order.length}] ${name}`, progressOut);
    changes.push(...planChanges(name, plan));
  }
  out.write(opts.markdown ? renderMarkdown(changes, 'Terraform plan') : renderText(changes));
  return diffExitCode(changes);
}

/** Applies the saved plan of one stack, and only that; refuses when there is none. */
export async function runApplyCommand(opts: ApplyCommandOptions, out: Output = process.stdout): Promise<void> {
  const steps = new CdktfSteps({ output: opts.output }, out);
  const dir = path.join(steps.outdir, 'stacks', opts.stack);
  if (!fs.existsSync(dir)) {
    const stacksDir = path.join(steps.outdir, 'stacks');
    const known = fs.existsSync(stacksDir) ? fs.readdirSync(stacksDir).filter((f) => fs.statSync(path.join(stacksDir, f)).isDirectory()) : [];
    throw new Error(
      `apply --stack ${opts.stack}: ${dir} does not exist${known.length ? ` (stacks there: ${known.join(', ')})` : ''}; run hosted-bots plan --stack ${opts.stack} first, or download the stack folder its plan job saved`,
    );
  }
  const planFile = path.join(dir, PLAN_FILE);
  if (!fs.existsSync(planFile)) {
    throw new Error(
      `apply --stack ${opts.stack}: no saved plan: ${planFile} does not exist. apply only applies a plan that hosted-bots plan saved and someone reviewed: run hosted-bots plan --stack ${opts.stack} first (in a pipeline, download the stack folder the plan job kept as an artifact into ${dir})`,
    );
  }
  const terraform = findTerraform();
  const runner = new StackRunner(terraform, out, Boolean(opts.verbose));
  const label = `apply ${opts.stack}`;
  // A fresh pipeline job that downloaded the stack folder has the lock file but not the providers.
  if (!initialized(dir)) await runner.init(dir, label, opts.stack);
  const result = await runner.step(dir, ['apply', '-input=false', '-no-color', PLAN_FILE], `${label}: terraform apply ${PLAN_FILE}`, `apply --stack ${opts.stack}`);
  // Spent: Terraform refuses a plan applied once, and a second apply should say so in our words.
  fs.rmSync(planFile, { force: true });
  const summary = result.lastLines.filter((l) => /^Apply complete!/.test(l)).pop();
  out.write(`${summary ?? 'Applied.'} The saved plan ${PLAN_FILE} is spent and removed.\n`);
}
