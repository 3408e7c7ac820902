import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformVariable } from 'cdktf';
import { HostedBotsStack } from '../../../stacks';
import { parseManifest, FleetManifest } from '../../../runtime/config/manifest';
import { diffExitCode, diffFleets, FleetChange, FleetSide, renderMarkdown, renderText } from '../../../runtime/cli/fleet-diff';
import { readFleetSide } from '../../../runtime/cli/fleet-diff-command';

const root = path.resolve(__dirname, '../../..');
const cli = path.join(root, 'dist/runtime/cli/main.js');

interface GroupSpec {
  readonly name: string;
  readonly maxBots: number;
  readonly committedBots?: number;
  readonly users?: string[];
}
interface FleetSpec {
  readonly stack?: string;
  readonly capacity?: number;
  readonly groups: GroupSpec[];
  readonly globalNamePrefix?: string;
  readonly addressSpace?: string;
}

/** Synthesizes a tiny environment stack with the library, as bench/policies.ts synthesizeBenchFleet does. */
function synthesize(outdir: string, spec: FleetSpec): void {
  const app = new App({ outdir, stackTraces: false });
  const stack = new HostedBotsStack(app, spec.stack ?? 'bots', {
    geography: 'Europe',
    globalNamePrefix: spec.globalNamePrefix,
    environment: { name: 'demo', botCapacity: spec.capacity ?? 8, admins: ['ops-admin'], network: spec.addressSpace ? { addressSpace: spec.addressSpace } : undefined },
  });
  const password = new TerraformVariable(stack, 'bot_admin_password', { type: 'string', sensitive: true }).stringValue;
  for (const g of spec.groups) {
    stack.environment.addGroup(g.name, {
      name: g.name,
      maxBots: g.maxBots,
      committedBots: g.committedBots,
      adminUsername: 'botadmin',
      adminPassword: password,
      access: { users: g.users ?? ['alice'] },
      flows: { 'invoice-entry': { command: 'powershell.exe -File C:\\flows\\invoice.ps1', timeoutMinutes: 60 } },
    });
  }
  app.synth();
}

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-diff-test-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

let base: FleetManifest;
beforeAll(() => {
  const dir = path.join(temp, 'base');
  synthesize(dir, { capacity: 8, groups: [{ name: 'finance', maxBots: 4, committedBots: 1 }, { name: 'hr', maxBots: 2 }] });
  base = readFleetSide(dir, 'base').stacks[0].fleet!;
}, 60_000);

/** The base fleet changed by `edit` (on a deep copy, re-parsed so the schema still holds). */
function changed(edit: (m: any) => void): FleetManifest {
  const copy = JSON.parse(JSON.stringify(base));
  edit(copy);
  return parseManifest(copy, { requireResolved: false });
}
const side = (fleet?: FleetManifest, name = 'bots', imageVersions: FleetSide['stacks'][number]['imageVersions'] = []): FleetSide => ({ stacks: [{ name, fleet, imageVersions }] });
const diff = (after: FleetManifest): FleetChange[] => diffFleets(side(base), side(after));
const only = (changes: FleetChange[]): FleetChange => {
  expect(changes).toHaveLength(1);
  return changes[0];
};
const group = (m: any, name: string) => m.groups.find((g: any) => g.name === name);

describe('diffFleets', () => {
  test('the same fleet: no change, exit code 0', () => {
    const changes = diff(changed(() => undefined));
    expect(changes).toEqual([]);
    expect(diffExitCode(changes)).toBe(0);
    expect(renderText(changes)).toBe('no fleet changes\n');
  });

  test('a group added: its size, image, flows and who can use it; not destructive', () => {
    const c = only(diff(changed((m) => m.groups.push({ ...JSON.parse(JSON.stringify(group(m, 'hr'))), name: 'legal', access: { users: ['alice', 'bob'], coOwners: ['carol'] } }))));
    expect(c).toMatchObject({ kind: 'group-added', destructive: false, stack: 'bots', group: 'legal' });
    expect(c.text).toMatch(/^group legal added: up to 2 bots, image .*, flows invoice-entry; who can use it: users alice, bob; coOwners carol; and the environment's admins$/);
  });

  test('a group added without users or co-owners: only the admins can use it', () => {
    const c = only(diff(changed((m) => m.groups.push({ ...JSON.parse(JSON.stringify(group(m, 'hr'))), name: 'legal', access: { users: [], coOwners: [] } }))));
    expect(c.text).toMatch(/; nobody but the environment's admins can use it$/);
  });

  test('a group removed: its queued runs will be cancelled; destructive, exit code 2', () => {
    const changes = diff(changed((m) => (m.groups = m.groups.filter((g: any) => g.name !== 'hr'))));
    const c = only(changes);
    expect(c).toMatchObject({ kind: 'group-removed', destructive: true, group: 'hr' });
    expect(c.text).toBe('group hr removed: its queued runs will be cancelled (group_removed) when the runtime starts on the new manifest, and the deploy deletes its scale set and bots');
    expect(diffExitCode(changes)).toBe(2);
  });

  test('maxBots raised: not destructive', () => {
    const c = only(diff(changed((m) => (group(m, 'finance').maxBots = 6))));
    expect(c).toMatchObject({ kind: 'max-bots', destructive: false, text: 'group finance: maxBots raised from 4 to 6: up to 2 more bots may run at once' });
  });

  test('maxBots lowered: the excess goes as bots become idle; destructive', () => {
    const c = only(diff(changed((m) => (group(m, 'finance').maxBots = 2))));
    expect(c).toMatchObject({ kind: 'max-bots', destructive: true });
    expect(c.text).toBe('group finance: maxBots lowered from 4 to 2: capacity lowered below the bots that may exist: the excess goes as bots become idle, never mid-run');
  });

  test('committed bots raised: not destructive', () => {
    const c = only(diff(changed((m) => (group(m, 'finance').committedBots = 3))));
    expect(c).toMatchObject({ kind: 'committed-bots', destructive: false });
    expect(c.text).toBe('group finance: committed bots raised from 1 to 3: 2 more bots of the capacity reserved for the group before the shared pool');
  });

  test('committed bots lowered: destructive', () => {
    const c = only(diff(changed((m) => (group(m, 'finance').committedBots = 0))));
    expect(c).toMatchObject({ kind: 'committed-bots', destructive: true });
    expect(c.text).toMatch(/^group finance: committed bots lowered from 1 to 0: 1 fewer bot reserved/);
  });

  test('botCapacity cut: destructive', () => {
    const changes = diff(changed((m) => (m.environment.botCapacity = 5)));
    expect(only(changes)).toMatchObject({ kind: 'bot-capacity', destructive: true });
    expect(changes[0].text).toBe('environment demo: botCapacity cut from 8 to 5: capacity lowered below the bots that may exist: the excess goes as bots become idle, never mid-run');
    expect(diffExitCode(changes)).toBe(2);
  });

  test('botCapacity raised: not destructive', () => {
    expect(only(diff(changed((m) => (m.environment.botCapacity = 12))))).toMatchObject({ kind: 'bot-capacity', destructive: false, text: 'environment demo: botCapacity raised from 8 to 12' });
  });

  test('a group scaling setting changed: old → new with its effect', () => {
    const c = only(diff(changed((m) => (group(m, 'hr').scaling.idleMinutes = 3))));
    expect(c).toMatchObject({ kind: 'scaling', destructive: false, group: 'hr' });
    expect(c.text).toBe(`group hr: scaling.idleMinutes ${base.groups[1].scaling.idleMinutes} → 3 (how long an idle bot is kept before it is deleted)`);
  });

  test('an environment scaling setting its groups inherit is reported once, for the environment', () => {
    const changes = diff(
      changed((m) => {
        m.environment.scaling.standbyBots = 1;
        for (const g of m.groups) g.scaling.standbyBots = 1;
      }),
    );
    expect(only(changes).text).toBe('environment demo: scaling.standbyBots 0 → 1 (idle bots kept warm while the group is in use)');
  });

  test('an image change: bots will be replaced after their current run', () => {
    const c = only(diff(changed((m) => (group(m, 'finance').image.version = '2.0.0'))));
    expect(c).toMatchObject({ kind: 'image', destructive: false, group: 'finance' });
    expect(c.text).toMatch(/^group finance: image .*@.* → .*@2\.0\.0: bots will be replaced after their current run$/);
  });

  test('access: each principal added or removed, users, coOwners and admins', () => {
    const changes = diff(
      changed((m) => {
        group(m, 'finance').access.users = ['bob'];
        group(m, 'finance').access.coOwners = ['carol'];
        m.environment.admins = ['ops-admin', 'dave'];
      }),
    );
    expect(changes.map((c) => [c.kind, c.destructive, c.text])).toEqual([
      ['access', false, 'environment demo: dave added to admins'],
      ['access', false, 'group finance: bob added to users'],
      ['access', false, 'group finance: alice removed from users'],
      ['access', false, 'group finance: carol added to coOwners'],
    ]);
  });

  test('a user made a co-owner (and back) moves, with what the move allows', () => {
    const promoted = diff(changed((m) => Object.assign(group(m, 'finance').access, { users: [], coOwners: ['alice'] })));
    expect(only(promoted)).toMatchObject({
      kind: 'access',
      destructive: false,
      text: 'group finance: alice moved from users to coOwners: may now also cancel, re-prioritise and move runs to the top, and pause or resume the group',
    });
    const demoted = diffFleets(side(changed((m) => Object.assign(group(m, 'finance').access, { users: [], coOwners: ['alice'] }))), side(base));
    expect(only(demoted).text).toBe("group finance: alice moved from coOwners to users: may no longer cancel others' runs, re-prioritise, move runs to the top, or pause the group");
  });

  test('who may queue at high priority is an access change', () => {
    const c = only(diff(changed((m) => (group(m, 'hr').queue.highPriority = 'users'))));
    expect(c).toMatchObject({ kind: 'access', destructive: false, text: 'group hr: who may queue at high priority: co-owners → users and co-owners (environment admins always may)' });
  });

  test("a user's queue share is a setting", () => {
    const c = only(diff(changed((m) => (group(m, 'hr').queue.maxQueuedPerUser = 7))));
    expect(c).toMatchObject({ kind: 'setting', text: `group hr: queue.maxQueuedPerUser ${base.groups[1].queue.maxQueuedPerUser} → 7 (the most runs one user may have queued)` });
  });

  test('a flow added', () => {
    const c = only(diff(changed((m) => (group(m, 'hr').flows.payroll = { command: 'payroll.exe', timeoutMinutes: 30 }))));
    expect(c).toMatchObject({ kind: 'flow-added', destructive: false, text: 'group hr: flow payroll added (payroll.exe, time-out 30 min)' });
  });

  test('a flow removed', () => {
    const c = only(diff(changed((m) => (group(m, 'hr').flows = {}))));
    expect(c).toMatchObject({ kind: 'flow-removed', destructive: false, text: 'group hr: flow invoice-entry removed: new runs of it are refused' });
  });

  test("a flow's command and time-out changed", () => {
    const changes = diff(changed((m) => (group(m, 'hr').flows['invoice-entry'] = { command: 'invoice2.exe', timeoutMinutes: 90 })));
    expect(changes.map((c) => [c.kind, c.text])).toEqual([
      ['flow-changed', 'group hr: flow invoice-entry: command powershell.exe -File C:\\flows\\invoice.ps1 → invoice2.exe'],
      ['flow-changed', 'group hr: flow invoice-entry: time-out 60 → 90 min'],
    ]);
  });

  test('a region or geography move: destructive', () => {
    const changes = diff(changed((m) => Object.assign(m.environment, { geography: 'UnitedStates', region: 'eastus' })));
    const c = only(changes);
    expect(c).toMatchObject({ kind: 'location', destructive: true });
    expect(c.text).toBe(
      `environment demo moves from Europe (${base.environment.region}) to UnitedStates (eastus): its resources are created anew there and the old ones deleted, with their bots and runs`,
    );
    expect(diffExitCode(changes)).toBe(2);
  });

  test('a stack added: not destructive', () => {
    const changes = diffFleets(side(base), { stacks: [...side(base).stacks, ...side(base, 'bots-us').stacks] });
    expect(only(changes)).toMatchObject({ kind: 'stack-added', destructive: false, stack: 'bots-us' });
    expect(changes[0].text).toBe(`stack bots-us added: environment demo in Europe (${base.environment.region}) with 2 groups; admins ops-admin`);
  });

  test('a stack removed: destructive', () => {
    const changes = diffFleets({ stacks: [...side(base).stacks, ...side(base, 'bots-us').stacks] }, side(base));
    expect(only(changes)).toMatchObject({ kind: 'stack-removed', destructive: true, text: 'stack bots-us removed: environment demo and its 2 groups (finance, hr) go with it' });
    expect(diffExitCode(changes)).toBe(2);
  });

  test('an image stack version added and removed (from cdk.tf.json): the removed one is a rollback target gone, destructive', () => {
    const v = (version: string) => ({ gallery: 'bots', image: 'win11', version, regions: ['northeurope'] });
    const changes = diffFleets(side(undefined, 'bot-images', [v('1.0.0')]), side(undefined, 'bot-images', [v('1.1.0')]));
    expect(changes.map((c) => [c.kind, c.destructive, c.text])).toEqual([
      ['image-version', false, 'image version bots/win11@1.1.0 added: built and replicated to northeurope'],
      ['image-version', true, 'image version bots/win11@1.0.0 removed: the deploy deletes it from the gallery, so no group can roll back to it'],
    ]);
    expect(diffExitCode(changes)).toBe(2);
  });

  test('a removed image version that a group still uses names the group', () => {
    const v = { gallery: 'bots', image: 'win11', version: '1.0.0', regions: ['northeurope'] };
    const onVersion = changed((m) => (group(m, 'finance').image = { kind: 'gallery', gallery: 'bots', image: 'win11', version: '1.0.0', id: '${azurerm_shared_image_version.v.id}' }));
    const before: FleetSide = { stacks: [{ name: 'bot-images', imageVersions: [v] }, { name: 'bots', fleet: onVersion, imageVersions: [] }] };
    const after: FleetSide = { stacks: [{ name: 'bot-images', imageVersions: [] }, { name: 'bots', fleet: onVersion, imageVersions: [] }] };
    expect(only(diffFleets(before, after)).text).toBe(
      'image version bots/win11@1.0.0 removed: the deploy deletes it from the gallery, so no group can roll back to it; still used by bots/finance, whose bots cannot start once it is gone',
    );
  });
});

describe('rendering', () => {
  const changes = (): FleetChange[] => diff(changed((m) => {
    group(m, 'finance').maxBots = 2;
    group(m, 'hr').maxBots = 3;
  }));

  test('plain text marks destructive lines and counts them', () => {
    expect(renderText(changes())).toBe(
      [
        'bots',
        '  ! group finance: maxBots lowered from 4 to 2: capacity lowered below the bots that may exist: the excess goes as bots become idle, never mid-run',
        '    group hr: maxBots raised from 2 to 3: up to 1 more bot may run at once',
        '',
        '2 changes, 1 destructive (marked !): needs approval',
        '',
      ].join('\n'),
    );
  });

  test('markdown: a heading, the summary, and a table with destructive rows flagged', () => {
    expect(renderMarkdown(changes())).toBe(
      [
        '### Fleet changes',
        '',
        '**1 destructive change** of 2: this needs approval before it is deployed.',
        '',
        '| | stack | change |',
        '|---|---|---|',
        '| ⚠️ destructive | bots | group finance: maxBots lowered from 4 to 2: capacity lowered below the bots that may exist: the excess goes as bots become idle, never mid-run |',
        '|  | bots | group hr: maxBots raised from 2 to 3: up to 1 more bot may run at once |',
        '',
      ].join('\n'),
    );
  });

  test('markdown without changes says so', () => {
    expect(renderMarkdown([])).toBe('### Fleet changes\n\nNo fleet changes.\n');
  });
});

describe('hosted-bots diff', () => {
  const run = (args: string[], cwd = root) => spawnSync(process.execPath, [cli, 'diff', ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });

  beforeAll(() => {
    synthesize(path.join(temp, 'a'), { groups: [{ name: 'finance', maxBots: 4 }] });
    synthesize(path.join(temp, 'b'), { groups: [{ name: 'finance', maxBots: 6 }] });
    synthesize(path.join(temp, 'c'), { groups: [{ name: 'finance', maxBots: 2 }] });
    synthesize(path.join(temp, 'prefixed'), { groups: [{ name: 'finance', maxBots: 4 }], globalNamePrefix: 'contoso' });
    synthesize(path.join(temp, 'renumbered'), { groups: [{ name: 'finance', maxBots: 4 }], addressSpace: '10.90.0.0/16' });
  }, 60_000);

  test('a globalNamePrefix change renames the vault, PostgreSQL server, storage account and App Service: exit code 2, each named with its attribute', () => {
    const r = run(['--from', path.join(temp, 'a'), '--to', path.join(temp, 'prefixed')]);
    for (const what of ['Key Vault', 'PostgreSQL server', 'storage account', 'runtime App Service']) {
      expect(r.stdout).toMatch(new RegExp(`! azurerm_\\w+\\.\\S+ \\(${what}\\) is replaced: name \\S+ → contoso\\S+ \\(a rename\\) forces a new resource`));
    }
    expect(r.stdout).toContain('run history');
    expect(r.status).toBe(2);
  });

  test('an addressSpace change is a network change: exit code 2, naming the VNet and address_space', () => {
    const r = run(['--from', path.join(temp, 'a'), '--to', path.join(temp, 'renumbered'), '--markdown']);
    expect(r.stdout).toMatch(/\| ⚠️ destructive \| bots \| azurerm_virtual_network\.\S+ \(virtual network\): network change: address_space 10\.80\.0\.0\/16 → 10\.90\.0\.0\/16; /);
    expect(r.status).toBe(2);
  });

  test('only non-destructive changes: exit code 0', () => {
    const r = run(['--from', path.join(temp, 'a'), '--to', path.join(temp, 'b')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('group finance: maxBots raised from 4 to 6');
    expect(r.status).toBe(0);
  });

  test('a destructive change: exit code 2, and --markdown prints the table', () => {
    const r = run(['--from', path.join(temp, 'a'), '--to', path.join(temp, 'c'), '--markdown']);
    expect(r.stdout).toContain('### Fleet changes');
    expect(r.stdout).toContain('| ⚠️ destructive | bots | group finance: maxBots lowered from 4 to 2');
    expect(r.status).toBe(2);
  });

  test('a missing folder: exit code 1, naming it', () => {
    const missing = path.join(temp, 'nowhere');
    const r = run(['--from', missing, '--to', path.join(temp, 'b')]);
    expect(r.stderr).toContain(`--from: the folder ${missing} does not exist`);
    expect(r.status).toBe(1);
  });

  test('--help says what --base does and what the exit codes mean', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: hosted-bots diff \[options\]/);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('2: something destructive');
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('temporary git worktree');
  });

  test('neither --from/--to nor --base: exit code 1', () => {
    const r = run([]);
    expect(r.stderr).toContain('give --from <cdktf.out> and --to <cdktf.out>, or --base <git-ref>');
    expect(r.status).toBe(1);
  });
});

/**
 * --base in a temporary git repository: a tiny cdktf app (main.js, which loads this project's
 * built library) is committed with maxBots 4, then changed to 2 in the working tree. Its
 * node_modules is a link to this project's, as a fleet repo's would be installed; the ref's
 * worktree gets the same link from the command.
 */
describe('hosted-bots diff --base', () => {
  const repo = path.join(temp, 'repo');
  const appSource = (maxBots: number) =>
    [
      `const { App, TerraformVariable } = require('cdktf');`,
      `const { HostedBotsStack } = require(${JSON.stringify(path.join(root, 'dist/index.js'))});`,
      `const app = new App();`,
      `const stack = new HostedBotsStack(app, 'bots', { geography: 'Europe', environment: { name: 'demo', botCapacity: 8, admins: ['ops-admin'] } });`,
      `const password = new TerraformVariable(stack, 'bot_admin_password', { type: 'string', sensitive: true }).stringValue;`,
      `stack.environment.addGroup('finance', { name: 'finance', maxBots: ${maxBots}, adminUsername: 'botadmin', adminPassword: password, flows: { 'invoice-entry': { command: 'invoice.exe' } } });`,
      `app.synth();`,
      '',
    ].join('\n');
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  const run = (args: string[]) => spawnSync(process.execPath, [cli, 'diff', ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, CI: 'true' } });

  beforeAll(() => {
    fs.mkdirSync(repo, { recursive: true });
    fs.writeFileSync(path.join(repo, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'node main.js', terraformProviders: [], sendCrashReports: 'false' }));
    fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules\ncdktf.out\n');
    fs.writeFileSync(path.join(repo, 'main.js'), appSource(4));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(repo, 'node_modules'));
    git('init', '--quiet', '--initial-branch=main');
    git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'empty');
    git('add', '-A');
    git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-m', 'a fleet');
    // As a pull request's checkout has it after a fetch: the target branch as origin/main.
    git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    fs.writeFileSync(path.join(repo, 'main.js'), appSource(2));
  });

  test('the working tree lowers maxBots against origin/main: the sentence in Markdown, exit code 2, and the temporary worktree removed', () => {
    const r = run(['--base', 'origin/main', '--markdown']);
    expect(r.stdout).toContain('| ⚠️ destructive | bots | group finance: maxBots lowered from 4 to 2');
    expect(r.status).toBe(2);
    const worktrees = spawnSync('git', ['worktree', 'list'], { cwd: repo, encoding: 'utf8' }).stdout.trim().split('\n');
    expect(worktrees).toHaveLength(1);
  }, 120_000);

  test("a working tree with errors: exit code 1, each error printed with its rule ID, and the working tree's cdktf.out left as it was", () => {
    const out = path.join(repo, 'cdktf.out');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'previous.txt'), 'the last good synth');
    const listing = () => fs.readdirSync(out, { recursive: true, encoding: 'utf8' }).sort().map((f) => [f, fs.statSync(path.join(out, f)).isFile() ? fs.readFileSync(path.join(out, f), 'utf8') : '']);
    const before = listing();
    fs.writeFileSync(path.join(repo, 'main.js'), appSource(99));
    try {
      const r = run(['--base', 'origin/main']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^ {2}ERROR \[bots\/environment\/finance\]: bots\/environment\/finance: \[HRB-CAP-1\] maxBots 99 must be a whole number from 1 to 50/m);
      expect(r.stderr).toMatch(/error: cdktf synth found 1 error in the app \(above\)/);
      expect(listing()).toEqual(before);
    } finally {
      fs.writeFileSync(path.join(repo, 'main.js'), appSource(2));
    }
  }, 120_000);

  test('a ref that names no commit: exit code 1, naming the ref, before any synth', () => {
    const r = run(['--base', 'origin/nowhere']);
    expect(r.stderr).toContain('--base origin/nowhere is not a commit of the repository');
    expect(r.status).toBe(1);
  });
});

/**
 * --base against a ref whose app refuses a pipeline synth without remote state (as the main.ts of
 * `hosted-bots init` does): the ref is only compared, never deployed, so its synth is not refused,
 * and the change that fills remoteState in can pass its review.
 */
describe('hosted-bots diff --base, the ref without remote state', () => {
  const repo = path.join(temp, 'repo-remote-state');
  const appSource = (backend: string) =>
    [
      `const { App } = require('cdktf');`,
      `const { HostedBotsStack, requireRemoteStateInPipelines } = require(${JSON.stringify(path.join(root, 'dist/index.js'))});`,
      `const app = new App();`,
      `const stack = new HostedBotsStack(app, 'bots', { geography: 'Europe', environment: { name: 'demo', botCapacity: 8 }, backend: requireRemoteStateInPipelines(${backend}) });`,
      `app.synth();`,
      '',
    ].join('\n');
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };

  test('in a pipeline (CI=true), the ref with undefined remote state is synthesized and compared; the working tree with a backend passes', () => {
    fs.mkdirSync(repo, { recursive: true });
    fs.writeFileSync(path.join(repo, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'node main.js', terraformProviders: [], sendCrashReports: 'false' }));
    fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules\ncdktf.out\n');
    fs.writeFileSync(path.join(repo, 'main.js'), appSource('undefined'));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(repo, 'node_modules'));
    git('init', '--quiet', '--initial-branch=main');
    git('add', '-A');
    git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-m', 'a fleet without remote state');
    git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    fs.writeFileSync(path.join(repo, 'main.js'), appSource("{ resourceGroupName: 'rg-tfstate', storageAccountName: 'tfstatebots', containerName: 'tfstate' }"));

    const r = spawnSync(process.execPath, [cli, 'diff', '--base', 'origin/main'], { cwd: repo, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    expect(r.stderr).not.toContain('remoteState is undefined');
    expect(r.status).toBe(0);
  }, 120_000);
});

