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
import { AZURE_DEPLOY_CREDENTIALS, GITHUB_DEPLOY_CREDENTIALS, azureCredentials, azureDocument, azureOutline, azureStages, githubCredentials, githubOutline, githubWorkflow } from '../../helpers/pipelines';

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

test('every bad flag is reported at once, each with its value and rule, and nothing is written', () => {
  const dir = fresh();
  let error: Error | undefined;
  try {
    initFleetRepo(dir, { geography: 'Mars', environment: 'Prod_1', group: 'Finance', pipeline: 'gitlab', mainBranch: '-x' });
  } catch (err) {
    error = err as Error;
  }
  expect(error).toBeInstanceOf(InitError);
  expect(error!.message.split('\n')).toEqual([
    'init found 5 problems in its flags:',
    expect.stringMatching(/^ {2}--geography "Mars" is not supported: /),
    expect.stringMatching(/^ {2}--environment "Prod_1" must be 1-24 lowercase letters/),
    expect.stringMatching(/^ {2}--group "Finance" must be .*lowercase letters/),
    '  --pipeline "gitlab" is not a pipeline the scaffold writes: use one of github, azure',
    expect.stringMatching(/^ {2}--main-branch "-x" must be a git branch name/),
  ]);
  expect(fs.existsSync(dir)).toBe(false);
});

test('the command prints every bad flag, exit code 1', () => {
  const result = spawnSync(process.execPath, [cli, 'init', fresh(), '--geography', 'Europe,Mars', '--group', 'Finance'], { encoding: 'utf8' });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/^error: init found 2 problems in its flags:\n {2}--geography "Mars" is not supported: .*\n {2}--group "Finance" must be/);
});

test.each([
  ['Europe,US,', /--geography "Europe,US," has an empty name/],
  ['Europe,europe', /--geography "Europe,europe" lists Europe twice; list each geography once/],
])('--geography %j is refused, naming the value and the rule', (geography, message) => {
  expect(() => fleetRepoFiles(fresh(), { geography })).toThrow(message);
});

test('one geography: one stack, named after the environment, whatever the case typed', () => {
  const { files, stacks } = fleetRepoFiles(fresh(), { geography: 'japan', environment: 'rpa-jp', group: 'logistics' });
  expect(stacks).toEqual(['rpa-jp']);
  const main = files.get('main.ts')!;
  expect(main).toContain("declarePromotionOrder([\n  environmentStack('rpa-jp', 'Japan'),\n]);");
  expect(main).toContain("stack.environment.addGroup('logistics'");
  expect(main).toContain("environment: { name: 'rpa-jp',");
});

test('several geographies: one stack each, in the order given, which main.ts declares as the promotion order', () => {
  const { files, stacks } = fleetRepoFiles(fresh(), { geography: 'EUROPE, us,Japan' });
  expect(stacks).toEqual(['prod-europe', 'prod-us', 'prod-japan']);
  expect(files.get('main.ts')).toContain(
    "declarePromotionOrder([\n  environmentStack('prod-europe', 'Europe'),\n  environmentStack('prod-us', 'US'),\n  environmentStack('prod-japan', 'Japan'),\n]);",
  );
});

test('main.ts refuses to synthesize in a pipeline without remote state: remoteState goes through requireRemoteStateInPipelines', () => {
  const main = fleetRepoFiles(fresh()).files.get('main.ts')!;
  expect(main).toContain('const remoteState: BotStackBackend | undefined = undefined;');
  expect(main).toContain("backend: requireRemoteStateInPipelines(remoteState, 'remoteState'),");
});

test.each(['github', 'azure'])('init --pipeline %s writes nothing that reads or looks up the runner\'s public address', (pipeline) => {
  for (const [file, text] of fleetRepoFiles(fresh(), { pipeline, geography: 'Europe,US' }).files) {
    expect({ file, deployerIps: /HOSTED_BOTS_DEPLOYER_IPS|deployerIpRanges|ipify/.test(text) }).toEqual({ file, deployerIps: false });
  }
});

describe('the GitHub Actions workflow init writes', () => {
  const stacks = ['prod-europe', 'prod-us'];
  const workflow = () => githubWorkflow(fleetRepoFiles(fresh(), { pipeline: 'github', geography: 'Europe,US', mainBranch: 'trunk' }).files.get('.github/workflows/fleet.yml')!);
  const job = (id: string) => workflow().jobs.find((j) => j.id === id)!;

  test('is .github/workflows/fleet.yml, and runs on pull requests into and pushes to the main branch', () => {
    const { files } = fleetRepoFiles(fresh(), { pipeline: 'github', mainBranch: 'trunk' });
    expect([...files.keys()]).toEqual(['package.json', 'cdktf.json', 'tsconfig.json', 'main.ts', '.gitignore', '.github/workflows/fleet.yml']);
    expect(files.get('.github/workflows/fleet.yml')).toContain('pull_request:\n    branches: [trunk]\n  push:\n    branches: [trunk]');
  });

  test('one plan job and one deploy job per geography, in promotion order: each stack is planned after the one before is deployed', () => {
    const w = workflow();
    expect(w.jobs.map((j) => j.id)).toEqual(['review', 'comment', 'plan-prod-europe', 'deploy-prod-europe', 'plan-prod-us', 'deploy-prod-us']);
    expect(w.jobs.map((j) => [j.id, j.needs])).toEqual([
      ['review', []],
      ['comment', ['review']],
      ['plan-prod-europe', []],
      ['deploy-prod-europe', ['plan-prod-europe']],
      ['plan-prod-us', ['deploy-prod-europe']],
      ['deploy-prod-us', ['plan-prod-us']],
    ]);
    for (const stack of stacks) expect(job(`plan-${stack}`).if).toBe("github.event_name != 'pull_request'");
  });

  test.each(stacks)('deploy-%s waits for the approval of its GitHub environment; nothing else does', (stack) => {
    expect(job(`deploy-${stack}`).environment).toBe(stack);
    expect(workflow().jobs.filter((j) => j.environment).map((j) => j.id)).toEqual(stacks.map((s) => `deploy-${s}`));
  });

  test.each(stacks)('plan-%s saves the plan with its stack folder, lock file included, providers not, as an artifact', (stack) => {
    expect(githubOutline(job(`plan-${stack}`).steps)).toEqual([
      `hosted-bots plan --stack ${stack} --markdown > plan.md`,
      `rm -rf cdktf.out/stacks/${stack}/.terraform`,
      `upload plan-${stack} from cdktf.out/stacks/${stack} (hidden files too)`,
    ]);
  });

  test.each(stacks)('deploy-%s downloads exactly that artifact into the stack folder, applies the saved plan, then gates on health and the self-test', (stack) => {
    expect(githubOutline(job(`deploy-${stack}`).steps)).toEqual([
      `download plan-${stack} to cdktf.out/stacks/${stack}`,
      `hosted-bots apply --stack ${stack}`,
      `url="$(terraform -chdir=cdktf.out/stacks/${stack} output -raw runtime_url)"`,
      'hosted-bots gate --url "$url" --smoke finance/hosted-bots-self-test --smoke-timeout 1800 --health-timeout 600',
    ]);
    // The saved plan holds the variables' values: applying it needs none.
    expect(Object.keys(job(`deploy-${stack}`).env).filter((k) => k.startsWith('TF_VAR_'))).toEqual([]);
  });

  // README, "Deploying from a pipeline": a plan job needs the Azure sign-in (OIDC), ARM_SUBSCRIPTION_ID
  // and the admin password; a deploy job the sign-in and the audience of its gate's token.
  test.each(stacks)('plan-%s signs in to Azure with OIDC and sets ARM_SUBSCRIPTION_ID and TF_VAR_bot_admin_password', (stack) => {
    expect(githubCredentials(job(`plan-${stack}`))).toEqual({
      oidc: true,
      subscription: '${{ vars.AZURE_SUBSCRIPTION_ID }}',
      adminPassword: '${{ secrets.BOT_ADMIN_PASSWORD }}',
      cliSignedIn: false,
      gateAudience: undefined,
    });
  });

  test.each(stacks)('deploy-%s signs in to Azure, Terraform with OIDC and the CLI before the gate, which gets its token for HOSTED_BOTS_AUDIENCE', (stack) => {
    expect(githubCredentials(job(`deploy-${stack}`))).toEqual(GITHUB_DEPLOY_CREDENTIALS);
  });

  test('the review job synthesizes and diffs with no cloud credentials: no secrets, no Azure sign-in, no ARM_ or TF_VAR_ values, no tokens', () => {
    const w = workflow();
    const review = job('review');
    expect(review.if).toBe("github.event_name == 'pull_request'");
    expect(githubOutline(review.steps)).toEqual(['hosted-bots synth', 'hosted-bots diff --base "origin/$BASE_REF" --to cdktf.out --markdown > fleet-diff.md', 'upload fleet-diff from fleet-diff.md']);
    const text = JSON.stringify(review);
    expect(text.match(/secrets\.|azure\/login|ARM_|TF_VAR_|id-token|github\.token/g)).toBeNull();
    expect(review.permissions).toBeUndefined();
    expect(w.permissions).toEqual({ contents: 'read' });
    expect(review.steps[0]).toMatchObject({ uses: 'actions/checkout@v4', with: { 'fetch-depth': 0, 'persist-credentials': false } });
    // What every job sees: settings of the app, none of them a secret or a credential.
    expect(JSON.stringify(w.env).match(/secrets\.|ARM_|TF_VAR_/g)).toBeNull();
  });

  test('the comment job posts the diff in Markdown on the pull request, with the only token of the pull request jobs', () => {
    const comment = job('comment');
    expect(comment.permissions).toEqual({ 'pull-requests': 'write' });
    expect(githubOutline(comment.steps)).toEqual(['download fleet-diff to .']);
    const post = comment.steps.find((s) => s.run?.includes('gh pr comment'))!;
    expect(post.run).toBe('gh pr comment "$PR" --body-file fleet-diff.md --edit-last || gh pr comment "$PR" --body-file fleet-diff.md');
    expect(post.env).toMatchObject({ GH_TOKEN: '${{ github.token }}', PR: '${{ github.event.pull_request.number }}' });
    // After a destructive diff too, which fails the review job.
    expect(comment.if).toContain("needs.review.outputs.diff-code == '2'");
    expect(job('review').outputs).toEqual({ 'diff-code': '${{ steps.diff.outputs.code }}' });
  });
});

describe('the Azure Pipelines definition init writes', () => {
  const stacks = ['prod-europe', 'prod-us'];
  const text = () => fleetRepoFiles(fresh(), { pipeline: 'azure', geography: 'Europe,US' }).files.get('azure-pipelines.yml')!;
  const stage = (name: string) => azureStages(text()).find((s) => s.name === name)!;

  test('is azure-pipelines.yml: a review stage, then per geography in promotion order a plan stage and a deploy stage', () => {
    const { files } = fleetRepoFiles(fresh(), { pipeline: 'azure' });
    expect(files.has('.github/workflows/fleet.yml')).toBe(false);
    expect(files.has('azure-pipelines.yml')).toBe(true);
    expect(azureStages(text()).map((s) => [s.name, s.dependsOn])).toEqual([
      ['review', []],
      ['plan_prod_europe', []],
      ['deploy_prod_europe', ['plan_prod_europe']],
      ['plan_prod_us', ['deploy_prod_europe']],
      ['deploy_prod_us', ['plan_prod_us']],
    ]);
  });

  test.each(stacks)('deploy %s is a deployment job on the environment of the same name, which holds the approvals', (stack) => {
    const [deploy] = stage(`deploy_${stack.replace('-', '_')}`).jobs;
    expect({ kind: deploy.kind, environment: deploy.environment }).toEqual({ kind: 'deployment', environment: stack });
    expect(azureStages(text()).flatMap((s) => s.jobs).filter((j) => j.kind === 'deployment').map((j) => j.environment)).toEqual(stacks);
  });

  test.each(stacks)('plan %s publishes the stack folder with the saved plan, without its providers', (stack) => {
    const [plan] = stage(`plan_${stack.replace('-', '_')}`).jobs;
    expect(azureOutline(plan.stepList)).toEqual([
      `hosted-bots plan --stack ${stack} --markdown > plan.md`,
      `rm -rf cdktf.out/stacks/${stack}/.terraform`,
      `upload plan-${stack} from cdktf.out/stacks/${stack}`,
    ]);
  });

  test.each(stacks)('deploy %s downloads exactly that artifact, applies it, then gates on health and the self-test', (stack) => {
    const [deploy] = stage(`deploy_${stack.replace('-', '_')}`).jobs;
    expect(deploy.stepList[0]).toEqual({ download: 'none' });
    expect(azureOutline(deploy.stepList)).toEqual([
      `download plan-${stack} to cdktf.out/stacks/${stack}`,
      `hosted-bots apply --stack ${stack}`,
      `url="$(terraform -chdir=cdktf.out/stacks/${stack} output -raw runtime_url)"`,
      'hosted-bots gate --url "$url" --smoke finance/hosted-bots-self-test --smoke-timeout 1800 --health-timeout 600',
    ]);
  });

  // README, "Deploying from a pipeline": a plan job needs the Azure sign-in (OIDC), ARM_SUBSCRIPTION_ID
  // and the admin password; a deploy job the sign-in and the audience of its gate's token.
  test.each(stacks)('plan %s signs in through the service connection with OIDC and exports ARM_SUBSCRIPTION_ID and TF_VAR_bot_admin_password before the plan', (stack) => {
    expect(azureCredentials(stage(`plan_${stack.replace('-', '_')}`), 'plan')).toEqual({
      serviceConnection: 'hosted-bots',
      oidc: true,
      subscription: '$(az account show --query id -o tsv)',
      adminPassword: '$(BOT_ADMIN_PASSWORD)',
      cliSignedIn: true,
      gateAudience: undefined,
      variableGroups: ['hosted-bots'],
    });
  });

  test.each(stacks)('deploy %s signs in through the service connection with OIDC, and the gate gets its token for HOSTED_BOTS_AUDIENCE', (stack) => {
    expect(azureCredentials(stage(`deploy_${stack.replace('-', '_')}`), 'apply')).toEqual(AZURE_DEPLOY_CREDENTIALS);
  });

  test('the review stage\'s diff job synthesizes and diffs with no cloud credentials: no service connection, no variable group, no secrets', () => {
    const review = stage('review');
    expect(review.condition).toBe("eq(variables['Build.Reason'], 'PullRequest')");
    expect(review.variables).toBeUndefined();
    expect(azureDocument(text()).variables).toBeUndefined();
    const diff = review.jobs.find((j) => j.name === 'diff')!;
    expect(azureOutline(diff.stepList)).toEqual([
      'hosted-bots synth',
      'hosted-bots diff --base "origin/$target" --to cdktf.out --markdown > fleet-diff.md',
      'upload fleet-diff from fleet-diff.md',
    ]);
    expect(JSON.stringify(diff).match(/AzureCLI|azureSubscription|ARM_|TF_VAR_|AccessToken|BOT_ADMIN_PASSWORD/g)).toBeNull();
  });

  test('the review stage\'s comment job posts the diff in Markdown as a pull request thread', () => {
    const comment = stage('review').jobs.find((j) => j.name === 'comment')!;
    expect(comment.dependsOn).toBe('diff');
    expect(comment.condition).toBe("and(not(canceled()), in(dependencies.diff.outputs['diff.code'], '0', '2'))");
    expect(azureOutline(comment.stepList)).toEqual(['download fleet-diff to $(Pipeline.Workspace)/fleet-diff']);
    const post = comment.stepList.find((s) => String(s.script).includes('pullRequests'))!;
    expect(post.script).toContain('/pullRequests/$(System.PullRequest.PullRequestId)/threads?api-version=7.1');
    expect(post.script).toContain('"$(Pipeline.Workspace)/fleet-diff/fleet-diff.md"');
    expect(post.env).toEqual({ SYSTEM_ACCESSTOKEN: '$(System.AccessToken)' });
  });
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

test('.gitignore keeps dependencies, synth output and state out of git', () => {
  const ignore = fleetRepoFiles(fresh()).files.get('.gitignore')!.split('\n');
  expect(ignore).toEqual(expect.arrayContaining(['node_modules/', 'cdktf.out/', '.cdktf.out.*/', '*.tfstate*', '.terraform/']));
});

test(
  'hosted-bots init with two geographies, the packed tarball installed: cdktf synth in a pipeline refuses undefined remote state, naming remoteState; filled in, it synthesizes one stack per geography without any cloud credential',
  () => {
    const app = path.join(tmp, 'my-fleet');
    const init = spawnSync(process.execPath, [cli, 'init', app, '--geography', 'uk,Japan', '--environment', 'ops', '--group', 'payroll'], { encoding: 'utf8' });
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    expect(init.stdout).toContain('.github/workflows/fleet.yml');
    expect(init.stdout).toContain('Stacks, in promotion order: ops-uk, ops-japan');

    installPacked(app, packTarball(path.join(tmp, 'pack')));
    // As the pull request job runs it: CI=true, and no cloud credential or Terraform variable.
    const env = Object.fromEntries(Object.entries({ ...process.env, CI: 'true', CHECKPOINT_DISABLE: '1' }).filter(([k]) => !/^(ARM_|TF_VAR_|AZURE_)/.test(k)));
    const synth = () => spawnSync(path.join(app, 'node_modules', '.bin', 'cdktf'), ['synth'], { cwd: app, encoding: 'utf8', env });

    const refused = synth();
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('remoteState is undefined, and this synth runs in a pipeline (CI=true)');
    expect(refused.stdout + refused.stderr).toContain('then set remoteState in main.ts to { resourceGroupName, storageAccountName, containerName }');

    const main = path.join(app, 'main.ts');
    fs.writeFileSync(
      main,
      fs.readFileSync(main, 'utf8').replace(
        'const remoteState: BotStackBackend | undefined = undefined;',
        "const remoteState: BotStackBackend | undefined = { resourceGroupName: 'rg-tfstate', storageAccountName: 'tfstateops', containerName: 'tfstate' };",
      ),
    );
    const done = synth();
    expect({ status: done.status, out: done.stdout.slice(-2000) }).toEqual({ status: 0, out: expect.stringContaining('Generated Terraform code for the stacks: ops-japan, ops-uk') });

    for (const [stack, geography, region] of [['ops-uk', 'UK', 'ukwest'], ['ops-japan', 'Japan', 'japaneast']]) {
      const dir = path.join(app, 'cdktf.out', 'stacks', stack);
      const tf = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8'));
      expect(Object.keys(tf.resource)).toContain('azurerm_orchestrated_virtual_machine_scale_set');
      expect(tf.terraform.backend.azurerm).toMatchObject({ key: `${stack}.tfstate`, storage_account_name: 'tfstateops' });
      const fleet = JSON.parse(fs.readFileSync(path.join(dir, 'fleet.json'), 'utf8'));
      expect(fleet.environment).toMatchObject({ name: 'ops', geography, region });
      expect(fleet.groups.map((g: { name: string }) => g.name)).toEqual(['payroll']);
      expect(fleet.promotion).toEqual({ order: ['ops-uk', 'ops-japan'] });
    }
  },
  240_000,
);
