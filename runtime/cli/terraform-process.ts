/**
 * Runs `terraform` for `hosted-bots plan` and `apply`, in a stack's folder of the synth output.
 * It is looked up on PATH; HOSTED_BOTS_TERRAFORM overrides it. Terraform 1.11 or later: the
 * stacks set write-only attributes (`value_wo`, `administrator_password_wo`), which older
 * versions refuse.
 */
import { spawn, spawnSync } from 'child_process';
import * as path from 'path';
import { isExecutableFile, onPath } from './cdktf-process';
import { forEachOutputLine } from './processes';
import type { ProgressLine } from './terminal';

export const MINIMUM_TERRAFORM = [1, 11] as const;

export interface TerraformExecutable {
  readonly file: string;
  readonly version: string;
}

/** No prompts, no update checks, and Terraform's automation wording. */
function terraformEnv(): NodeJS.ProcessEnv {
  return { ...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' };
}

/** HOSTED_BOTS_TERRAFORM, else the first `terraform` on PATH; refuses a version older than 1.11. */
export function findTerraform(env: NodeJS.ProcessEnv = process.env): TerraformExecutable {
  const override = env.HOSTED_BOTS_TERRAFORM?.trim();
  let file: string | undefined;
  if (override) {
    file = isExecutableFile(override) ? path.resolve(override) : onPath(override, env);
    if (!file) throw new Error(`HOSTED_BOTS_TERRAFORM is "${override}", but it is neither an executable file nor on PATH`);
  } else {
    file = onPath('terraform', env);
    if (!file) {
      throw new Error(
        'terraform was not found on PATH: install Terraform 1.11 or later (https://developer.hashicorp.com/terraform/install; in GitHub Actions, hashicorp/setup-terraform), or set HOSTED_BOTS_TERRAFORM to its path',
      );
    }
  }
  const probe = spawnSync(file, ['version', '-json'], { encoding: 'utf8', env: terraformEnv() });
  let version: string | undefined;
  try {
    version = JSON.parse(probe.stdout).terraform_version;
  } catch {
    /* reported below */
  }
  if (probe.status !== 0 || typeof version !== 'string') {
    throw new Error(`${file} version -json did not answer with a version (exit ${probe.status ?? probe.signal}${probe.stderr ? `: ${probe.stderr.trim().split('\n')[0]}` : ''}); is it Terraform?`);
  }
  const [major, minor] = version.split('.').map(Number);
  if (major < MINIMUM_TERRAFORM[0] || (major === MINIMUM_TERRAFORM[0] && minor < MINIMUM_TERRAFORM[1])) {
    throw new Error(`${file} is Terraform ${version}; the stacks need ${MINIMUM_TERRAFORM.join('.')} or later (write-only attributes): install a newer one`);
  }
  return { file, version };
}

export interface TerraformResult {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
  /** The whole of stdout, when asked for (terraform show -json). */
  readonly stdout: string;
  /** The last lines of stdout and stderr, in order, without colours. */
  readonly lastLines: readonly string[];
  /** The last lines of stderr, without colours. */
  readonly errorLines: readonly string[];
}

export interface RunTerraformOptions {
  readonly cwd: string;
  readonly progress?: ProgressLine;
  /** Every line as it comes, for --verbose. */
  readonly onLine?: (line: string) => void;
  /** Keep stdout whole instead of as progress lines. */
  readonly captureStdout?: boolean;
}

const KEEP_LINES = 200;

/** Runs terraform in `cwd` and resolves with its exit and last lines; it rejects only when terraform cannot start. */
export function runTerraform(terraform: TerraformExecutable, args: readonly string[], options: RunTerraformOptions): Promise<TerraformResult> {
  const started = Date.now();
  const child = spawn(terraform.file, args, { cwd: options.cwd, env: terraformEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const lastLines: string[] = [];
  const errorLines: string[] = [];
  const stdout: Buffer[] = [];
  const keep = (buffer: string[], line: string) => {
    buffer.push(line);
    if (buffer.length > KEEP_LINES) buffer.shift();
  };
  const reader = (stream: NodeJS.ReadableStream, isError: boolean) => {
    if (!isError && options.captureStdout) {
      stream.on('data', (chunk: Buffer) => stdout.push(chunk));
      return;
    }
    forEachOutputLine(stream, (clean) => {
      keep(lastLines, clean);
      if (isError) keep(errorLines, clean);
      options.progress?.update(clean);
      options.onLine?.(clean);
    });
  };
  reader(child.stdout!, false);
  reader(child.stderr!, true);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start terraform (${terraform.file}): ${(err as Error).message}`)));
    child.once('close', (code, signal) => resolve({ args, code, signal, ms: Date.now() - started, stdout: Buffer.concat(stdout).toString('utf8'), lastLines, errorLines }));
  });
}

export function describeExit(result: TerraformResult): string {
  return result.signal ? `was stopped by ${result.signal}` : `exited with code ${result.code}`;
}

/** What to show of a failed run: its stderr when it wrote any, else its last lines. */
export function failureLines(result: TerraformResult, count = 40): string[] {
  const lines = result.errorLines.length ? result.errorLines : result.lastLines;
  return lines.slice(-count);
}
