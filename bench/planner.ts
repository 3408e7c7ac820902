/**
 * The capacity planner's time: `hosted-bots simulate` with its what-ifs on a week of office-hours
 * (bench/traces/office-hours.csv, 4,961 runs, on bench/fleets/standard.json), run as a user runs
 * it, as a child process, from start to exit. This build runs with one thread, with one per
 * core, and with its default (one per free core); with --baseline, another build's CLI runs too. The runs take
 * turns, so every build meets the same load on a shared machine; the figures are medians.
 *
 *   npm run build && node dist/bench/planner.js [--runs 5] [--baseline <another build's dist/runtime/cli/main.js> [--baseline-label <name>]]
 *
 * A baseline build of an earlier commit, outside the checkout:
 *   git archive <commit> | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules && (cd /tmp/base && npx tsc -p tsconfig.json)
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultThreads } from '../runtime/cli/simulate';
import { machine, median, table, writeSection } from './report';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'runtime', 'cli', 'main.js');
const MANIFEST = path.join(ROOT, 'bench', 'fleets', 'standard.json');
const TRACE = path.join(ROOT, 'bench', 'traces', 'office-hours.csv');
const TARGET_SECONDS = 10;

interface Variant {
  readonly label: string;
  readonly cli: string;
  readonly args: readonly string[];
}

interface Timing {
  readonly seconds: number;
  readonly simulations: number;
  readonly stdout: string;
}

function time(variant: Variant): Timing {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [variant.cli, 'simulate', '--manifest', MANIFEST, '--trace', TRACE, ...variant.args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${variant.label}: simulate failed (${r.status}): ${r.stderr}`);
  const simulations = Number(/(\d+) simulations in/.exec(r.stderr)?.[1] ?? NaN);
  return { seconds, simulations, stdout: r.stdout };
}

function arg(name: string, fallback: string): string;
function arg(name: string, fallback: undefined): string | undefined;
function arg(name: string, fallback: string | undefined): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function main(): void {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(
      "usage: node dist/bench/planner.js [--runs 5] [--baseline <another build's dist/runtime/cli/main.js> [--baseline-label <name>]]\n" +
        'Times hosted-bots simulate with its what-ifs on a week of office-hours, this build with one thread, one per core and its default (and the baseline build, taking turns); rewrites the planner section of BENCHMARKS.md.',
    );
    return;
  }
  const runs = Number(arg('runs', '5'));
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error(`--runs must be a whole number from 1 to 50, got "${arg('runs', '5')}"`);
  const baseline = arg('baseline', undefined);
  const baselineLabel = arg('baseline-label', 'baseline');
  if (baseline && !fs.existsSync(baseline)) throw new Error(`--baseline ${baseline}: no such file; give another build's dist/runtime/cli/main.js`);
  const threads = os.availableParallelism();
  const chosen = defaultThreads();
  const variants: Variant[] = [
    { label: 'this build, 1 thread', cli: CLI, args: ['--threads', '1'] },
    ...(threads > 1 ? [{ label: `this build, ${threads} threads`, cli: CLI, args: ['--threads', String(threads)] }] : []),
    { label: `this build, its default (${chosen} thread${chosen === 1 ? '' : 's'} at the start)`, cli: CLI, args: [] },
    ...(baseline ? [{ label: baselineLabel, cli: baseline, args: [] }] : []),
  ];
  const loadAtStart = os.loadavg()[0];
  const timings = new Map<string, Timing[]>(variants.map((v) => [v.label, []]));
  for (let run = 0; run < runs; run++) {
    for (const v of variants) {
      const t = time(v);
      timings.get(v.label)!.push(t);
      console.log(`${v.label}: ${t.seconds.toFixed(2)} s (${t.simulations} simulations)`);
    }
  }
  const loadAtEnd = os.loadavg()[0];
  // The report must not depend on the threads: every simulation is seeded and stands alone.
  const mine = variants.filter((v) => v.cli === CLI).map((v) => timings.get(v.label)![0].stdout);
  const sameReport = mine.every((out) => out === mine[0]);
  if (!sameReport) throw new Error('this build printed different reports with different threads');

  const rows = variants.map((v) => {
    const ts = timings.get(v.label)!;
    const seconds = ts.map((t) => t.seconds);
    return [v.label, ts[0].simulations, median(seconds).toFixed(1), Math.min(...seconds).toFixed(1), Math.max(...seconds).toFixed(1)];
  });
  const defaultLabel = variants.find((v) => v.cli === CLI && v.args.length === 0)!.label;
  const asRun = median(timings.get(defaultLabel)!.map((t) => t.seconds));
  const lines = [
    '## Capacity planner: simulate with its what-ifs',
    '',
    `Command: \`npm run build && node dist/bench/planner.js --runs ${runs}${baseline ? ` --baseline <dist/runtime/cli/main.js of ${baselineLabel}>` : ''}\``,
    `Machine: ${machine()}; load average ${loadAtStart.toFixed(2)} at the start, ${loadAtEnd.toFixed(2)} at the end (the machine is shared).`,
    '',
    `\`hosted-bots simulate --manifest bench/fleets/standard.json --trace bench/traces/office-hours.csv\`: the declared settings and every one-setting what-if on a week of 4,961 runs, from process start to exit, ${runs} runs of each build taking turns; seconds.${
      baseline ? ` The baseline tries fewer what-ifs (no botCapacity or committedBots).` : ''
    } This build prints the same report, byte for byte, whatever its threads; by default it takes one per free core (the cores less the load average, up to 4).`,
    '',
    table(['build', 'simulations', 'median s', 'min s', 'max s'], rows),
    '',
    `Target: under ${TARGET_SECONDS} s on these ${os.cpus().length} cores, as a user runs it (its default threads): median ${asRun.toFixed(1)} s, ${asRun < TARGET_SECONDS ? 'met' : 'not met'}.${
      baseline ? ` ${baselineLabel} takes ${(median(timings.get(baselineLabel)!.map((t) => t.seconds)) / asRun).toFixed(1)}× as long.` : ''
    }`,
  ];
  writeSection('planner', lines.join('\n'));
  console.log(lines.join('\n'));
}

main();
