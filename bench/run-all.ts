/**
 * `npm run bench`: runs every benchmark in turn; each rewrites its own section of BENCHMARKS.md.
 *
 *   npm run bench                 synth, runtime, the policy comparison, the idle sweep, the planner, the flood, then the soak
 *   npm run bench -- --skip-soak  everything but the soak (about 10 minutes per store)
 *
 * The soak runs on SQLite, and on PostgreSQL too when BOTS_TEST_PG_URL is set.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: npm run bench [-- --skip-soak]\nRuns bench/synth, bench/runtime, bench/policies, bench/idle-sweep, bench/planner, bench/flood and bench/soak, each rewriting its section of BENCHMARKS.md.');
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--skip-soak');
if (unknown.length) {
  console.error(`unknown argument ${unknown[0]}; the only option is --skip-soak`);
  process.exit(1);
}

const BENCHMARKS: Array<{ name: string; args: string[] }> = [
  { name: 'synth', args: ['--runs', '5'] },
  { name: 'runtime', args: ['--runs', '3', '--cycles', '4000', '--samples', '400', '--clients', '2', '--delay-samples', '10'] },
  { name: 'policies', args: ['--seeds', '9'] },
  { name: 'idle-sweep', args: ['--seeds', '9'] },
  { name: 'planner', args: ['--runs', '5'] },
  { name: 'flood', args: ['--seconds', '15', '--runs', '40000'] },
];
if (!args.includes('--skip-soak')) {
  const pg = process.env.BOTS_TEST_PG_URL;
  BENCHMARKS.push({ name: 'soak', args: ['--runs', '10000', ...(pg ? ['--pg', pg] : [])] });
}

for (const { name, args: benchArgs } of BENCHMARKS) {
  const script = path.join(__dirname, `${name}.js`);
  if (!fs.existsSync(script)) throw new Error(`benchmark ${name} is missing: ${script}; run npm run build`);
  console.log(`== bench/${name} ${benchArgs.join(' ')}`);
  execFileSync(process.execPath, [script, ...benchArgs], { stdio: 'inherit' });
}
