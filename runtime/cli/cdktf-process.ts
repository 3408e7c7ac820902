/**
 * Runs the `cdktf` command line for the deployer. It is looked up on PATH, so a global install,
 * `npx` and npm scripts (node_modules/.bin) all work; HOSTED_BOTS_CDKTF overrides it.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { forEachOutputLine } from './processes';
import type { ProgressLine } from './terminal';

export interface CdktfExecutable {
  readonly file: string;
  /** Arguments before cdktf's own, e.g. `cdktf` for HOSTED_BOTS_CDKTF="npx cdktf". */
  readonly prefix: readonly string[];
}

export function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (process.platform !== 'win32') fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH (with PATHEXT on Windows), or `name` itself when it is a path. */
export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  if (name.includes('/') || name.includes(path.sep)) return isExecutableFile(name) ? path.resolve(name) : undefined;
  const extensions = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';')] : [''];
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * HOSTED_BOTS_CDKTF (a file, or a command such as `npx cdktf`), else the first `cdktf` on PATH,
 * else the app's own `node_modules/.bin/cdktf` (in `cwd`), so that hosted-bots, linked or
 * installed globally, runs in a fleet repo without a global cdktf.
 */
export function findCdktf(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): CdktfExecutable {
  const override = env.HOSTED_BOTS_CDKTF?.trim();
  if (override) {
    if (isExecutableFile(override)) return { file: path.resolve(override), prefix: [] };
    const [first, ...rest] = override.split(/\s+/);
    const file = onPath(first, env);
    if (!file) throw new Error(`HOSTED_BOTS_CDKTF is "${override}", but "${first}" is neither an executable file nor on PATH`);
    return { file, prefix: rest };
  }
  const file = onPath('cdktf', env) ?? onPath(path.join(cwd, 'node_modules', '.bin', 'cdktf'), env);
  if (file) return { file, prefix: [] };
  throw new Error(
    `cdktf was found neither on PATH nor in ${path.join(cwd, 'node_modules', '.bin')}: install it (npm install --save-dev cdktf-cli, or npm install -g cdktf-cli), or set HOSTED_BOTS_CDKTF to its path`,
  );
}

/** How a command line is shown to the user. */
export function commandLine(args: readonly string[]): string {
  return ['cdktf', ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export interface CdktfResult {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
  /** The last lines of stdout and stderr, in order, without colours. */
  readonly lastLines: readonly string[];
  /** The last lines of stderr, without colours. */
  readonly errorLines: readonly string[];
  /**
   * Every annotation line cdktf printed (`ERROR [path]: …`, `WARN [path]: …`), in order and once
   * each: the rule pack's findings, which a failed synth must show however many there are.
   */
  readonly annotationLines: readonly string[];
}

/** How cdktf prints an annotation of the app: `ERROR [<construct path>]: <message>`. */
const ANNOTATION_LINE = /^(ERROR|WARN) \[[^\]]*\]: /;
/** Far more findings than an app has; only a runaway app reaches it. */
const KEEP_ANNOTATIONS = 10_000;

const KEEP_LINES = 200;

function keep(buffer: string[], line: string): void {
  buffer.push(line);
  if (buffer.length > KEEP_LINES) buffer.shift();
}

export interface RunCdktfOptions {
  readonly cdktf: CdktfExecutable;
  readonly progress?: ProgressLine;
  /** Every line as it comes, for --verbose. */
  readonly onLine?: (line: string) => void;
  readonly cwd?: string;
  /** Variables set for this run on top of this process's own. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs cdktf with CI=true (no prompts, no spinner) and CHECKPOINT_DISABLE=1 (no version check
 * calls), and resolves with its exit and last lines; it rejects only when cdktf cannot start.
 */
export function runCdktf(args: readonly string[], options: RunCdktfOptions): Promise<CdktfResult> {
  const started = Date.now();
  const { file, prefix } = options.cdktf;
  const all = [...prefix, ...args];
  // Node refuses to spawn .cmd files without a shell (CVE-2024-27980), so quote for cmd.exe.
  const shell = /\.(cmd|bat)$/i.test(file);
  const child = shell
    ? spawn(`"${file}" ${all.map((a) => `"${a.replace(/"/g, '""')}"`).join(' ')}`, { shell: true, cwd: options.cwd, env: cdktfEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(file, all, { cwd: options.cwd, env: cdktfEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const lastLines: string[] = [];
  const errorLines: string[] = [];
  const annotationLines: string[] = [];
  const annotationsSeen = new Set<string>();
  const reader = (stream: NodeJS.ReadableStream, isError: boolean) =>
    forEachOutputLine(stream, (clean) => {
      keep(lastLines, clean);
      if (isError) keep(errorLines, clean);
      if (ANNOTATION_LINE.test(clean) && !annotationsSeen.has(clean) && annotationLines.length < KEEP_ANNOTATIONS) {
        annotationsSeen.add(clean);
        annotationLines.push(clean);
      }
      options.progress?.update(clean);
      options.onLine?.(clean);
    });
  reader(child.stdout!, false);
  reader(child.stderr!, true);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start cdktf (${file}): ${(err as Error).message}`)));
    child.once('close', (code, signal) => resolve({ args, code, signal, ms: Date.now() - started, lastLines, errorLines, annotationLines }));
  });
}

/**
 * The variable in which the app still learns whether its caller runs in a pipeline, since cdktf
 * runs with CI=true whatever the caller's (stacks/backend.ts runsInPipeline reads it; the name is
 * repeated there as CALLER_CI_VARIABLE, which test/stacks/backend.test.ts holds equal to this).
 */
export const CALLER_CI = 'HOSTED_BOTS_CALLER_CI';

function cdktfEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { ...process.env, [CALLER_CI]: process.env[CALLER_CI] ?? process.env.CI ?? '', ...extra, CI: 'true', CHECKPOINT_DISABLE: '1' };
}

export function exitDescription(result: CdktfResult): string {
  return result.signal ? `was stopped by ${result.signal}` : `exited with code ${result.code}`;
}

/** What to show of a failed run: its stderr when it wrote any, else its last lines. */
export function failureLines(result: CdktfResult, count: number): string[] {
  const lines = result.errorLines.length ? result.errorLines : result.lastLines;
  return lines.slice(-count);
}
