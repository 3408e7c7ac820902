/**
 * The two cdktf steps the deployer takes, synth and per-stack deploy, with their progress and
 * the files they leave: `<output>/manifest.json` and one outputs file per deployed stack.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CdktfExecutable, CdktfResult, commandLine, exitDescription, failureLines, findCdktf, runCdktf } from './cdktf-process';
import { createStagingFolder, discardStagingFolder, replaceWithStaged } from './staged-output';
import { SynthOutput } from './synth-output';
import { formatDuration, Output, ProgressLine } from './terminal';

export interface CdktfSettings {
  /** `--app`, passed on to cdktf when given. */
  readonly app?: string;
  /** `--output`, passed on to cdktf when given. */
  readonly output?: string;
  readonly verbose?: boolean;
  /** Variables set for the app on top of this process's own. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The Terraform output a stack's runtime address comes from. */
export const RUNTIME_URL_OUTPUT = 'runtime_url';

/** cdktf's output folder: --output, else cdktf.json's "output", else cdktf.out (as cdktf decides). */
function outputFolder(output: string | undefined, cwd = process.cwd()): string {
  if (output) return path.resolve(cwd, output);
  try {
    const config = JSON.parse(fs.readFileSync(path.join(cwd, 'cdktf.json'), 'utf8'));
    if (typeof config.output === 'string' && config.output) return path.resolve(cwd, config.output);
  } catch {
    /* no cdktf.json, or one cdktf itself will complain about */
  }
  return path.resolve(cwd, 'cdktf.out');
}

/** A value named `key` in a stack's outputs; outputs of nested constructs are nested objects. */
function findOutput(outputs: unknown, key: string): string | undefined {
  if (!outputs || typeof outputs !== 'object') return undefined;
  const record = outputs as Record<string, unknown>;
  if (typeof record[key] === 'string') return record[key] as string;
  for (const value of Object.values(record)) {
    const found = findOutput(value, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

export class CdktfSteps {
  readonly outdir: string;
  private cdktfFound?: CdktfExecutable;

  constructor(
    readonly settings: CdktfSettings,
    private readonly out: Output,
  ) {
    this.outdir = outputFolder(settings.output);
  }

  private get cdktf(): CdktfExecutable {
    this.cdktfFound ??= findCdktf();
    return this.cdktfFound;
  }

  /** Fails now, before any step, when cdktf cannot be found. */
  assertAvailable(): void {
    void this.cdktf;
  }

  /** The synth as the user would type it; it runs with --output set to a staging folder (see staged-output.ts). */
  get synthArgs(): string[] {
    const { app, output } = this.settings;
    return ['synth', ...(app ? ['--app', app] : []), ...(output ? ['--output', output] : [])];
  }

  private synthArgsInto(folder: string): string[] {
    const { app } = this.settings;
    return ['synth', ...(app ? ['--app', app] : []), '--output', folder];
  }

  outputsFile(stack: string): string {
    return path.join(this.outdir, 'deploy-outputs', `${stack}.json`);
  }

  /**
   * Each stack is deployed alone, in an order the deployer chose, from the synth it already
   * made: hence --skip-synth, and --ignore-missing-stack-dependencies (cdktf otherwise refuses
   * a stack whose dependencies are not in the same command).
   */
  deployArgs(stack: string): string[] {
    const { app, output } = this.settings;
    return [
      'deploy',
      stack,
      '--auto-approve',
      '--outputs-file',
      this.outputsFile(stack),
      '--outputs-file-include-sensitive-outputs=false',
      '--skip-synth',
      '--ignore-missing-stack-dependencies',
      ...(app ? ['--app', app] : []),
      ...(output ? ['--output', output] : []),
    ];
  }

  private async run(args: string[], label: string): Promise<{ result: CdktfResult; progress: ProgressLine }> {
    // Streamed lines and a line redrawn in place do not mix: --verbose prints plain lines.
    const out = this.settings.verbose ? { write: (text: string) => this.out.write(text), isTTY: false } : this.out;
    const progress = new ProgressLine(out, label);
    const result = await runCdktf(args, {
      cdktf: this.cdktf,
      progress,
      onLine: this.settings.verbose ? (line) => this.out.write(`    | ${line}\n`) : undefined,
      env: this.settings.env,
    });
    return { result, progress };
  }

  /**
   * Runs cdktf synth into a staging folder beside the output folder, which replaces the output
   * folder only when the synth succeeds. A failed synth throws after every error of the app (the
   * rule pack's findings: path, rule ID, field, value and what to do) is shown, and leaves the
   * previous output as it was.
   */
  async synth(): Promise<SynthOutput> {
    const staged = createStagingFolder(this.outdir);
    let result: CdktfResult;
    let progress: ProgressLine;
    try {
      ({ result, progress } = await this.run(this.synthArgsInto(staged), `synth: ${commandLine(this.synthArgs)}`));
    } catch (err) {
      discardStagingFolder(staged);
      throw err;
    }
    if (result.code !== 0) {
      discardStagingFolder(staged);
      progress.done(`synth: failed after ${formatDuration(result.ms)}: cdktf ${exitDescription(result)}`);
      // cdktf prints the findings on stdout among its own lines, and without --verbose nobody sees them.
      const errors = result.annotationLines.filter((l) => l.startsWith('ERROR ['));
      const shown = errors.length ? [...errors, ...result.annotationLines.filter((l) => l.startsWith('WARN ['))] : failureLines(result, 40);
      process.stderr.write(shown.map((l) => `  ${l}\n`).join(''));
      const unchanged = fs.existsSync(this.outdir) ? `; ${this.outdir} is unchanged` : '';
      throw new Error(
        errors.length
          ? `cdktf synth found ${errors.length} error${errors.length === 1 ? '' : 's'} in the app (above)${unchanged}`
          : `cdktf synth ${exitDescription(result)}; its error output is above${unchanged}`,
      );
    }
    replaceWithStaged(staged, this.outdir);
    progress.done(`synth: done in ${formatDuration(result.ms)} (${this.outdir})`);
    // The rule pack's warnings (a password checked only at deploy, bots on a shared token) must not vanish with cdktf's output.
    for (const line of result.annotationLines.filter((l) => l.startsWith('WARN ['))) this.out.write(`  ${line}\n`);
    const synth = SynthOutput.read(this.outdir);
    // Suppressed rules are neither errors nor warnings, but a reviewer must still see each one and why.
    for (const stack of synth.stacks) {
      for (const s of stack.suppressedRules) this.out.write(`  SUPPRESSED [${s.path}]: ${s.id}: ${s.reason}\n`);
    }
    return synth;
  }

  /** Deploys one stack; on failure shows cdktf's last lines and returns the reason. */
  async deploy(stack: string, label: string): Promise<{ ok: true; ms: number } | { ok: false; reason: string }> {
    const file = this.outputsFile(stack);
    // A stale outputs file must not pass for this deploy's.
    fs.rmSync(file, { force: true });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const args = this.deployArgs(stack);
    const { result, progress } = await this.run(args, `${label}: deploying (${commandLine(args.slice(0, 3))} ...)`);
    if (result.code !== 0) {
      progress.done(`${label}: failed after ${formatDuration(result.ms)}`);
      process.stderr.write(result.lastLines.slice(-20).map((l) => `  ${l}\n`).join(''));
      return { ok: false, reason: `cdktf deploy ${stack} ${exitDescription(result)}` };
    }
    progress.done(`${label}: deployed in ${formatDuration(result.ms)}`);
    return { ok: true, ms: result.ms };
  }

  /** The stack's runtime URL from the outputs file its deploy wrote. */
  runtimeUrl(stack: string): { url: string } | { missing: string } {
    const file = this.outputsFile(stack);
    let outputs: unknown;
    try {
      outputs = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { missing: `cdktf deploy wrote no readable outputs file ${file} (${code ?? (err as Error).message})` };
    }
    const own = (outputs as Record<string, unknown>)?.[stack];
    const url = findOutput(own ?? outputs, RUNTIME_URL_OUTPUT);
    if (!url) return { missing: `the outputs of ${stack} in ${file} have no ${RUNTIME_URL_OUTPUT}` };
    return { url };
  }
}
