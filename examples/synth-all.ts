/**
 * `npm run synth`: synthesizes every example app with the real `cdktf synth`, one output folder
 * per example (`cdktf.out/<example>/stacks/<stack>/`), and checks that each stack got its
 * `cdk.tf.json` and each environment stack its `fleet.json`. Exits non-zero on the first failure.
 *
 *   node dist/examples/synth-all.js [--out <dir>] [--only <example>]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const EXAMPLES = ['single-geo', 'multi-geo'] as const;

interface StackOutput {
  readonly example: string;
  readonly stack: string;
  readonly files: string[];
}

function usage(): never {
  console.log('usage: node dist/examples/synth-all.js [--out <dir>] [--only <example>]');
  console.log(`  --out    output folder (default: cdktf.out); each example goes to <out>/<example>`);
  console.log(`  --only   synthesize one example: ${EXAMPLES.join(', ')}`);
  process.exit(0);
}

function parseArgs(argv: string[]): { out: string; only?: string } {
  let out = 'cdktf.out';
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') usage();
    else if (arg === '--out') out = argv[++i];
    else if (arg === '--only') only = argv[++i];
    else throw new Error(`unknown argument "${arg}"; see --help`);
  }
  if (only !== undefined && !(EXAMPLES as readonly string[]).includes(only)) {
    throw new Error(`--only "${only}" is not an example; choose one of ${EXAMPLES.join(', ')}`);
  }
  return { out, only };
}

/** Runs `cdktf synth` for one example and returns the stacks it wrote. */
export function synthExample(example: string, outRoot: string): StackOutput[] {
  const root = path.resolve(__dirname, '..', '..');
  const app = path.join(root, 'dist', 'examples', example, 'main.js');
  const outdir = path.resolve(outRoot, example);
  // cdktf's App creates only the last folder of its outdir.
  fs.mkdirSync(outdir, { recursive: true });
  const cdktf = require.resolve('cdktf-cli/bundle/bin/cdktf');
  const result = spawnSync(process.execPath, [cdktf, 'synth', '--app', `node "${app}"`, '--output', outdir], {
    cwd: root,
    encoding: 'utf8',
    // CI=true turns off the spinner; no telemetry or version check calls leave the machine.
    env: { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1' },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const findings = output.split('\n').filter((line) => /^(ERROR|WARN) \[/.test(line));
  for (const line of findings) console.log(`  ${line}`);
  if (result.status !== 0) {
    const tail = findings.length > 0 ? '' : `\n${output.trim().split('\n').slice(-20).join('\n')}`;
    throw new Error(`cdktf synth of example ${example} failed (exit ${result.status})${tail}`);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    stacks: Record<string, { workingDirectory: string }>;
  };
  return Object.entries(manifest.stacks).map(([stack, entry]) => {
    const dir = path.join(outdir, entry.workingDirectory);
    const files = ['cdk.tf.json', 'fleet.json'].filter((f) => fs.existsSync(path.join(dir, f)));
    if (!files.includes('cdk.tf.json')) throw new Error(`example ${example}: stack ${stack} has no cdk.tf.json in ${dir}`);
    return { example, stack, files: files.map((f) => path.join(dir, f)) };
  });
}

function main(): void {
  const { out, only } = parseArgs(process.argv.slice(2));
  const examples = only ? [only] : [...EXAMPLES];
  for (const example of examples) {
    const started = Date.now();
    process.stdout.write(`synth ${example} ...\n`);
    const stacks = synthExample(example, out);
    console.log(`synth ${example}: ${stacks.length} stack(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const s of stacks) for (const f of s.files) console.log(`  ${path.relative(process.cwd(), f)}`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
