/**
 * bench/synth: time and peak memory of synth for 1 stack with 1 group up to 13 stacks with 10
 * groups each (130 groups), each synth in a fresh Node process, medians over repeated runs.
 * Writes its section of BENCHMARKS.md.
 *
 *   npm run build && node dist/bench/synth.js [--runs 5]
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { machine, median, table, writeSection } from './report';

interface Sample {
  stacks: number;
  groups: number;
  manifests: number;
  loadMs: number;
  buildMs: number;
  synthMs: number;
  totalMs: number;
  maxRssMb: number;
}

const SHAPES: ReadonlyArray<[number, number]> = [
  [1, 1],
  [1, 10],
  [4, 10],
  [8, 10],
  [13, 10],
];

function runOnce(stacks: number, groups: number): Sample {
  const script = path.join(__dirname, 'synth-fleet.js');
  const out = execFileSync(process.execPath, [script, '--stacks', String(stacks), '--groups', String(groups)], { encoding: 'utf8' });
  const sample = JSON.parse(out.trim().split('\n').pop()!) as Sample;
  if (sample.manifests !== stacks) throw new Error(`expected ${stacks} fleet.json files, got ${sample.manifests}`);
  return sample;
}

/** Wall time of the whole `cdktf synth` command for one shape, as a user sees it. */
function runCli(stacks: number, groups: number): number {
  const script = path.join(__dirname, 'synth-fleet.js');
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-cli-'));
  const started = process.hrtime.bigint();
  execFileSync(process.execPath, [require.resolve('cdktf-cli/bundle/bin/cdktf'), 'synth', '--app', `node "${script}" --stacks ${stacks} --groups ${groups}`, '--output', outdir], {
    stdio: 'pipe',
    env: { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1' },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  fs.rmSync(outdir, { recursive: true, force: true });
  return ms;
}

function main(): void {
  const i = process.argv.indexOf('--runs');
  const runs = i >= 0 ? Number(process.argv[i + 1]) : 5;
  const rows: (string | number)[][] = [];
  const perGroup: number[] = [];
  let largest: { total: number; rss: number } | undefined;
  for (const [stacks, groups] of SHAPES) {
    const samples: Sample[] = [];
    for (let r = 0; r < runs; r++) {
      samples.push(runOnce(stacks, groups));
      process.stdout.write(`\rsynth ${stacks}×${groups}: run ${r + 1}/${runs}`);
    }
    process.stdout.write('\n');
    const med = (k: keyof Sample) => median(samples.map((s) => s[k]));
    const work = med('buildMs') + med('synthMs');
    perGroup.push(work / (stacks * groups));
    rows.push([
      `${stacks} × ${groups}`,
      stacks * groups,
      med('loadMs').toFixed(0),
      med('buildMs').toFixed(0),
      med('synthMs').toFixed(0),
      med('totalMs').toFixed(0),
      (work / (stacks * groups)).toFixed(1),
      med('maxRssMb').toFixed(0),
    ]);
    largest = { total: med('totalMs'), rss: med('maxRssMb') };
  }
  const cli = [1, 13].map((stacks) => {
    const groups = stacks === 1 ? 1 : 10;
    const times = Array.from({ length: runs }, () => runCli(stacks, groups));
    return { shape: `${stacks} × ${groups}`, ms: median(times) };
  });
  const body = [
    '## Synth',
    '',
    `Command: \`npm run build && node dist/bench/synth.js --runs ${runs}\``,
    `Machine: ${machine()}`,
    '',
    'Each synth runs in a fresh Node process: module load, building the construct tree, then `app.synth()` writing `cdk.tf.json` and `fleet.json` for every stack. Medians of ' +
      `${runs} runs.`,
    '',
    table(['stacks × groups', 'groups', 'load ms', 'build ms', 'synth ms', 'total ms', 'build+synth ms per group', 'peak RSS MB'], rows),
    '',
    `130 groups (13 × 10): ${((largest?.total ?? 0) / 1000).toFixed(2)} s in all, target < 5 s. ` +
      `Cost per group at 130 groups is ${(perGroup[perGroup.length - 1] / perGroup[1]).toFixed(2)}× the cost per group at 10 groups (1.00× is perfectly linear).`,
    '',
    'Through the `cdktf synth` CLI, as a user runs it (the CLI\'s own start-up included), medians of ' + `${runs} runs:`,
    '',
    table(['stacks × groups', 'cdktf synth wall ms'], cli.map((c) => [c.shape, c.ms.toFixed(0)])),
  ].join('\n');
  writeSection('synth', body);
  console.log(body);
}

main();
