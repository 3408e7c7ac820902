/**
 * BENCHMARKS.md is assembled from sections, one per benchmark; each benchmark rewrites only its
 * own section, between `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const BENCHMARKS_FILE = path.resolve(__dirname, '..', '..', 'BENCHMARKS.md');

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The value at p percent of `values`, by rank (the bench scripts' latency percentiles). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One line describing the machine a figure was measured on. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const line = (cells: ReadonlyArray<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Replaces (or appends) one benchmark's section of BENCHMARKS.md. */
export function writeSection(name: string, body: string, file = BENCHMARKS_FILE): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\nFigures measured by `npm run bench` (or the benchmark named in each section). Medians over repeated runs; ratios are taken within one run, because the machines are shared and noisy.\n';
  const pattern = new RegExp(`${start}[\\s\\S]*?${end}`);
  const next = pattern.test(current) ? current.replace(pattern, section) : `${current.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, next);
}

/**
 * Runs a script's `main` with its command-line arguments: an error is printed as its message
 * alone (the scripts' errors name what is wrong) and sets exit code 1.
 */
export function runScript(main: (argv: readonly string[]) => void | Promise<void>): void {
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    });
}
