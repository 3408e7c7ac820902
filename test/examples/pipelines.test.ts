/**
 * The pipeline examples: the GitHub Actions workflow passes a workflow validator
 * (@action-validator/core, GitHub's workflow schema, offline), and the Azure Pipelines file
 * parses with its stages in order, each with jobs and steps. The same for the pipeline files
 * `hosted-bots init` writes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fleetRepoFiles } from '../../runtime/cli/init';
import { azureStageProblems, azureStages, validateWorkflow } from '../helpers/pipelines';

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

describe('Azure Pipelines', () => {
  test('examples/pipelines/azure-pipelines.yml has its stages in order, each with jobs and steps', () => {
    const stages = azureStages(read('azure-pipelines.yml'));
    // The fleet diff on pull requests, and the promotion on the main branch: neither waits for the other.
    expect(stages.map((s) => s.name)).toEqual(['fleet_diff', 'promote']);
    expect(stages.map((s) => s.dependsOn)).toEqual([[], []]);
    for (const s of stages) {
      expect(s.jobs.length).toBeGreaterThan(0);
      for (const j of s.jobs) expect(j.steps).toBeGreaterThan(0);
    }
    expect(azureStageProblems(stages)).toEqual([]);
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
