/**
 * The pipeline examples: the GitHub Actions workflow passes a workflow validator
 * (@action-validator/core, GitHub's workflow schema, offline), and the Azure Pipelines file
 * parses with its stages in order, each with jobs and steps. Both plan each stack, keep the plan
 * with the stack's folder as an artifact, and apply exactly that artifact behind the approval of
 * the stack's environment; pull requests are diffed without cloud credentials. The same checks
 * for the pipeline files `hosted-bots init` writes are in test/runtime/cli/init.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fleetRepoFiles } from '../../runtime/cli/init';
import { AZURE_DEPLOY_CREDENTIALS, GITHUB_DEPLOY_CREDENTIALS, azureCredentials, azureDocument, azureOutline, azureStageProblems, azureStages, githubCredentials, githubOutline, githubWorkflow, validateWorkflow } from '../helpers/pipelines';

const dir = path.resolve(__dirname, '..', '..', 'examples', 'pipelines');
const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');

describe('GitHub Actions', () => {
  test('examples/pipelines/github-actions.yml passes the workflow validator', () => {
    expect(validateWorkflow(read('github-actions.yml'))).toEqual([]);
  });

  test('a step that both uses an action and runs a script is refused', () => {
    const broken = read('github-actions.yml').replace('      - run: npm ci\n', '      - run: npm ci\n        uses: actions/cache@v4\n');
    expect(broken).not.toBe(read('github-actions.yml'));
    expect(validateWorkflow(broken).length).toBeGreaterThan(0);
  });

  test('a job without runs-on is refused, naming the job', () => {
    const errors = validateWorkflow('on: push\njobs:\n  build:\n    steps:\n      - run: echo hi\n');
    expect(errors.join('\n')).toMatch(/\/jobs\/build/);
  });

  test('a workflow that is not YAML is refused', () => {
    expect(validateWorkflow('on: [push\njobs: {').length).toBeGreaterThan(0);
  });
});

/** The example's stacks in deploy order; the environment stacks are gated on their runtime. */
const STACKS = ['bot-images', 'bots-europe', 'bots-us'];
const gated = (stack: string) => stack !== 'bot-images';

test.each(['github-actions.yml', 'azure-pipelines.yml'])('%s neither reads nor looks up the runner\'s public address', (file) => {
  expect(read(file)).not.toMatch(/HOSTED_BOTS_DEPLOYER_IPS|ipify/);
});

describe('examples/pipelines/github-actions.yml', () => {
  const workflow = () => githubWorkflow(read('github-actions.yml'));
  const job = (id: string) => workflow().jobs.find((j) => j.id === id)!;

  test('a plan job and a deploy job per stack, in order: each stack is planned after the one before is deployed', () => {
    expect(workflow().jobs.map((j) => [j.id, j.needs])).toEqual([
      ['fleet-diff', []],
      ['comment', ['fleet-diff']],
      ['plan-bot-images', []],
      ['deploy-bot-images', ['plan-bot-images']],
      ['plan-bots-europe', ['deploy-bot-images']],
      ['deploy-bots-europe', ['plan-bots-europe']],
      ['plan-bots-us', ['deploy-bots-europe']],
      ['deploy-bots-us', ['plan-bots-us']],
    ]);
  });

  test('only the deploy jobs wait for an approval, each of its own environment', () => {
    expect(workflow().jobs.filter((j) => j.environment).map((j) => [j.id, j.environment])).toEqual(STACKS.map((s) => [`deploy-${s}`, s]));
  });

  test.each(STACKS)('%s: the plan is saved with its stack folder, and exactly that artifact is applied, then gated', (stack) => {
    expect(githubOutline(job(`plan-${stack}`).steps)).toEqual([
      `hosted-bots plan --stack ${stack} --app "$APP" --markdown > plan.md`,
      `rm -rf cdktf.out/stacks/${stack}/.terraform`,
      `upload plan-${stack} from cdktf.out/stacks/${stack} (hidden files too)`,
    ]);
    expect(githubOutline(job(`deploy-${stack}`).steps)).toEqual([
      `download plan-${stack} to cdktf.out/stacks/${stack}`,
      `hosted-bots apply --stack ${stack}`,
      ...(gated(stack)
        ? [`url="$(terraform -chdir=cdktf.out/stacks/${stack} output -raw runtime_url)"`, 'hosted-bots gate --url "$url" --smoke finance/hosted-bots-self-test --smoke-timeout 1800 --health-timeout 600']
        : []),
    ]);
  });

  // README, "Deploying from a pipeline": a plan job needs the Azure sign-in (OIDC), ARM_SUBSCRIPTION_ID
  // and the admin password (the image stack has no bots, so no password); a deploy job the sign-in
  // and the audience of its gate's token.
  test.each(STACKS)('plan-%s signs in to Azure with OIDC and sets ARM_SUBSCRIPTION_ID, and the admin password for an environment stack', (stack) => {
    expect(githubCredentials(job(`plan-${stack}`))).toEqual({
      oidc: true,
      subscription: '${{ vars.AZURE_SUBSCRIPTION_ID }}',
      adminPassword: gated(stack) ? '${{ secrets.BOT_ADMIN_PASSWORD }}' : undefined,
      cliSignedIn: false,
      gateAudience: undefined,
    });
  });

  test.each(STACKS.filter(gated))('deploy-%s signs in to Azure, Terraform with OIDC and the CLI before the gate, which gets its token for HOSTED_BOTS_AUDIENCE', (stack) => {
    expect(githubCredentials(job(`deploy-${stack}`))).toEqual(GITHUB_DEPLOY_CREDENTIALS);
  });

  test('the pull request job synthesizes and diffs with no cloud credentials; the comment job posts the diff', () => {
    const diff = job('fleet-diff');
    expect(githubOutline(diff.steps)).toEqual([
      'hosted-bots synth --app "$APP"',
      `hosted-bots diff --base "origin/$BASE_REF" --to cdktf.out --app "$APP" --base-build 'npm run build' --markdown > fleet-diff.md`,
      'upload fleet-diff from fleet-diff.md',
    ]);
    expect(JSON.stringify(diff).match(/secrets\.|azure\/login|ARM_|TF_VAR_|id-token|github\.token/g)).toBeNull();
    expect(JSON.stringify(workflow().env).match(/secrets\.|ARM_|TF_VAR_/g)).toBeNull();
    expect(workflow().permissions).toEqual({ contents: 'read' });
    const comment = job('comment');
    expect(comment.permissions).toEqual({ 'pull-requests': 'write' });
    expect(githubOutline(comment.steps)).toEqual(['download fleet-diff to .']);
    expect(comment.steps.some((s) => s.run?.startsWith('gh pr comment "$PR" --body-file fleet-diff.md'))).toBe(true);
  });
});

describe('Azure Pipelines', () => {
  test('examples/pipelines/azure-pipelines.yml has its stages in order, each with jobs and steps', () => {
    const stages = azureStages(read('azure-pipelines.yml'));
    // The fleet diff on pull requests; on the main branch, a plan stage and a deploy stage per stack.
    expect(stages.map((s) => [s.name, s.dependsOn])).toEqual([
      ['fleet_diff', []],
      ['plan_bot_images', []],
      ['deploy_bot_images', ['plan_bot_images']],
      ['plan_bots_europe', ['deploy_bot_images']],
      ['deploy_bots_europe', ['plan_bots_europe']],
      ['plan_bots_us', ['deploy_bots_europe']],
      ['deploy_bots_us', ['plan_bots_us']],
    ]);
    for (const s of stages) {
      expect(s.jobs.length).toBeGreaterThan(0);
      for (const j of s.jobs) expect(j.steps).toBeGreaterThan(0);
    }
    expect(azureStageProblems(stages)).toEqual([]);
  });

  test.each(STACKS)('%s: the plan is published with its stack folder, and a deployment job on its environment applies exactly that artifact, then gates', (stack) => {
    const stages = azureStages(read('azure-pipelines.yml'));
    const name = stack.replace(/-/g, '_');
    const [plan] = stages.find((s) => s.name === `plan_${name}`)!.jobs;
    const [deploy] = stages.find((s) => s.name === `deploy_${name}`)!.jobs;
    expect(azureOutline(plan.stepList)).toEqual([
      `hosted-bots plan --stack ${stack} --app "$(APP)" --markdown > plan.md`,
      `rm -rf cdktf.out/stacks/${stack}/.terraform`,
      `upload plan-${stack} from cdktf.out/stacks/${stack}`,
    ]);
    expect({ kind: deploy.kind, environment: deploy.environment }).toEqual({ kind: 'deployment', environment: stack });
    expect(azureOutline(deploy.stepList)).toEqual([
      `download plan-${stack} to cdktf.out/stacks/${stack}`,
      `hosted-bots apply --stack ${stack}`,
      ...(gated(stack)
        ? [`url="$(terraform -chdir=cdktf.out/stacks/${stack} output -raw runtime_url)"`, 'hosted-bots gate --url "$url" --smoke finance/hosted-bots-self-test --smoke-timeout 1800 --health-timeout 600']
        : []),
    ]);
  });

  // README, "Deploying from a pipeline", as for the GitHub Actions workflow.
  test.each(STACKS)('plan %s signs in through the service connection with OIDC and exports ARM_SUBSCRIPTION_ID, and the admin password for an environment stack', (stack) => {
    const stage = azureStages(read('azure-pipelines.yml')).find((s) => s.name === `plan_${stack.replace(/-/g, '_')}`)!;
    expect(azureCredentials(stage, 'plan')).toEqual({
      serviceConnection: 'hosted-bots',
      oidc: true,
      subscription: '$(az account show --query id -o tsv)',
      adminPassword: gated(stack) ? '$(BOT_ADMIN_PASSWORD)' : undefined,
      cliSignedIn: true,
      gateAudience: undefined,
      variableGroups: ['hosted-bots'],
    });
  });

  test.each(STACKS.filter(gated))('deploy %s signs in through the service connection with OIDC, and the gate gets its token for HOSTED_BOTS_AUDIENCE', (stack) => {
    const stage = azureStages(read('azure-pipelines.yml')).find((s) => s.name === `deploy_${stack.replace(/-/g, '_')}`)!;
    expect(azureCredentials(stage, 'apply')).toEqual(AZURE_DEPLOY_CREDENTIALS);
  });

  test('the pull request\'s diff job has no cloud credentials; its comment job posts the diff as a thread', () => {
    const text = read('azure-pipelines.yml');
    const review = azureStages(text).find((s) => s.name === 'fleet_diff')!;
    expect(review.variables).toBeUndefined();
    expect(JSON.stringify(azureDocument(text).variables)).not.toMatch(/group/);
    const diff = review.jobs.find((j) => j.name === 'diff')!;
    expect(azureOutline(diff.stepList)).toEqual([
      'hosted-bots synth --app "$(APP)"',
      `hosted-bots diff --base "origin/$target" --to cdktf.out --app "$(APP)" --base-build 'npm run build' --markdown > fleet-diff.md`,
      'upload fleet-diff from fleet-diff.md',
    ]);
    expect(JSON.stringify(diff).match(/AzureCLI|azureSubscription|ARM_|TF_VAR_|AccessToken|BOT_ADMIN_PASSWORD/g)).toBeNull();
    const comment = review.jobs.find((j) => j.name === 'comment')!;
    expect(azureOutline(comment.stepList)).toEqual(['download fleet-diff to $(Pipeline.Workspace)/fleet-diff']);
    expect(comment.stepList.some((st) => String(st.script).includes('/pullRequests/$(System.PullRequest.PullRequestId)/threads'))).toBe(true);
  });

  test('a stage without dependsOn waits for the one before it', () => {
    const text = 'stages:\n  - stage: a\n    jobs: [{ job: x, steps: [{ script: echo }] }]\n  - stage: b\n    jobs: [{ job: y, steps: [{ script: echo }] }]\n  - stage: c\n    dependsOn: a\n    jobs: [{ deployment: z, strategy: { runOnce: { deploy: { steps: [{ script: echo }] } } } }]\n';
    expect(azureStages(text).map((s) => [s.name, s.dependsOn])).toEqual([['a', []], ['b', ['a']], ['c', ['a']]]);
  });

  test('a stage with no jobs is refused, naming it', () => {
    expect(() => azureStages('stages:\n  - stage: promote\n')).toThrow('stages[0] (promote).jobs: must be a non-empty list');
  });

  test('a job with no steps is refused, naming it', () => {
    expect(() => azureStages('stages:\n  - stage: promote\n    jobs: [{ job: deploy }]\n')).toThrow('stages[0].jobs[0] (deploy).steps: must be a non-empty list');
  });

  test('dependsOn a stage the file does not have is a problem', () => {
    const stages = azureStages('stages:\n  - stage: promote\n    dependsOn: build\n    jobs: [{ job: x, steps: [{ script: echo }] }]\n');
    expect(azureStageProblems(stages)).toEqual(['stage promote: dependsOn build, which the file does not have']);
  });

  test('stages that wait for each other are a problem', () => {
    const stages = azureStages('stages:\n  - stage: a\n    dependsOn: b\n    jobs: [{ job: x, steps: [{ script: echo }] }]\n  - stage: b\n    dependsOn: a\n    jobs: [{ job: y, steps: [{ script: echo }] }]\n');
    expect(azureStageProblems(stages).some((p) => p.startsWith('stages wait for each other in a cycle'))).toBe(true);
  });
});

describe('the pipelines hosted-bots init writes', () => {
  const files = (pipeline: 'github' | 'azure', mainBranch?: string) => fleetRepoFiles(path.join(os.tmpdir(), 'pipelines-test-never-written'), { pipeline, mainBranch }).files;

  test.each([['main'], ['trunk']])('the GitHub Actions workflow (target branch %s) passes the workflow validator', (branch) => {
    expect(validateWorkflow(files('github', branch).get('.github/workflows/fleet.yml')!)).toEqual([]);
  });

  test.each([['Europe'], ['Europe,US,Japan']])('the GitHub Actions workflow for the geographies %s passes the workflow validator', (geography) => {
    const text = fleetRepoFiles(path.join(os.tmpdir(), 'pipelines-test-never-written'), { pipeline: 'github', geography }).files.get('.github/workflows/fleet.yml')!;
    expect(validateWorkflow(text)).toEqual([]);
  });

  test('the Azure Pipelines file has a review stage, then a plan and a deploy stage per geography, each with jobs and steps', () => {
    const stages = azureStages(files('azure').get('azure-pipelines.yml')!);
    expect(stages.map((s) => s.name)).toEqual(['review', 'plan_prod', 'deploy_prod']);
    // The first plan must not wait for review, which is skipped outside pull requests.
    expect(stages.map((s) => s.dependsOn)).toEqual([[], [], ['plan_prod']]);
    for (const s of stages) {
      expect(s.jobs.length).toBeGreaterThan(0);
      for (const j of s.jobs) expect(j.steps).toBeGreaterThan(0);
    }
    expect(azureStageProblems(stages)).toEqual([]);
  });
});
