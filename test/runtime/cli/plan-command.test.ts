/**
 * `hosted-bots plan` and `hosted-bots apply`, end to end with the built CLI and the terraform on
 * PATH, on provider-free stacks laid out as cdktf writes them (cdktf.out/manifest.json and
 * cdktf.out/stacks/<stack>/cdk.tf.json, state in the project folder through a local backend),
 * made of `terraform_data` resources so that `terraform init` downloads nothing.
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { terraformFor } from '../../helpers/terraform';

const root = path.resolve(__dirname, '../../..');
const cli = path.join(root, 'dist/runtime/cli/main.js');
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-command-test-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

type Resources = Record<string, Record<string, unknown>>;

/** A project folder with a synth output of the given stacks (each: its terraform_data resources, and whether it is an environment stack). */
function project(name: string, stacks: Record<string, { resources: Resources; environment?: boolean; dependencies?: string[] }>): string {
  const dir = path.join(temp, name);
  const out = path.join(dir, 'cdktf.out');
  const manifest: Record<string, unknown> = {};
  for (const [stack, spec] of Object.entries(stacks)) {
    fs.mkdirSync(path.join(out, 'stacks', stack), { recursive: true });
    writeStack(dir, stack, spec.resources);
    if (spec.environment) {
      fs.writeFileSync(path.join(out, 'stacks', stack, 'fleet.json'), JSON.stringify({ environment: { name: stack, geography: 'Europe', region: 'northeurope', botCapacity: 1 }, groups: [] }));
    }
    manifest[stack] = { name: stack, constructPath: stack, synthesizedStackPath: `stacks/${stack}/cdk.tf.json`, workingDirectory: `stacks/${stack}`, dependencies: spec.dependencies ?? [] };
  }
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ version: '0.21.0', stacks: manifest }));
  return dir;
}

/** A stack's cdk.tf.json as cdktf writes it: a local backend whose state sits in the project folder. */
function writeStack(dir: string, stack: string, resources: Resources): void {
  const config = { terraform: { backend: { local: { path: `../../../terraform.${stack}.tfstate` } } }, resource: { terraform_data: resources } };
  fs.writeFileSync(path.join(dir, 'cdktf.out', 'stacks', stack, 'cdk.tf.json'), JSON.stringify(config, null, 2));
}

const stackDir = (dir: string, stack: string) => path.join(dir, 'cdktf.out', 'stacks', stack);
const planFile = (dir: string, stack: string) => path.join(stackDir(dir, stack), 'hosted-bots.tfplan');

function hostedBots(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
}

/** The resources in a stack's state, by name: their ID, input and triggers (terraform_data keeps the last two as typed values). */
function state(dir: string, stack: string): Record<string, { id: string; input: unknown; triggers: unknown }> {
  const file = path.join(dir, `terraform.${stack}.tfstate`);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  return Object.fromEntries(
    parsed.resources.map((r: any) => {
      const a = r.instances[0].attributes;
      return [r.name, { id: a.id, input: a.input?.value ?? null, triggers: a.triggers_replace?.value ?? null }];
    }),
  );
}

const v1: Resources = { settings: { input: 'one' }, pool: { triggers_replace: ['v1'], input: 'pool' } };
const v2: Resources = { settings: { input: 'one' }, pool: { triggers_replace: ['v2'], input: 'pool' } };

describe('hosted-bots plan and apply', () => {
  let terraform: string | undefined;
  beforeAll(() => {
    terraform = terraformFor('the plan and apply command tests');
  });

  test('a first plan only creates: exit code 0, the numbers, the plan saved; apply applies it and removes the spent plan', () => {
    if (!terraform) return;
    const dir = project('first', { bots: { resources: v1, environment: true } });
    const plan = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    expect(plan.stdout).toBe('bots\n    Terraform plan: 2 to create, 0 to update in place, 0 to replace, 0 to destroy\n\n1 change, 0 destructive\n');
    expect(plan.stderr).toContain('[1/1] bots: terraform init');
    expect(plan.stderr).toContain('[1/1] bots: terraform plan: done');
    expect(plan.status).toBe(0);
    expect(fs.existsSync(planFile(dir, 'bots'))).toBe(true);

    const apply = hostedBots(dir, ['apply', '--stack', 'bots']);
    expect(apply.stdout).toContain('Apply complete! Resources: 2 added, 0 changed, 0 destroyed. The saved plan hosted-bots.tfplan is spent and removed.');
    expect(apply.status).toBe(0);
    expect(state(dir, 'bots')).toEqual({ settings: expect.objectContaining({ input: 'one' }), pool: expect.objectContaining({ triggers: ['v1'] }) });
    expect(fs.existsSync(planFile(dir, 'bots'))).toBe(false);
  }, 120_000);

  test('a replacement: exit code 2 and the sentence naming the resource, its actions and triggers_replace, in text and Markdown', () => {
    if (!terraform) return;
    const dir = project('replace', { bots: { resources: v1, environment: true } });
    hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    hostedBots(dir, ['apply', '--stack', 'bots']);
    writeStack(dir, 'bots', v2);

    const text = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    expect(text.stdout).toContain('    Terraform plan: 0 to create, 0 to update in place, 1 to replace, 0 to destroy');
    expect(text.stdout).toContain(
      '  ! terraform_data.pool is replaced (destroyed, then created: actions delete, create): an attribute that cannot be updated in place changed; forced by triggers_replace\n',
    );
    expect(text.stdout).toContain('2 changes, 1 destructive (marked !): needs approval');
    expect(text.status).toBe(2);

    const markdown = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth', '--markdown']);
    expect(markdown.stdout).toMatch(/^### Terraform plan\n\n\*\*1 destructive change\*\* of 2: this needs approval before it is deployed\.\n/);
    expect(markdown.stdout).toContain('| ⚠️ destructive | bots | terraform_data.pool is replaced (destroyed, then created: actions delete, create)');
    expect(markdown.status).toBe(2);
  }, 120_000);

  test('apply applies exactly the saved plan, not the configuration changed after it', () => {
    if (!terraform) return;
    const dir = project('exact', { bots: { resources: v1, environment: true } });
    hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    hostedBots(dir, ['apply', '--stack', 'bots']);
    const before = state(dir, 'bots');
    writeStack(dir, 'bots', v2);
    expect(hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']).status).toBe(2);
    // Changed after the review: neither applied nor planned.
    writeStack(dir, 'bots', { settings: { input: 'three' }, pool: { triggers_replace: ['v3'], input: 'pool' } });

    const apply = hostedBots(dir, ['apply', '--stack', 'bots']);
    expect(apply.stdout).toContain('Apply complete! Resources: 1 added, 0 changed, 1 destroyed.');
    expect(apply.status).toBe(0);
    const after = state(dir, 'bots');
    expect(after.settings).toEqual(before.settings);
    expect(after.pool.triggers).toEqual(['v2']);
    expect(after.pool.id).not.toBe(before.pool.id);
  }, 120_000);

  test('a saved plan made stale by an apply since is refused by Terraform: exit code 1, its error shown', () => {
    if (!terraform) return;
    const dir = project('stale', { bots: { resources: v1, environment: true } });
    hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    const old = fs.readFileSync(planFile(dir, 'bots'));
    expect(hostedBots(dir, ['apply', '--stack', 'bots']).status).toBe(0);
    fs.writeFileSync(planFile(dir, 'bots'), old);
    const r = hostedBots(dir, ['apply', '--stack', 'bots']);
    expect(r.stderr).toContain('Saved plan is stale');
    expect(r.stderr).toContain('error: apply --stack bots: terraform apply exited with code 1; its error output is above');
    expect(r.status).toBe(1);
  }, 120_000);

  test('no changes: exit code 0 and says so', () => {
    if (!terraform) return;
    const dir = project('unchanged', { bots: { resources: v1, environment: true } });
    hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    hostedBots(dir, ['apply', '--stack', 'bots']);
    const r = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    expect(r.stdout).toContain('    Terraform plan: no changes\n');
    expect(r.status).toBe(0);
  }, 120_000);

  test('apply refuses without a saved plan: exit code 1, naming the file and what to run', () => {
    if (!terraform) return;
    const dir = project('unplanned', { bots: { resources: v1, environment: true } });
    const r = hostedBots(dir, ['apply', '--stack', 'bots']);
    expect(r.stderr).toContain(`apply --stack bots: no saved plan: ${planFile(dir, 'bots')} does not exist.`);
    expect(r.stderr).toContain('run hosted-bots plan --stack bots first');
    expect(r.status).toBe(1);
    expect(fs.existsSync(path.join(dir, 'terraform.bots.tfstate'))).toBe(false);
  });

  test('apply of an unknown stack names the stacks there', () => {
    if (!terraform) return;
    const dir = project('unknown', { bots: { resources: v1, environment: true } });
    const r = hostedBots(dir, ['apply', '--stack', 'bots-us']);
    expect(r.stderr).toContain(`apply --stack bots-us: ${stackDir(dir, 'bots-us')} does not exist (stacks there: bots)`);
    expect(r.status).toBe(1);
  });

  test('apply in a fresh job: the project copied without .terraform, as a pipeline artifact, is initialized and applied', () => {
    if (!terraform) return;
    const dir = project('artifact', { bots: { resources: v1, environment: true } });
    expect(hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']).status).toBe(0);
    const job = path.join(temp, 'artifact-job');
    fs.cpSync(dir, job, { recursive: true });
    fs.rmSync(path.join(stackDir(job, 'bots'), '.terraform'), { recursive: true, force: true });

    const r = hostedBots(job, ['apply', '--stack', 'bots']);
    expect(r.stdout).toContain('apply bots: terraform init');
    expect(r.stdout).toContain('Apply complete! Resources: 2 added');
    expect(r.status).toBe(0);
  }, 120_000);

  test('a folder whose initialization no longer fits (an empty .terraform): terraform asks for init, which runs, then the plan', () => {
    if (!terraform) return;
    const dir = project('reinit', { bots: { resources: v1, environment: true } });
    fs.mkdirSync(path.join(stackDir(dir, 'bots'), '.terraform'));
    const r = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    expect(r.stderr).toContain('[1/1] bots: terraform plan asks for terraform init; running it');
    expect(r.stdout).toContain('Terraform plan: 2 to create');
    expect(r.status).toBe(0);
  }, 120_000);

  test('a failed plan: exit code 1, terraform\'s error output shown, and no older plan left behind', () => {
    if (!terraform) return;
    const dir = project('broken', { bots: { resources: v1, environment: true } });
    expect(hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']).status).toBe(0);
    writeStack(dir, 'bots', { settings: { input: '${terraform_data.missing.output}' } });
    const r = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    expect(r.stderr).toContain('Reference to undeclared resource');
    expect(r.stderr).toContain('error: stack bots: terraform plan exited with code 1; its error output is above');
    expect(r.status).toBe(1);
    expect(fs.existsSync(planFile(dir, 'bots'))).toBe(false);
    expect(hostedBots(dir, ['apply', '--stack', 'bots']).status).toBe(1);
  }, 120_000);

  test('without --stack: every environment and image stack, in dependency order; other stacks left out', () => {
    if (!terraform) return;
    const dir = project('all', {
      'bots-us': { resources: v1, environment: true, dependencies: ['bots-europe'] },
      'bots-europe': { resources: v1, environment: true },
      tooling: { resources: v1 },
    });
    const r = hostedBots(dir, ['plan', '--skip-synth']);
    expect(r.stderr).toContain('plan: bots-europe, bots-us (terraform ');
    expect(r.stdout.split('\n').filter((l) => /^\S/.test(l) && !/changes?,/.test(l))).toEqual(['bots-europe', 'bots-us']);
    expect(r.status).toBe(0);
    expect(fs.existsSync(planFile(dir, 'tooling'))).toBe(false);
  }, 120_000);

  test('--skip-synth on an output without manifest.json: the named stack is planned; without --stack, an error saying to name one', () => {
    if (!terraform) return;
    const dir = project('no-manifest', { bots: { resources: v1, environment: true } });
    fs.rmSync(path.join(dir, 'cdktf.out', 'manifest.json'));
    const named = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth']);
    expect(named.stdout).toContain('Terraform plan: 2 to create');
    expect(named.status).toBe(0);
    const unnamed = hostedBots(dir, ['plan', '--skip-synth']);
    expect(unnamed.stderr).toContain(`error: ${path.join(dir, 'cdktf.out')} has no manifest.json to list its stacks; name them with --stack, or synthesize first`);
    expect(unnamed.status).toBe(1);
  }, 120_000);

  test('a stack the synth output does not have: exit code 1, listing the stacks it has', () => {
    if (!terraform) return;
    const dir = project('misnamed', { bots: { resources: v1, environment: true } });
    const r = hostedBots(dir, ['plan', '--stack', 'bots-eu', '--skip-synth']);
    expect(r.stderr).toContain('plan: "bots-eu" is not a stack of this app; its stacks are: bots');
    expect(r.status).toBe(1);
  });
});

describe('hosted-bots plan of a CDKTF app', () => {
  test('synthesizes first, then plans the fresh output', () => {
    const terraform = terraformFor('the plan command test with a synth');
    if (!terraform) return;
    const dir = path.join(temp, 'app');
    fs.mkdirSync(dir, { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'node main.js', terraformProviders: [], sendCrashReports: 'false' }));
    fs.writeFileSync(
      path.join(dir, 'main.js'),
      [
        "const { App, DataResource, LocalBackend, TerraformStack } = require('cdktf');",
        'const app = new App();',
        "const stack = new TerraformStack(app, 'bots');",
        "new LocalBackend(stack, { path: 'terraform.bots.tfstate' });",
        "new DataResource(stack, 'pool', { triggersReplace: ['v1'] });",
        'app.synth();',
        '',
      ].join('\n'),
    );
    const r = hostedBots(dir, ['plan', '--stack', 'bots']);
    expect(r.stderr).toMatch(/synth: done in .* \(.*cdktf\.out\)/);
    expect(r.stdout).toContain('Terraform plan: 1 to create, 0 to update in place, 0 to replace, 0 to destroy');
    expect(r.status).toBe(0);
    expect(fs.existsSync(planFile(dir, 'bots'))).toBe(true);
  }, 180_000);
});

describe('hosted-bots plan without terraform', () => {
  test('exit code 1, saying where to get it', () => {
    const dir = project('no-terraform', { bots: { resources: v1, environment: true } });
    const empty = fs.mkdtempSync(path.join(temp, 'empty-path-'));
    const r = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth'], { PATH: empty, HOSTED_BOTS_TERRAFORM: '' });
    expect(r.stderr).toContain('error: terraform was not found on PATH: install Terraform 1.11 or later');
    expect(r.status).toBe(1);
  });

  test('an older terraform is refused, naming its version', () => {
    const dir = project('old-terraform', { bots: { resources: v1, environment: true } });
    const fake = path.join(temp, 'terraform-1.5');
    fs.writeFileSync(fake, '#!/bin/sh\necho \'{"terraform_version":"1.5.7"}\'\n', { mode: 0o755 });
    const r = hostedBots(dir, ['plan', '--stack', 'bots', '--skip-synth'], { HOSTED_BOTS_TERRAFORM: fake });
    expect(r.stderr).toContain(`error: ${fake} is Terraform 1.5.7; the stacks need 1.11 or later`);
    expect(r.status).toBe(1);
  });
});

describe('help', () => {
  test('plan and apply describe the command and every option', () => {
    const plan = hostedBots(root, ['plan', '--help']).stdout.replace(/\s+/g, ' ');
    expect(plan).toContain('Usage: hosted-bots plan [options]');
    for (const option of ['--stack <stacks...>', '--markdown', '--skip-synth', '--app <command>', '--output <dir>', '--verbose']) expect(plan).toContain(option);
    expect(plan).toContain('2: something is, so a pipeline asks for approval');
    const apply = hostedBots(root, ['apply', '--help']).stdout.replace(/\s+/g, ' ');
    expect(apply).toContain('Usage: hosted-bots apply [options]');
    for (const option of ['--stack <stack>', '--output <dir>', '--verbose']) expect(apply).toContain(option);
    expect(apply).toContain('Refuses when there is no saved plan');
  });
});
