/**
 * The runtime and the agent as two self-contained JavaScript files (esbuild), for the App
 * Service package and for the bots. The deployed runtime stores its state in PostgreSQL through
 * the pure-JS `pg` client, so nothing native is needed; the SQLite store, the demo and the
 * construct library stay out of the bundle.
 *
 *   node dist/runtime/cli/bundle.js [outDir]      (npm run build does this into dist/bundle)
 */
import * as fs from 'fs';
import * as path from 'path';

import { BUNDLE_FILES } from './bundle-files';

export { BUNDLE_FILES };

/** Modules the bundle never loads in a deployment; they are required lazily where used. */
const EXTERNAL = ['better-sqlite3', 'cdktf', 'cdktf-cli', 'constructs', '@cdktf/*', 'pg-native', 'playwright-core', 'esbuild'];

/**
 * The entry point: the TypeScript source in a checkout (whether this file runs from the sources
 * or from dist/), else the compiled file of an installed package.
 */
function entry(relative: string): string {
  const here = path.resolve(__dirname, '..', '..');
  const checkout = path.basename(here) === 'dist' ? path.dirname(here) : here;
  const source = path.join(checkout, `${relative}.ts`);
  return fs.existsSync(source) ? source : path.join(here, `${relative}.js`);
}

/** Builds main.js and agent.js into `outDir` and returns it. */
export function buildBundle(outDir: string): string {
  // Loaded here: esbuild is only needed to build, never to run.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  for (const [file, source] of [
    [BUNDLE_FILES.runtime, 'runtime/cli/main'],
    [BUNDLE_FILES.agent, 'runtime/agent/main'],
  ] as const) {
    esbuild.buildSync({
      entryPoints: [entry(source)],
      bundle: true,
      platform: 'node',
      target: 'node20',
      outfile: path.join(outDir, file),
      external: EXTERNAL,
      legalComments: 'none',
      logLevel: 'error',
    });
  }
  fs.writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify({ name: 'hosted-bots-runtime', private: true, main: BUNDLE_FILES.runtime, scripts: { start: `node ${BUNDLE_FILES.runtime} runtime` } }, null, 2)}\n`);
  return outDir;
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'bundle'));
  buildBundle(out);
  process.stdout.write(`bundle: ${path.join(out, BUNDLE_FILES.runtime)}, ${path.join(out, BUNDLE_FILES.agent)}\n`);
}
