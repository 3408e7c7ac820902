/**
 * `hosted-bots diff`: reads two synth outputs (or synthesizes the working tree and a git ref)
 * and prints what the change does to the fleet (fleet-diff.ts) and what Terraform would replace
 * or destroy (stack-diff.ts). Exit code 0 when nothing destructive changes, 2 when something
 * does, 1 on errors.
 */
import { execFileSync, execSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseManifest } from '../config/manifest';
import { CALLER_CI } from './cdktf-process';
import { CdktfSteps } from './cdktf-steps';
import { diffExitCode, diffFleets, FleetSide, renderMarkdown, renderText } from './fleet-diff';
import { TerraformConfig } from './stack-diff';
import { SynthOutput } from './synth-output';
import { Output } from './terminal';

export interface DiffCommandOptions {
  readonly from?: string;
  readonly to?: string;
  readonly base?: string;
  readonly app?: string;
  /** A shell command run in the ref's worktree before its synth, e.g. `npm run build`. */
  readonly baseBuild?: string;
  readonly markdown?: boolean;
  readonly verbose?: boolean;
}

/** A stack's cdk.tf.json, or undefined when the stack has none (its resources are then not compared). */
function readTerraformConfig(file: string): TerraformConfig | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TerraformConfig;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); synthesize again`);
  }
}

/** One synth output as the diff compares it; fleet.json is parsed with the runtime's schema, defaults filled in. */
export function readFleetSide(outdir: string, what: string): FleetSide {
  if (!fs.existsSync(outdir)) throw new Error(`${what}: the folder ${outdir} does not exist; give the output folder of a cdktf synth`);
  if (!fs.existsSync(path.join(outdir, 'manifest.json'))) {
    throw new Error(`${what}: ${outdir} has no manifest.json, so it is not a cdktf synth output; run hosted-bots synth (or cdktf synth) first`);
  }
  const synth = SynthOutput.read(outdir);
  return {
    stacks: synth.stacks.map((s) => ({
      name: s.name,
      imageVersions: s.imageVersions,
      terraform: readTerraformConfig(path.join(s.directory, 'cdk.tf.json')),
      // Apply-time values (subscription, gallery image IDs, token hashes) are still Terraform expressions here.
      fleet: s.fleet ? parseManifest(s.fleet, { requireResolved: false, source: path.join(s.directory, 'fleet.json') }) : undefined,
    })),
  };
}

function git(args: string[], cwd: string): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`git ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
}

/** Quiet progress: the diff's own output goes to stdout, cdktf's progress to stderr. */
const progressOut: Output = { write: (text: string) => process.stderr.write(text), isTTY: false };

async function synthIn(cwd: string, settings: { app?: string; output: string; verbose?: boolean; env?: Record<string, string> }): Promise<void> {
  const previous = process.cwd();
  // CdktfSteps reads cdktf.json and finds cdktf relative to the working directory.
  process.chdir(cwd);
  try {
    const steps = new CdktfSteps(settings, progressOut);
    steps.assertAvailable();
    await steps.synth();
  } finally {
    process.chdir(previous);
  }
}

/** The repository's top folder, once `ref` is known to name a commit of it. */
function assertRef(ref: string): string {
  let top: string;
  try {
    top = git(['rev-parse', '--show-toplevel'], process.cwd());
  } catch {
    throw new Error(`--base ${ref} needs a git repository, and ${process.cwd()} is not in one; use --from and --to instead`);
  }
  try {
    git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], top);
  } catch {
    throw new Error(`--base ${ref} is not a commit of the repository at ${top}; fetch it first (e.g. git fetch origin main) or give another ref`);
  }
  return top;
}

/**
 * The project as it is at `ref`, synthesized into a temporary folder: a `git worktree add
 * --detach` of the ref, with the current project's node_modules linked in (the ref's own are
 * not installed), then cdktf synth there. The worktree is removed afterwards.
 */
async function synthAtRef(ref: string, settings: { app?: string; build?: string; verbose?: boolean }): Promise<{ outdir: string; cleanup: () => void }> {
  const top = assertRef(ref);
  const prefix = path.relative(top, process.cwd());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-diff-'));
  const tree = path.join(dir, 'tree');
  git(['worktree', 'add', '--detach', '--quiet', tree, ref], top);
  const cleanup = () => {
    try {
      git(['worktree', 'remove', '--force', tree], top);
    } catch {
      /* removed below anyway; git worktree prune tidies the record */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const project = path.join(tree, prefix);
    if (!fs.existsSync(project)) throw new Error(`--base ${ref} has no folder ${prefix || '.'}: the project did not exist at that ref`);
    const modules = path.join(process.cwd(), 'node_modules');
    if (fs.existsSync(modules) && !fs.existsSync(path.join(project, 'node_modules'))) fs.symlinkSync(modules, path.join(project, 'node_modules'), 'junction');
    if (settings.build) {
      try {
        execSync(settings.build, { cwd: project, stdio: ['ignore', process.stderr, process.stderr] });
      } catch (err) {
        throw new Error(`--base-build "${settings.build}" failed in the worktree of ${ref}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    const outdir = path.join(dir, 'cdktf.out');
    // Only compared, never deployed: an app that refuses a pipeline synth without remote state
    // (stacks/backend.ts) must not refuse the ref, or the change that fills remoteState in could
    // never pass its review.
    await synthIn(project, { app: settings.app, output: outdir, verbose: settings.verbose, env: { [CALLER_CI]: '' } });
    return { outdir, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** Runs the diff and returns its exit code; errors throw (main turns them into exit code 1). */
export async function runDiffCommand(opts: DiffCommandOptions, out: Output = process.stdout): Promise<number> {
  if (opts.base && opts.from) throw new Error('give either --base <git-ref> or --from <cdktf.out>, not both');
  if (!opts.base && !(opts.from && opts.to)) throw new Error('give --from <cdktf.out> and --to <cdktf.out>, or --base <git-ref>');
  let from: FleetSide;
  let toDir: string;
  let cleanup = () => {};
  if (opts.base) {
    // Before any synth: a mistyped ref should fail in a moment, not after minutes.
    assertRef(opts.base);
    if (opts.to) toDir = path.resolve(opts.to);
    else {
      // Synthesized now, so the working tree is never compared through a stale output.
      const steps = new CdktfSteps({ app: opts.app }, progressOut);
      toDir = steps.outdir;
      await synthIn(process.cwd(), { app: opts.app, output: toDir, verbose: opts.verbose });
    }
    const base = await synthAtRef(opts.base, { app: opts.app, build: opts.baseBuild, verbose: opts.verbose });
    cleanup = base.cleanup;
    try {
      from = readFleetSide(base.outdir, `--base ${opts.base}`);
    } finally {
      cleanup();
    }
  } else {
    from = readFleetSide(path.resolve(opts.from!), '--from');
    toDir = path.resolve(opts.to!);
  }
  const to = readFleetSide(toDir, opts.base ? 'the working tree' : '--to');
  const changes = diffFleets(from, to);
  out.write(opts.markdown ? renderMarkdown(changes) : renderText(changes));
  return diffExitCode(changes);
}
