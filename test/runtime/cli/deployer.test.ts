/**
 * The deployer commands, run as a pipeline runs them (the build is made by test/global-setup.ts).
 * Terraform and Azure are out of reach here, so a `cdktf` stand-in first on PATH records every
 * call and copies a real synth of examples/multi-geo; the gates and `run` talk to a real runtime.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { buildMultiGeo } from '../../../examples/multi-geo/main';
import { RuleSuppressions } from '../../../index';
import { freePort } from '../../../runtime/cli/processes';
import { synthApp } from '../../helpers/app';
import { startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

const root = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(root, 'dist/runtime/cli/main.js');

/** The cdktf stand-in: logs argv, and emulates synth (copies the fixture) and deploy (writes outputs). */
const STAND_IN = `#!/usr/bin/env node
const fs = require('fs');
const path = require('path');
const config = JSON.parse(fs.readFileSync(process.env.CDKTF_STAND_IN_CONFIG, 'utf8'));
const argv = process.argv.slice(2);
fs.appendFileSync(config.log, JSON.stringify({ argv, env: { CI: process.env.CI, CHECKPOINT_DISABLE: process.env.CHECKPOINT_DISABLE, HOSTED_BOTS_CALLER_CI: process.env.HOSTED_BOTS_CALLER_CI } }) + '\\n');
const flag = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const output = path.resolve(flag('--output') || 'cdktf.out');
if (argv[0] === 'synth') {
  console.log('Synthesizing');
  if (config.failSynth) {
    for (const e of config.synthErrors || []) console.log('ERROR [' + e.split(':')[0] + ']: ' + e);
    console.error('Error: ' + config.failSynth);
    process.exit(1);
  }
  for (const w of config.synthWarnings || []) console.log('WARN [' + w.split(':')[0] + ']: ' + w);
  fs.mkdirSync(output, { recursive: true });
  fs.cpSync(config.fixture, output, { recursive: true });
  console.log('Generated Terraform code for the stacks');
} else if (argv[0] === 'deploy') {
  const stack = argv[1];
  const manifest = JSON.parse(fs.readFileSync(path.join(output, 'manifest.json'), 'utf8'));
  if (!manifest.stacks[stack]) {
    console.error('Found no stack ' + stack);
    process.exit(1);
  }
  console.log(stack + '  Initializing the backend...');
  if ((config.failDeploy || []).includes(stack)) {
    console.log(stack + '  Error: creating Linux Web App: unexpected status 409 (Conflict)');
    process.exit(1);
  }
  const url = (config.runtimeUrls || {})[stack];
  fs.writeFileSync(flag('--outputs-file'), JSON.stringify({ [stack]: url ? { runtime_url: url } : {} }, null, 2));
  console.log(stack + '  Apply complete! Resources: 12 added, 0 changed, 0 destroyed.');
} else {
  console.error('cdktf stand-in: no emulation for ' + argv.join(' '));
  process.exit(2);
}
`;

interface StandInConfig {
  /** The synth output the stand-in copies. @default a synth of examples/multi-geo */
  fixture?: string;
  runtimeUrls?: Record<string, string>;
  failDeploy?: string[];
  failSynth?: string;
  /** Annotation lines a failing synth prints on stdout, as cdktf prints the app's errors. */
  synthErrors?: string[];
  synthWarnings?: string[];
}

let fixture: string;
let fleet: TestFleet;
let adminToken: string;
let work: string;
let bin: string;
let logFile: string;
let configFile: string;

function configure(config: StandInConfig): void {
  fs.writeFileSync(configFile, JSON.stringify({ log: logFile, fixture, ...config }));
}

/** The recorded cdktf calls, argv only. */
function calls(): string[][] {
  if (!fs.existsSync(logFile)) return [];
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).argv);
}

const deployed = () => calls().filter((a) => a[0] === 'deploy').map((a) => a[1]);

/** A synth call: cdktf writes into a staging folder beside the output folder (runtime/cli/staged-output.ts). */
const synthCall = (output = 'cdktf.out', ...args: string[]) => ['synth', ...args, '--output', expect.stringMatching(new RegExp(`/\\.${path.basename(output).replace(/\./g, '\\.')}\\.next-\\w+$`))];

/** Every file under `dir` with the SHA-256 of its bytes, by relative path. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(dir, full)] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** What is left beside the output folder: staging folders of synths that did not finish. */
const leftovers = () => fs.readdirSync(work).filter((f) => /^\.cdktf\.out\.(next|old)-/.test(f));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process, which serves the real runtime. */
function hostedBots(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  const base: Record<string, string | undefined> = { ...process.env, HOSTED_BOTS_TOKEN: undefined, HOSTED_BOTS_CDKTF: undefined };
  const merged = { ...base, PATH: `${bin}${path.delimiter}${process.env.PATH}`, CDKTF_STAND_IN_CONFIG: configFile, ...env };
  const clean = Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: work, env: clean });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A PATH on which nothing is found. */
function emptyDir(): string {
  const dir = path.join(work, 'empty');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A runtime that is up but never healthy. */
async function unhealthyServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'unavailable', store: 'sqlite', leader: false }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

beforeAll(async () => {
  fixture = synthApp(buildMultiGeo).outdir;
  fleet = await startTestFleet();
  adminToken = fleet.tokens[USERS.admin];
});

afterAll(async () => {
  await fleet?.stop();
  if (fixture) fs.rmSync(fixture, { recursive: true, force: true });
});

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'deployer-'));
  bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'cdktf'), STAND_IN, { mode: 0o755 });
  logFile = path.join(work, 'cdktf-calls.jsonl');
  configFile = path.join(work, 'stand-in.json');
  configure({});
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

test('every deployer command has help', async () => {
  const commands = ['synth', 'deploy', 'promote', 'gate', 'status', 'run'];
  const results = await Promise.all(commands.map((command) => hostedBots([command, '--help'])));
  results.forEach((result, i) => {
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Usage: hosted-bots ${commands[i]} `));
  });
});

describe('synth', () => {
  test('runs cdktf synth with CI=true and CHECKPOINT_DISABLE=1, then prints a summary per stack', async () => {
    const result = await hostedBots(['synth'], { CI: undefined });
    expect(result.code).toBe(0);
    expect(calls()).toEqual([synthCall()]);
    const logged = JSON.parse(fs.readFileSync(logFile, 'utf8').split('\n')[0]);
    // The caller's own CI goes on to the app, which may refuse what a pipeline must not do (stacks/backend.ts).
    expect(logged.env).toEqual({ CI: 'true', CHECKPOINT_DISABLE: '1', HOSTED_BOTS_CALLER_CI: '' });
    await hostedBots(['synth'], { CI: 'true' });
    expect(JSON.parse(fs.readFileSync(logFile, 'utf8').split('\n')[1]).env.HOSTED_BOTS_CALLER_CI).toBe('true');
    expect(result.stdout).toMatch(/^stack\s+geography\s+region\s+capacity\s+group\s+maxBots\s+committed\s+image$/m);
    expect(result.stdout).toMatch(/^bots-europe\s+Europe\s+northeurope\s+10\s+finance\s+6\s+2\s+botimages\/windows-rpa@1\.0\.0$/m);
    expect(result.stdout).toMatch(/^bots-us\s+US\s+westus\s+10\s+finance\s+6\s+2\s+botimages\/windows-rpa@1\.0\.0$/m);
    expect(result.stdout).toMatch(/^bot-images\s+botimages\/windows-rpa@1\.0\.0\s+northeurope, westus$/m);
    expect(result.stdout).toMatch(/^promotion order: bots-europe → bots-us$/m);
  });

  test("prints the rule pack's warnings before the summary", async () => {
    configure({ synthWarnings: ['bots-us/environment: [HRB-NET-4] network.subnetId (existing subnet) must provide outbound connectivity itself'] });
    const result = await hostedBots(['synth']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}WARN \[bots-us\/environment\]: bots-us\/environment: \[HRB-NET-4\] network\.subnetId \(existing subnet\) must provide outbound connectivity itself$/m);
    expect(result.stdout.indexOf('WARN [')).toBeLessThan(result.stdout.indexOf('environment stacks'));
  });

  test('prints each suppressed rule with its path and reason, from the synthesized stacks', async () => {
    const reason = 'Azure checks the sensitive password at deploy';
    const suppressed = synthApp((app) => RuleSuppressions.of(buildMultiGeo(app).us).suppress('HRB-ADMIN-4', reason));
    try {
      configure({ fixture: suppressed.outdir });
      const result = await hostedBots(['synth']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^ {2}SUPPRESSED \\[bots-us/environment/finance\\]: HRB-ADMIN-4: ${reason}$`, 'm'));
      expect(result.stdout.match(/SUPPRESSED \[/g)).toHaveLength(1);
      expect(result.stdout.indexOf('SUPPRESSED [')).toBeLessThan(result.stdout.indexOf('environment stacks'));
    } finally {
      fs.rmSync(suppressed.outdir, { recursive: true, force: true });
    }
  });

  test('passes --app and --output on, and reads the summary from that folder', async () => {
    const result = await hostedBots(['synth', '--app', 'node app.js', '--output', 'out/app']);
    expect(result.code).toBe(0);
    expect(calls()).toEqual([synthCall('out/app', '--app', 'node app.js')]);
    expect(calls()[0][4]).toMatch(new RegExp(`^${fs.realpathSync(work)}/out/\\.app\\.next-`));
    expect(fs.existsSync(path.join(work, 'out/app/manifest.json'))).toBe(true);
    expect(result.stdout).toMatch(/^bots-us\s+US\s+westus/m);
  });

  test('a failing cdktf synth exits non-zero with its error lines', async () => {
    configure({ failSynth: 'bots-us/environment/finance: maxBots 99 is more than 50' });
    const result = await hostedBots(['synth']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Error: bots-us\/environment\/finance: maxBots 99 is more than 50/);
    expect(result.stderr).toMatch(/error: cdktf synth exited with code 1/);
    expect(result.stdout).not.toMatch(/environment stacks/);
    expect(leftovers()).toEqual([]);
  });

  test('a failing synth prints every error of the app without --verbose, however many cdktf printed', async () => {
    // More findings than the 200 last lines cdktf-process.ts keeps of the output.
    const errors = Array.from({ length: 250 }, (_, i) => `bots-us/environment/g${i}: bots-us/environment/g${i}: [HRB-CAP-1] maxBots ${100 + i} must be a whole number from 1 to 50 (bots per group)`);
    configure({ failSynth: 'While synthesizing one or more error annotations have been encountered.', synthErrors: errors });
    const result = await hostedBots(['synth']);
    expect(result.code).toBe(1);
    const shown = result.stderr.split('\n').filter((l) => l.startsWith('  ERROR ['));
    expect(shown).toEqual(errors.map((e) => `  ERROR [${e.split(':')[0]}]: ${e}`));
    expect(result.stderr).toMatch(/error: cdktf synth found 250 errors in the app \(above\)/);
  });

  test('a successful synth replaces the output folder, keeping each stack\'s Terraform working files, and leaves nothing beside it', async () => {
    const stack = path.join(work, 'cdktf.out', 'stacks', 'bots-us');
    fs.mkdirSync(path.join(stack, '.terraform', 'providers'), { recursive: true });
    fs.writeFileSync(path.join(stack, '.terraform', 'providers', 'marker'), 'installed');
    fs.writeFileSync(path.join(stack, '.terraform.lock.hcl'), 'lock');
    fs.writeFileSync(path.join(stack, 'fleet.json'), 'stale');
    fs.writeFileSync(path.join(work, 'cdktf.out', 'stale.txt'), 'from an older synth');
    const result = await hostedBots(['synth']);
    expect(result.code).toBe(0);
    expect(fs.readFileSync(path.join(stack, '.terraform', 'providers', 'marker'), 'utf8')).toBe('installed');
    expect(fs.readFileSync(path.join(stack, '.terraform.lock.hcl'), 'utf8')).toBe('lock');
    expect(fs.readFileSync(path.join(stack, 'fleet.json'), 'utf8')).toBe(fs.readFileSync(path.join(fixture, 'stacks', 'bots-us', 'fleet.json'), 'utf8'));
    expect(fs.existsSync(path.join(work, 'cdktf.out', 'stale.txt'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  test(
    'a real app with errors: every finding printed in full (path, rule ID, field, value, what to do), and the previous cdktf.out left byte for byte',
    async () => {
      // The real cdktf, on a small app of this package's built library.
      const realCdktf = path.join(root, 'node_modules', '.bin', 'cdktf');
      fs.writeFileSync(path.join(work, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'node app.js', projectId: 'x', sendCrashReports: 'false', terraformProviders: [], terraformModules: [], context: {} }));
      fs.writeFileSync(
        path.join(work, 'app.js'),
        `const { App } = require(${JSON.stringify(path.join(root, 'node_modules', 'cdktf'))});
const { HostedBotsStack } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
const app = new App();
const stack = new HostedBotsStack(app, 'shop', { geography: 'Europe', environment: { name: 'shop', botCapacity: 2 } });
stack.environment.addGroup('finance', {
  name: 'finance',
  maxBots: Number(process.env.MAX_BOTS),
  adminUsername: process.env.ADMIN_USER,
  adminPassword: 'Xy7!abcdefgh1',
  flows: { hello: { command: 'cmd /c echo hi', timeoutMinutes: 5 } },
});
app.synth();
`,
      );
      const good = await hostedBots(['synth'], { HOSTED_BOTS_CDKTF: realCdktf, MAX_BOTS: '2', ADMIN_USER: 'botadmin' });
      expect(good.stderr).toBe('');
      expect(good.code).toBe(0);
      const before = fingerprint(path.join(work, 'cdktf.out'));
      expect(Object.keys(before)).toEqual(expect.arrayContaining(['manifest.json', 'stacks/shop/cdk.tf.json', 'stacks/shop/fleet.json']));

      const bad = await hostedBots(['synth'], { HOSTED_BOTS_CDKTF: realCdktf, MAX_BOTS: '99', ADMIN_USER: 'admin' });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^ {2}ERROR \[shop\/environment\/finance\]: shop\/environment\/finance: \[HRB-CAP-1\] maxBots 99 must be a whole number from 1 to 50/m);
      expect(bad.stderr).toMatch(/^ {2}ERROR \[shop\/environment\/finance\]: shop\/environment\/finance: \[HRB-ADMIN-1\] adminUsername "admin" is reserved by Azure; choose another name/m);
      expect(bad.stderr).toMatch(new RegExp(`error: cdktf synth found 2 errors in the app \\(above\\); ${fs.realpathSync(work)}/cdktf.out is unchanged`));
      expect(fingerprint(path.join(work, 'cdktf.out'))).toEqual(before);
      expect(leftovers()).toEqual([]);
    },
    120_000,
  );

  test('HOSTED_BOTS_CDKTF overrides the lookup on PATH, as a file or a command', async () => {
    const standIn = path.join(work, 'bin', 'cdktf');
    const asCommand = await hostedBots(['synth'], { PATH: emptyDir(), HOSTED_BOTS_CDKTF: `${process.execPath} ${standIn}` });
    expect(asCommand.code).toBe(0);
    expect(calls()).toEqual([synthCall()]);
    const missing = await hostedBots(['synth'], { HOSTED_BOTS_CDKTF: path.join(work, 'no-such-cdktf') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/HOSTED_BOTS_CDKTF is ".*no-such-cdktf", but .* is neither an executable file nor on PATH/);
  });

  test('no cdktf on PATH nor in the app: a clear error says how to get one', async () => {
    const result = await hostedBots(['synth'], { PATH: emptyDir() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cdktf was found neither on PATH nor in .*node_modules\/\.bin: install it .*or set HOSTED_BOTS_CDKTF/);
  });

  test("without cdktf on PATH, the app's own node_modules/.bin/cdktf is used", async () => {
    const local = path.join(work, 'node_modules', '.bin');
    fs.mkdirSync(local, { recursive: true });
    fs.copyFileSync(path.join(work, 'bin', 'cdktf'), path.join(local, 'cdktf'));
    fs.chmodSync(path.join(local, 'cdktf'), 0o755);
    // A PATH with node (the stand-in's interpreter) and nothing else.
    const nodeOnly = path.join(work, 'node-only');
    fs.mkdirSync(nodeOnly, { recursive: true });
    if (!fs.existsSync(path.join(nodeOnly, 'node'))) fs.symlinkSync(process.execPath, path.join(nodeOnly, 'node'));
    try {
      const result = await hostedBots(['synth'], { PATH: nodeOnly });
      expect(result.code).toBe(0);
      expect(calls()).toEqual([synthCall()]);
    } finally {
      fs.rmSync(path.join(work, 'node_modules'), { recursive: true, force: true });
    }
  });
});

describe('deploy', () => {
  test('synthesizes once, then deploys every stack alone, in dependency order, with its outputs file', async () => {
    const result = await hostedBots(['deploy']);
    expect(result.code).toBe(0);
    const all = calls();
    expect(all[0]).toEqual(synthCall());
    const order = deployed();
    expect(order).toHaveLength(3);
    expect(order[0]).toBe('bot-images');
    expect(order.slice(1).sort()).toEqual(['bots-europe', 'bots-us']);
    const europe = all.find((a) => a[1] === 'bots-europe')!;
    expect(europe).toEqual(expect.arrayContaining(['--auto-approve', '--outputs-file', '--outputs-file-include-sensitive-outputs=false', '--skip-synth']));
    expect(europe[europe.indexOf('--outputs-file') + 1]).toBe(path.join(fs.realpathSync(work), 'cdktf.out', 'deploy-outputs', 'bots-europe.json'));
    expect(result.stdout).toMatch(/\[1\/3\] bot-images: deployed in \d/);
    expect(result.stdout).toMatch(/deployed 3 stacks in/);
  });

  test('named stacks are put in dependency order', async () => {
    const result = await hostedBots(['deploy', 'bots-us', 'bot-images']);
    expect(result.code).toBe(0);
    expect(deployed()).toEqual(['bot-images', 'bots-us']);
  });

  test('an unknown stack name is refused before anything is deployed, listing the known stacks', async () => {
    const result = await hostedBots(['deploy', 'bots-europe', 'bots-asia']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: deploy: "bots-asia" is not a stack of this app; its stacks are: bot-images, bots-europe, bots-us/);
    expect(deployed()).toEqual([]);
  });

  test('stops at the first failing stack with cdktf\'s last lines; later stacks are not deployed', async () => {
    configure({ failDeploy: ['bot-images'] });
    const result = await hostedBots(['deploy']);
    expect(result.code).toBe(1);
    expect(deployed()).toEqual(['bot-images']);
    expect(result.stdout).toMatch(/\[1\/3\] bot-images: failed after/);
    expect(result.stderr).toMatch(/bot-images {2}Error: creating Linux Web App: unexpected status 409 \(Conflict\)/);
    expect(result.stderr).toMatch(/error: deploy stopped at bot-images: cdktf deploy bot-images exited with code 1; not deployed: bots-europe, bots-us/);
  });
});

describe('promote', () => {
  test('--dry-run with --order prints the stages and gates and runs nothing, not even synth', async () => {
    const result = await hostedBots(['promote', '--order', 'bots-europe,bots-us', '--dry-run', '--smoke', 'finance/invoice-entry', '--token', 'x', '--health-timeout', '60']);
    expect(result.code).toBe(0);
    expect(calls()).toEqual([]);
    expect(fs.existsSync(logFile)).toBe(false);
    expect(result.stdout).toMatch(/dry run; nothing is deployed/);
    expect(result.stdout).toMatch(/^stage 1\/2: bots-europe$/m);
    expect(result.stdout).toMatch(/^stage 2\/2: bots-us$/m);
    expect(result.stdout).toMatch(/cdktf deploy bots-us --auto-approve/);
    expect(result.stdout).toMatch(/gate 1, health: GET <runtime_url output of bots-us>\/healthz answers 200 with status ok within 60 s/);
    expect(result.stdout).toMatch(/gate 2, smoke: +a high-priority run of finance\/invoice-entry ends succeeded within 900 s/);
  });

  test('--dry-run without --order synthesizes to read the declared order, and deploys nothing', async () => {
    const result = await hostedBots(['promote', '--dry-run']);
    expect(result.code).toBe(0);
    expect(calls()).toEqual([synthCall()]);
    expect(result.stdout).toMatch(/no --order, so cdktf synth runs first/);
    expect(result.stdout).toMatch(/order: bots-europe → bots-us \(declared by the app\)/);
    expect(result.stdout).toMatch(/deploy: cdktf deploy bot-images .*\(bots-europe depends on it\)/);
  });

  test('the declared order: each stage deployed, then gated on a real runtime\'s /healthz', async () => {
    configure({ runtimeUrls: { 'bots-europe': fleet.fleet.url, 'bots-us': fleet.fleet.url } });
    const result = await hostedBots(['promote', '--health-timeout', '10']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(deployed()).toEqual(['bot-images', 'bots-europe', 'bots-us']);
    expect(result.stdout.match(/health: ok in/g)).toHaveLength(2);
    expect(result.stdout).toMatch(/promoted bots-europe → bots-us in/);
  });

  test('--order wins over the declared order', async () => {
    configure({ runtimeUrls: { 'bots-europe': fleet.fleet.url, 'bots-us': fleet.fleet.url } });
    const result = await hostedBots(['promote', '--order', 'bots-us,bots-europe', '--health-timeout', '10']);
    expect(result.code).toBe(0);
    expect(deployed()).toEqual(['bot-images', 'bots-us', 'bots-europe']);
  });

  test('a health gate that never passes stops the promotion, naming the stage and the reason', async () => {
    const unhealthy = await unhealthyServer();
    try {
      configure({ runtimeUrls: { 'bots-europe': unhealthy.url, 'bots-us': fleet.fleet.url } });
      const result = await hostedBots(['promote', '--health-timeout', '1']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(`error: stage bots-europe: health gate failed: ${unhealthy.url} did not answer 200 with status ok within 1 s \\(last: HTTP 503 with status "unavailable"\\)`),
      );
      expect(deployed()).toEqual(['bot-images', 'bots-europe']);
      expect(result.stdout).toMatch(/not started: bots-us/);
    } finally {
      await unhealthy.close();
    }
  });

  test('a later stage whose runtime does not answer stops there (ECONNREFUSED)', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    configure({ runtimeUrls: { 'bots-europe': fleet.fleet.url, 'bots-us': closed } });
    const result = await hostedBots(['promote', '--health-timeout', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`stage bots-us: health gate failed: ${closed} did not answer 200 with status ok within 1 s \\(last: ECONNREFUSED\\)`));
    expect(deployed()).toEqual(['bot-images', 'bots-europe', 'bots-us']);
  });

  test('a failed deploy stops the promotion at that stage', async () => {
    configure({ failDeploy: ['bots-europe'], runtimeUrls: { 'bots-us': fleet.fleet.url } });
    const result = await hostedBots(['promote', '--health-timeout', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: stage bots-europe: deploy failed: cdktf deploy bots-europe exited with code 1/);
    expect(deployed()).toEqual(['bot-images', 'bots-europe']);
  });

  test('a stage without a runtime_url output fails its health gate; --url gives the URL instead', async () => {
    configure({});
    const missing = await hostedBots(['promote', '--order', 'bots-europe', '--health-timeout', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/stage bots-europe: health gate failed: no runtime URL: the outputs of bots-europe in .*bots-europe\.json have no runtime_url; pass --url bots-europe=<url>/);

    fs.rmSync(logFile);
    const overridden = await hostedBots(['promote', '--order', 'bots-europe', '--url', `bots-europe=${fleet.fleet.url}`, '--health-timeout', '5']);
    expect(overridden.code).toBe(0);
    expect(overridden.stdout).toMatch(new RegExp(`health: GET ${fleet.fleet.url}/healthz`));
  });

  test('a smoke run that succeeds passes gate 2 in every stage', async () => {
    configure({ runtimeUrls: { 'bots-europe': fleet.fleet.url, 'bots-us': fleet.fleet.url } });
    const result = await hostedBots(
      ['promote', '--smoke', 'finance/invoice-entry', '--smoke-input', 'simulateSeconds=0.2', '--health-timeout', '10', '--smoke-timeout', '30'],
      { HOSTED_BOTS_TOKEN: adminToken },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.match(/smoke: run run_[0-9a-f]{24} succeeded/g)).toHaveLength(2);
    const runs = await fleet.api('GET', '/v1/groups/finance/runs?state=succeeded&limit=200');
    // Lists carry no inputs: each high-priority run's own route shows them.
    const high = runs.body.runs.filter((r: { priority: string }) => r.priority === 'high');
    const full = await Promise.all(high.map(async (r: { id: string }) => (await fleet.api('GET', `/v1/runs/${r.id}`)).body));
    const smoke = full.filter((r: { inputs: Record<string, unknown> }) => r.inputs.simulateSeconds === 0.2);
    expect(smoke.length).toBeGreaterThanOrEqual(2);
  });

  test('the built-in self-test as the smoke run: no stage declares it, and it passes gate 2 on a real bot', async () => {
    configure({ runtimeUrls: { 'bots-europe': fleet.fleet.url, 'bots-us': fleet.fleet.url } });
    const result = await hostedBots(['promote', '--smoke', 'finance/hosted-bots-self-test', '--health-timeout', '10', '--smoke-timeout', '30'], { HOSTED_BOTS_TOKEN: adminToken });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.match(/smoke: run run_[0-9a-f]{24} succeeded/g)).toHaveLength(2);
  });

  test('a smoke run that fails stops the promotion, naming the stage, the run and its exit code', async () => {
    configure({ runtimeUrls: { 'bots-europe': fleet.fleet.url, 'bots-us': fleet.fleet.url } });
    const result = await hostedBots(
      ['promote', '--smoke', 'finance/invoice-entry', '--smoke-input', 'simulateSeconds=0.1', '--smoke-input', 'exitCode=3', '--token', adminToken, '--health-timeout', '10', '--smoke-timeout', '30'],
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: stage bots-europe: smoke gate failed: run run_[0-9a-f]{24} of finance\/invoice-entry ended failed \(exit code 3/);
    expect(deployed()).toEqual(['bot-images', 'bots-europe']);
    expect(result.stdout).toMatch(/not started: bots-us/);
  });

  test('--dry-run needs no API token, even with --smoke: it says the real run will', async () => {
    const result = await hostedBots(['promote', '--order', 'bots-europe', '--dry-run', '--smoke', 'finance/invoice-entry']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/gate 2, smoke: +a high-priority run of finance\/invoice-entry ends succeeded/);
    expect(result.stdout).toMatch(/it needs an API token when the promotion runs: --token or HOSTED_BOTS_TOKEN/);
    expect(calls()).toEqual([]);
  });

  test('--smoke without a token is refused before anything runs', async () => {
    const result = await hostedBots(['promote', '--smoke', 'finance/invoice-entry']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: --smoke finance\/invoice-entry starts a run, which needs an API token: pass --token or set HOSTED_BOTS_TOKEN/);
    expect(calls()).toEqual([]);
  });

  test('a smoke flow the stages do not declare is refused before anything is deployed', async () => {
    const result = await hostedBots(['promote', '--smoke', 'finance/lead-sync', '--token', 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--smoke finance\/lead-sync: group finance of stage bots-europe has no flow "lead-sync" \(its flows: invoice-entry; every group also runs the built-in hosted-bots-self-test\)/);
    expect(deployed()).toEqual([]);
  });

  test('an unknown stage name is refused before anything is deployed', async () => {
    const result = await hostedBots(['promote', '--order', 'bots-europe,bots-asia']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: promote: stage "bots-asia" is not a stack of this app; its stacks are: bot-images, bots-europe, bots-us/);
    expect(deployed()).toEqual([]);
  });

  test('a stage that is not an environment stack is refused', async () => {
    const images = await hostedBots(['promote', '--order', 'bot-images,bots-us']);
    expect(images.code).toBe(1);
    expect(images.stderr).toMatch(/stage "bot-images" is not an environment stack/);
    expect(deployed()).toEqual([]);
  });

  test('an order that puts a stage before a stack it depends on is refused', async () => {
    // The same synth, but bots-europe depends on bots-us.
    const altered = path.join(work, 'fixture');
    fs.cpSync(fixture, altered, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(altered, 'manifest.json'), 'utf8'));
    manifest.stacks['bots-europe'].dependencies.push('bots-us');
    fs.writeFileSync(path.join(altered, 'manifest.json'), JSON.stringify(manifest));
    fs.writeFileSync(configFile, JSON.stringify({ log: logFile, fixture: altered }));
    const result = await hostedBots(['promote', '--order', 'bots-europe,bots-us']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/stage bots-europe depends on stack bots-us, which comes later in the order bots-europe, bots-us; put bots-us first/);
    expect(deployed()).toEqual([]);

    const deploy = await hostedBots(['deploy', 'bots-europe', 'bots-us']);
    expect(deploy.code).toBe(0);
    expect(deployed()).toEqual(['bots-us', 'bots-europe']);
  });

  test('bad flags are refused, naming the flag, the value and the rule; nothing runs', async () => {
    const cases: Array<[string[], RegExp]> = [
    [['--order', 'bots-us,,bots-europe'], /--order "bots-us,,bots-europe" has an empty stage name/],
    [['--order', 'bots-us,bots-us'], /--order lists stage "bots-us" twice/],
    [['--smoke', 'finance'], /--smoke takes <group>\/<flow>, e.g. finance\/hosted-bots-self-test, got "finance"/],
    [['--health-timeout', '0'], /--health-timeout must be a number of seconds from 1 to 86400, got "0"/],
    [['--smoke-timeout', 'soon'], /--smoke-timeout must be a number of seconds from 1 to 86400, got "soon"/],
    [['--url', 'bots-us'], /--url takes <stack>=<url>/],
    [['--url', 'bots-us=ftp://x'], /--url bots-us "ftp:\/\/x" must be an http:\/\/ or https:\/\/ URL/],
    [['--smoke-input', 'a=1'], /--smoke-input needs --smoke <group>\/<flow>/],
    ];
    const results = await Promise.all(cases.map(([args]) => hostedBots(['promote', '--dry-run', ...args])));
    results.forEach((result, i) => {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(cases[i][1]);
    });
    expect(calls()).toEqual([]);
  });
});

describe('gate', () => {
  test('a healthy runtime and the built-in self-test on a real bot: every gate passes, and the self-test\'s report is shown', async () => {
    const result = await hostedBots(['gate', '--url', fleet.fleet.url, '--smoke', 'finance/hosted-bots-self-test', '--health-timeout', '10', '--smoke-timeout', '30'], { HOSTED_BOTS_TOKEN: adminToken });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/health: ok in/);
    expect(result.stdout).toMatch(/smoke: run run_[0-9a-f]{24} succeeded/);
    expect(result.stdout).toMatch(new RegExp(`hosted-bots-self-test passed: this bot runs commands and reaches the runtime\\n.*\\n.*\\n +runtime: GET ${fleet.fleet.url}/healthz answered HTTP 200`));
    expect(result.stdout).toMatch(/every gate passed in/);
    expect(calls()).toEqual([]);
  });

  test('an unhealthy runtime fails the health gate, exit code 1, and no run is started', async () => {
    const unhealthy = await unhealthyServer();
    try {
      const result = await hostedBots(['gate', '--url', unhealthy.url, '--smoke', 'finance/hosted-bots-self-test', '--token', adminToken, '--health-timeout', '1']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`error: health gate failed: ${unhealthy.url} did not answer 200 with status ok within 1 s \\(last: HTTP 503 with status "unavailable"\\)`));
      expect(result.stdout).not.toMatch(/smoke:/);
    } finally {
      await unhealthy.close();
    }
  });

  test('--smoke without a token is refused before the runtime is called', async () => {
    const result = await hostedBots(['gate', '--url', 'http://127.0.0.1:9', '--smoke', 'finance/hosted-bots-self-test']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: --smoke finance\/hosted-bots-self-test starts a run, which needs an API token: pass --token or set HOSTED_BOTS_TOKEN/);
    expect(result.stdout).not.toMatch(/health:/);
  });
});

describe('status', () => {
  test('prints the environment line and the group table of a real runtime', async () => {
    const result = await hostedBots(['status', '--url', fleet.fleet.url, '--token', adminToken]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^environment demo: Europe \(northeurope\), plan standard, enabled, capacity 4 bots, \d+ in use$/m);
    expect(result.stdout).toMatch(/^group\s+state\s+access\s+provisioning\s+idle\s+busy\s+failed\s+deleting\s+queued\s+running$/m);
    expect(result.stdout).toMatch(/^finance\s+active\s+admin(\s+\d+){7}$/m);
    expect(result.stdout).toMatch(/^sales\s+active\s+admin(\s+\d+){7}$/m);
  });

  test('takes the token from HOSTED_BOTS_TOKEN; a user sees only their groups', async () => {
    const result = await hostedBots(['status', '--url', fleet.fleet.url], { HOSTED_BOTS_TOKEN: fleet.tokens[USERS.salesRep] });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sales\s+active\s+user\s/m);
    expect(result.stdout).not.toMatch(/^finance/m);
  });

  test('without a token: a clear error, and nothing is called', async () => {
    const result = await hostedBots(['status', '--url', fleet.fleet.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: status needs an API token: pass --token <token> or set HOSTED_BOTS_TOKEN/);
  });

  test('an API error is printed with its code and message', async () => {
    const result = await hostedBots(['status', '--url', fleet.fleet.url, '--token', 'not-a-token']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: GET \/v1\/environment answered 401 unauthorized: the bearer token is not valid/);
  });

  test('an unreachable runtime is named with the reason', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const result = await hostedBots(['status', '--url', closed, '--token', 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`error: cannot reach ${closed}: ECONNREFUSED`));
  });
});

describe('run', () => {
  test('--wait follows a run that succeeds: exit 0, state changes, wait and run times, output', async () => {
    const result = await hostedBots([
      'run', '--url', fleet.fleet.url, '--token', adminToken, '--group', 'finance', '--flow', 'invoice-entry',
      '--input', 'simulateSeconds=2.5', '--input', 'output=batch 42 entered', '--priority', 'high', '--wait', '--timeout', '30',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^run (run_[0-9a-f]{24}) enqueued: group finance, flow invoice-entry, priority high, idempotency key [0-9a-f-]{36}$/m);
    expect(result.stdout).toMatch(/^\s+[\d.]+ s {2}running on \S+$/m);
    expect(result.stdout).toMatch(/^run run_[0-9a-f]{24} succeeded: waited [\d.]+ s, ran [\d.]+ s \(exit code 0\)$/m);
    expect(result.stdout).toMatch(/^output:\n {2}invoice-entry ran for 2\.5s on \S+\n {2}batch 42 entered$/m);
  });

  test('--wait follows a run that fails: exit 1, saying how it ended', async () => {
    const result = await hostedBots([
      'run', '--url', fleet.fleet.url, '--group', 'finance', '--flow', 'invoice-entry',
      '--inputs-json', '{"simulateSeconds":0.1,"exitCode":2}', '--wait', '--timeout', '30',
    ], { HOSTED_BOTS_TOKEN: adminToken });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^run run_[0-9a-f]{24} failed: waited [\d.]+ s, ran [\d.]+ s \(exit code 2\)$/m);
    expect(result.stderr).toMatch(/error: run run_[0-9a-f]{24} ended failed \(exit code 2\)/);
  });

  test('--wait gives up after --timeout with exit 1, saying the run goes on', async () => {
    const result = await hostedBots([
      'run', '--url', fleet.fleet.url, '--token', adminToken, '--group', 'sales', '--flow', 'lead-sync',
      '--input', 'simulateSeconds=3', '--wait', '--timeout', '1',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: run (run_[0-9a-f]{24}) did not end within 1 s: it is still (queued|running) and goes on \(cancel it with POST .*\/v1\/runs\/run_[0-9a-f]{24}\/cancel\)/);
  });

  test('without --wait it prints the run ID; the same idempotency key gives back the same run', async () => {
    const args = ['run', '--url', fleet.fleet.url, '--token', adminToken, '--group', 'sales', '--flow', 'lead-sync', '--input', 'simulateSeconds=0.1', '--idempotency-key', `nightly-${Date.now()}`];
    const first = await hostedBots(args);
    const second = await hostedBots(args);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    const id = /^run (run_[0-9a-f]{24}) enqueued:/m.exec(first.stdout)![1];
    expect(second.stdout).toMatch(new RegExp(`^run ${id} was already enqueued with this idempotency key`, 'm'));
    const run = await fleet.api('GET', `/v1/runs/${id}`);
    expect(run.body.inputs).toEqual({ simulateSeconds: 0.1 });
  });

  test('--input values: JSON numbers and booleans are typed, anything else stays a string', async () => {
    const result = await hostedBots([
      'run', '--url', fleet.fleet.url, '--token', adminToken, '--group', 'sales', '--flow', 'lead-sync',
      '--input', 'simulateSeconds=0.1', '--input', 'dryRun=true', '--input', 'account=007', '--input', 'note=a=b',
    ]);
    expect(result.code).toBe(0);
    const id = /^run (run_[0-9a-f]{24}) enqueued:/m.exec(result.stdout)![1];
    const run = await fleet.api('GET', `/v1/runs/${id}`);
    expect(run.body.inputs).toEqual({ simulateSeconds: 0.1, dryRun: true, account: '007', note: 'a=b' });
  });

  test('an API error (unknown group) is printed with its code and message', async () => {
    const result = await hostedBots(['run', '--url', fleet.fleet.url, '--token', adminToken, '--group', 'payroll', '--flow', 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: POST \/v1\/groups\/payroll\/runs answered 404 group_not_found: group "payroll" does not exist or you have no access to it/);
  });

  test('without a token: a clear error', async () => {
    const result = await hostedBots(['run', '--url', fleet.fleet.url, '--group', 'finance', '--flow', 'invoice-entry']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: run needs an API token: pass --token <token> or set HOSTED_BOTS_TOKEN/);
  });

  test('bad flags are refused, naming the flag, the value and the rule; no run is made', async () => {
    const cases: Array<[string[], RegExp]> = [
    [['--priority', 'urgent'], /option '--priority <priority>' argument 'urgent' is invalid\. Allowed choices are high, normal/],
    [['--input', 'batch'], /--input takes key=value, e.g\. batch=42, got "batch"/],
    [['--input', 'a=1', '--input', 'a=2'], /--input a is given twice/],
    [['--inputs-json', '[1]'], /--inputs-json must be a JSON object/],
    [['--inputs-json', '{oops'], /--inputs-json is not valid JSON/],
    [['--idempotency-key', 'has space'], /--idempotency-key "has space" must be 1-200 printable ASCII characters/],
    [['--timeout', '5'], /--timeout only applies with --wait/],
    [['--wait', '--timeout', '-1'], /--timeout must be a number of seconds from 1 to 86400, got "-1"/],
    ];
    const count = async () => (await fleet.api('GET', '/v1/groups/finance/runs?limit=200')).body.runs.length;
    const before = await count();
    const results = await Promise.all(
      cases.map(([args]) => hostedBots(['run', '--url', fleet.fleet.url, '--token', adminToken, '--group', 'finance', '--flow', 'invoice-entry', ...args])),
    );
    results.forEach((result, i) => {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(cases[i][1]);
    });
    expect(await count()).toBe(before);
  });

  test('a bad --url is refused naming the flag', async () => {
    const result = await hostedBots(['run', '--url', 'runtime.example', '--token', 'x', '--group', 'finance', '--flow', 'invoice-entry']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error: --url "runtime\.example" is not a URL/);
  });
});
