/**
 * `npm run bench`: runs every benchmark in turn; each rewrites its own section of BENCHMARKS.md.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const BENCHMARKS = ['synth', 'runtime'];
// bench/soak runs on its own (about ten minutes per store): node dist/bench/soak.js --pg <url>.

for (const name of BENCHMARKS) {
  const script = path.join(__dirname, `${name}.js`);
  if (!fs.existsSync(script)) throw new Error(`benchmark ${name} is missing: ${script}; run npm run build`);
  console.log(`== bench/${name}`);
  execFileSync(process.execPath, [script, ...process.argv.slice(2)], { stdio: 'inherit' });
}
