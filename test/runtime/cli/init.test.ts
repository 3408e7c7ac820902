/**
 * `hosted-bots init`. The last test is the whole story of a new team: the built CLI scaffolds a
 * fleet repository in a temp folder, `npm pack` of this checkout is installed there, and
 * `cdktf synth` runs in it. It downloads nothing: jest's global setup compiles dist/ (as
 * `npm run build` does), and test/helpers/packed-app.ts unpacks the tarball into the app's
 * node_modules and links every other dependency to this checkout's node_modules. It takes seconds.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fleetRepoFiles, initFleetRepo, InitError } from '../../../runtime/cli/init';
import { installPacked, packTarball, ROOT } from '../../helpers/packed-app';

const cli = path.join(ROOT, 'dist', 'runtime', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-init-'));
let n = 0;
const fresh = () => path.join(tmp, `fleet-${++n}`);
const ownPackage = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('refuses a folder that is not empty, naming it, and writes nothing', () => {
  const dir = fresh();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  expect(() => initFleetRepo(dir)).toThrow(new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not empty.*--force`));
  expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
});

test('--force writes into a folder that is not empty and keeps files of other names', () => {
  const dir = fresh();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  initFleetRepo(dir, { force: true });
  expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  expect(fs.existsSync(path.join(dir, 'main.ts'))).toBe(true);
});

test('the command exits 1 with the error on stderr, and prints nothing else', () => {
  const dir = fresh();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  const result = spawnSync(process.execPath, [cli, 'init', dir, '--pipeline', 'azure'], { encoding: 'utf8' });
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`error: ${dir} is not empty (notes.txt)`);
});

test.each([
  [{ geography: 'Mars' }, /--geography "Mars" is not supported.*Supported geographies: US, Europe/],
  [{ geography: 'UAE' }, /--geography "UAE" is not supported: the UAE geography is not supported/],
  [{ environment: 'Prod_1' }, /--environment "Prod_1" must be 1-24 lowercase letters/],
  [{ group: 'Finance' }, /--group "Finance" must be .*lowercase letters/],
  [{ pipeline: 'gitlab' }, /--pipeline "gitlab" is not a pipeline the scaffold writes: use one of github, azure/],
])('refuses %j, naming the value, and writes nothing', (options, message) => {
  const dir = fresh();
  expect(() => initFleetRepo(dir, options)).toThrow(InitError);
  expect(() => initFleetRepo(dir, options)).toThrow(message);
  expect(fs.existsSync(dir)).toBe(false);
});

test('the github pipeline is .github/workflows/fleet.yml: diff on pull requests, promote on the main branch', () => {
  const { files } = fleetRepoFiles(fresh(), { pipeline: 'github', environment: 'ops', group: 'hr', mainBranch: 'trunk' });
  expect([...files.keys()]).toEqual(['package.json', 'cdktf.json', 'tsconfig.json', 'main.ts', '.gitignore', '.github/workflows/fleet.yml']);
  const workflow = files.get('.github/workflows/fleet.yml')!;
  expect(workflow).toContain('pull_request:\n    branches: [trunk]');
  expect(workflow).toContain('npx hosted-bots diff --base origin/trunk --markdown');
  expect(workflow).toContain('npx hosted-bots promote --order ops --smoke hr/hello');
});

test('the azure pipeline is azure-pipelines.yml with a review and a promote stage', () => {
  const { files } = fleetRepoFiles(fresh(), { pipeline: 'azure' });
  expect(files.has('.github/workflows/fleet.yml')).toBe(false);
  const pipeline = files.get('azure-pipelines.yml')!;
  expect(pipeline).toMatch(/- stage: review\n\s+condition: eq\(variables\['Build.Reason'\], 'PullRequest'\)/);
  expect(pipeline).toContain('npx hosted-bots diff --base origin/main --markdown');
  expect(pipeline).toMatch(/- stage: promote[\s\S]*npx hosted-bots promote --order prod --smoke finance\/hello/);
});

test('package.json depends on this package and on the versions it pins', () => {
  const pkg = JSON.parse(fleetRepoFiles(path.join(tmp, 'My Fleet')).files.get('package.json')!);
  expect(pkg.name).toBe('my-fleet');
  expect(pkg.dependencies).toEqual({
    'hosted-rpa-bots': ownPackage.version,
    cdktf: ownPackage.dependencies.cdktf,
    constructs: ownPackage.dependencies.constructs,
    '@cdktf/provider-azurerm': ownPackage.dependencies['@cdktf/provider-azurerm'],
  });
  expect(pkg.devDependencies['cdktf-cli']).toBe(ownPackage.devDependencies['cdktf-cli']);
  expect(pkg.devDependencies.typescript).toBe(ownPackage.devDependencies.typescript);
});

test('main.ts declares the chosen geography, environment and group, and a state backend to fill in', () => {
  const main = fleetRepoFiles(fresh(), { geography: 'Japan', environment: 'rpa-jp', group: 'logistics' }).files.get('main.ts')!;
  expect(main).toContain("from 'hosted-rpa-bots'");
  expect(main).toContain("new HostedBotsStack(app, 'rpa-jp', {\n  geography: 'Japan',");
  expect(main).toContain("stack.environment.addGroup('logistics'");
  expect(main).toContain('const remoteState: BotStackBackend | undefined = undefined;');
  expect(main).toContain('backend: remoteState,');
});

test('.gitignore keeps dependencies, synth output and state out of git', () => {
  const ignore = fleetRepoFiles(fresh()).files.get('.gitignore')!.split('\n');
  expect(ignore).toEqual(expect.arrayContaining(['node_modules/', 'cdktf.out/', '*.tfstate*', '.terraform/']));
});

test(
  'hosted-bots init, then the packed tarball installed, then cdktf synth: the stack and its fleet manifest',
  () => {
    const app = path.join(tmp, 'my-fleet');
    const init = spawnSync(process.execPath, [cli, 'init', app, '--geography', 'UK', '--environment', 'ops', '--group', 'payroll'], { encoding: 'utf8' });
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    expect(init.stdout).toContain('.github/workflows/fleet.yml');

    installPacked(app, packTarball(path.join(tmp, 'pack')));
    const synth = spawnSync(path.join(app, 'node_modules', '.bin', 'cdktf'), ['synth'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1' },
    });
    expect({ status: synth.status, out: synth.stdout.slice(-2000) }).toEqual({ status: 0, out: expect.stringContaining('Generated Terraform code for the stacks: ops') });

    const stack = path.join(app, 'cdktf.out', 'stacks', 'ops');
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(stack, 'cdk.tf.json'), 'utf8')).resource)).toContain('azurerm_orchestrated_virtual_machine_scale_set');
    const fleet = JSON.parse(fs.readFileSync(path.join(stack, 'fleet.json'), 'utf8'));
    expect(fleet.environment).toMatchObject({ name: 'ops', geography: 'UK', region: 'ukwest' });
    expect(fleet.groups.map((g: { name: string }) => g.name)).toEqual(['payroll']);
  },
  180_000,
);
