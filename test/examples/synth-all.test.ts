/**
 * `npm run synth` end to end: the compiled examples (test/global-setup.ts compiles them)
 * through the real `cdktf synth` CLI.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

describe('npm run synth', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-all-'));
  let output = '';

  beforeAll(() => {
    output = execFileSync(process.execPath, ['dist/examples/synth-all.js', '--out', out], { cwd: root, encoding: 'utf8' });
  }, 180_000);

  test.each([
    ['single-geo', 'demo'],
    ['multi-geo', 'bots-europe'],
    ['multi-geo', 'bots-us'],
  ])('writes cdk.tf.json and fleet.json for %s stack %s', (example, stack) => {
    const dir = path.join(out, example, 'stacks', stack);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')).resource).toBeDefined();
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'fleet.json'), 'utf8')).stack).toBe(stack);
  });

  test('no synthesized file holds an absolute path of the checkout or the output folder', () => {
    const texts: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\.json$/.test(entry.name)) texts.push(fs.readFileSync(file, 'utf8'));
      }
    };
    walk(out);
    expect(texts.length).toBeGreaterThanOrEqual(6);
    for (const text of texts) {
      expect(text).not.toContain(root);
      expect(text).not.toContain(out);
    }
  });

  test('keeps local state beside an output folder outside the checkout, by a relative path', () => {
    const tf = JSON.parse(fs.readFileSync(path.join(out, 'single-geo', 'stacks', 'demo', 'cdk.tf.json'), 'utf8'));
    expect(path.isAbsolute(tf.terraform.backend.local.path)).toBe(false);
    expect(path.resolve(out, 'single-geo', 'stacks', 'demo', tf.terraform.backend.local.path)).toBe(path.join(out, 'terraform.demo.tfstate'));
  });

  test('writes cdk.tf.json for the images stack', () => {
    expect(fs.existsSync(path.join(out, 'multi-geo', 'stacks', 'bot-images', 'cdk.tf.json'))).toBe(true);
  });

  test('prints the password warnings and a summary per example', () => {
    expect(output).toMatch(/WARN \[demo\/environment\/finance\]: .*adminPassword \(sensitive Terraform value\)/);
    expect(output).toMatch(/synth single-geo: 1 stack\(s\)/);
    expect(output).toMatch(/synth multi-geo: 3 stack\(s\)/);
  });

  test('an unknown example is refused with the list of examples', () => {
    expect(() => execFileSync(process.execPath, ['dist/examples/synth-all.js', '--only', 'nope'], { cwd: root, stdio: 'pipe' })).toThrow(
      /--only "nope" is not an example; choose one of single-geo, multi-geo/,
    );
  });
});

describe('cdktf synth of an app that breaks a rule', () => {
  test('exits non-zero, prints the finding, and writes no fleet.json', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-app-'));
    const appFile = path.join(dir, 'main.js');
    fs.writeFileSync(
      appFile,
      `const { App } = require(${JSON.stringify(path.join(root, 'node_modules', 'cdktf'))});
const { HostedBotsStack } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
const app = new App();
const stack = new HostedBotsStack(app, 'bad', { geography: 'Europe', environment: { name: 'bad', botCapacity: 2 } });
stack.environment.addGroup('g', { name: 'finance', maxBots: 60, adminUsername: 'botadmin', adminPassword: 'Str0ng!Bot-Passw0rd' });
app.synth();
`,
    );
    let status = 0;
    let output = '';
    try {
      execFileSync(process.execPath, [require.resolve('cdktf-cli/bundle/bin/cdktf'), 'synth', '--app', `node "${appFile}"`, '--output', path.join(dir, 'out')], {
        cwd: root,
        encoding: 'utf8',
        stdio: 'pipe',
        env: { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1' },
      });
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      status = e.status;
      output = `${e.stdout}${e.stderr}`;
    }
    expect(status).not.toBe(0);
    expect(output).toContain('ERROR [bad/environment/g]: bad/environment/g: [HRB-CAP-1] maxBots 60 must be a whole number from 1 to 50');
    expect(fs.existsSync(path.join(dir, 'out', 'stacks', 'bad', 'fleet.json'))).toBe(false);
  }, 120_000);

  test('a BotEnvironment in a plain TerraformStack checks itself: errors fail synth, suppressions are printed as INFO', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plain-app-'));
    const appFile = path.join(dir, 'main.js');
    const lib = (m: string) => JSON.stringify(path.join(root, 'node_modules', m));
    fs.writeFileSync(
      appFile,
      `const { App, TerraformStack } = require(${lib('cdktf')});
const { AzurermProvider } = require(${lib('@cdktf/provider-azurerm/lib/provider')});
const { RandomProvider } = require(${lib('@cdktf/provider-random/lib/provider')});
const { BotEnvironment, RuleSuppressions } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
const app = new App();
const stack = new TerraformStack(app, 'plain');
new AzurermProvider(stack, 'azurerm', { features: [{}] });
new RandomProvider(stack, 'random');
const environment = new BotEnvironment(stack, 'environment', { name: 'demo', botCapacity: 5, plan: 'trial', monitoring: { alerts: { emails: ['rpa-oncall@example.com'] } } }, {
  stackName: 'plain', geography: 'Europe', region: 'northeurope', placement: { resourceGroupName: 'rg', location: 'northeurope' },
  resourceGroupName: 'rg', resourceGroupId: '/subscriptions/0/resourceGroups/rg', subscriptionId: '0',
  runtimeUrl: 'https://bots.example.com', agentSha256: 'a'.repeat(64), botAuth: { kind: 'token' }, nameSuffix: 'abc123',
});
RuleSuppressions.of(environment).suppress('HRB-CAP-3', 'a trial while the licences are bought');
environment.addGroup('g', { name: 'finance', maxBots: Number(process.env.MAX_BOTS), adminUsername: 'botadmin', adminPassword: 'Str0ng!Bot-Passw0rd' });
app.synth();
`,
    );
    const cdktfSynth = (maxBots: number, out: string) => {
      try {
        const stdout = execFileSync(process.execPath, [require.resolve('cdktf-cli/bundle/bin/cdktf'), 'synth', '--app', `node "${appFile}"`, '--output', path.join(dir, out)], {
          cwd: root,
          encoding: 'utf8',
          stdio: 'pipe',
          env: { ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1', MAX_BOTS: String(maxBots) },
        });
        return { status: 0, output: stdout };
      } catch (err) {
        const e = err as { status: number; stdout: string; stderr: string };
        return { status: e.status, output: `${e.stdout}${e.stderr}` };
      }
    };
    const info = 'INFO [plain/environment]: plain/environment: [HRB-CAP-3] suppressed: a trial while the licences are bought';

    const good = cdktfSynth(2, 'good');
    expect(good.status).toBe(0);
    expect(good.output).toContain(info);
    expect(good.output).not.toContain('WARN [');
    const tf = JSON.parse(fs.readFileSync(path.join(dir, 'good', 'stacks', 'plain', 'cdk.tf.json'), 'utf8'));
    expect(tf['//'].metadata.suppressedRules).toEqual([{ id: 'HRB-CAP-3', path: 'plain/environment', reason: 'a trial while the licences are bought' }]);

    const bad = cdktfSynth(60, 'bad');
    expect(bad.status).not.toBe(0);
    expect(bad.output).toContain('ERROR [plain/environment/g]: plain/environment/g: [HRB-CAP-1] maxBots 60 must be a whole number from 1 to 50');
    // No stack trace into the check: the message names the construct.
    expect(bad.output).not.toMatch(/reportFindings|SelfCheck/);
  }, 180_000);
});
