/**
 * The package as published: what `npm pack` puts in the tarball, and what an app that installs it
 * can load, by `require` and by TypeScript. The tarball is installed without the network as
 * test/helpers/packed-app.ts describes; jest's global setup has compiled dist/ beforehand.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installPacked, packTarball, ROOT } from './helpers/packed-app';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-package-'));
const app = path.join(tmp, 'app');
let packed: string[];
let installed: string;

beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_ignore_scripts: 'true' } });
  packed = (JSON.parse(out)[0].files as { path: string }[]).map((f) => f.path);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, dependencies: { [pkg.name]: pkg.version } }));
  installed = installPacked(app, packTarball(path.join(tmp, 'pack')));
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.each(['dist/index.js', 'dist/index.d.ts', pkg.bin['hosted-bots'], 'dist/bundle.zip', 'package.json', 'README.md', 'LICENSE'])('the tarball holds %s', (file) => {
  expect(packed).toContain(file);
});

test('the tarball holds no tests, benchmark scripts, sources or the unzipped bundle', () => {
  const unwanted = packed.filter((f) => /^(test|bench\/(?!traces\/|fleets\/)|dist\/bench|dist\/bundle\/|cdktf\.out)|\.test\./.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
  expect(unwanted).toEqual([]);
});

test('the tarball holds the example traces and their fleets, for hosted-bots simulate', () => {
  const traces = fs.readdirSync(path.join(ROOT, 'bench', 'traces')).filter((f) => f.endsWith('.csv'));
  expect(traces.length).toBeGreaterThan(0);
  for (const trace of traces) expect(packed).toContain(`bench/traces/${trace}`);
  expect(packed).toContain('bench/fleets/standard.json');
});

test('simulate runs from the installed package on its own example trace and fleet', () => {
  const result = spawnSync(
    process.execPath,
    [path.join(installed, pkg.bin['hosted-bots']), 'simulate', '--manifest', path.join(installed, 'bench', 'fleets', 'standard.json'), '--trace', path.join(installed, 'bench', 'traces', 'spiky.csv'), '--no-what-if'],
    { cwd: app, encoding: 'utf8' },
  );
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^Simulated [\d,]+ runs of .*spiky\.csv/);
}, 60_000);

test('main, types and exports name files in the tarball', () => {
  const named = [pkg.main, pkg.types, pkg.exports['.'].default, pkg.exports['.'].types, pkg.exports['./package.json']].map((f: string) => f.replace(/^\.\//, ''));
  expect(named.filter((f) => !packed.includes(f))).toEqual([]);
});

test('an app requires the package and finds HostedBotsStack, and its package.json', () => {
  const script = `const lib = require('${pkg.name}'); const meta = require('${pkg.name}/package.json');
    process.stdout.write(JSON.stringify({ stack: typeof lib.HostedBotsStack, environment: typeof lib.BotEnvironment, version: meta.version, at: require.resolve('${pkg.name}') }));`;
  const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8' }));
  expect(result).toEqual({ stack: 'function', environment: 'function', version: pkg.version, at: path.join(fs.realpathSync(installed), 'dist', 'index.js') });
});

test('deep imports are closed by the exports map', () => {
  const result = spawnSync(process.execPath, ['-e', `require('${pkg.name}/dist/stacks')`], { cwd: app, encoding: 'utf8' });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
});

test('an app type-checks against the installed types (node16 resolution, through the exports map): HostedBotsStack with its props', () => {
  fs.writeFileSync(
    path.join(app, 'main.ts'),
    `import { App } from 'cdktf';
import { HostedBotsStack, HostedBotsStackProps } from '${pkg.name}';
const props: HostedBotsStackProps = { geography: 'Europe', environment: { name: 'prod', botCapacity: 2, admins: ['ops'] } };
const stack: HostedBotsStack = new HostedBotsStack(new App(), 'prod', props);
const region: string = stack.region;
// @ts-expect-error: the geographies are a closed list
const wrong: HostedBotsStackProps = { ...props, geography: 'Mars' };
export { region, wrong };
`,
  );
  const tsc = spawnSync(process.execPath, [path.join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'ES2022', '--skipLibCheck', 'main.ts'], { cwd: app, encoding: 'utf8' });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}, 60_000);

test('the CLI runs from the installed package', () => {
  const result = spawnSync(process.execPath, [path.join(installed, pkg.bin['hosted-bots']), 'init', '--help'], { cwd: app, encoding: 'utf8' });
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('--pipeline <kind>');
});

test('hosted-bots --version, run from the installed package, prints the version of its package.json', () => {
  const result = spawnSync(process.execPath, [path.join(installed, pkg.bin['hosted-bots']), '--version'], { cwd: app, encoding: 'utf8' });
  expect(result.status).toBe(0);
  expect(result.stdout).toBe(`${pkg.version}\n`);
});
