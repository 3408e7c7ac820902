/**
 * The pipeline files `hosted-bots init` writes: a GitHub Actions workflow or an Azure Pipelines
 * definition, the same steps in each.
 *
 * - A pull request is synthesized and diffed against the target branch with no cloud
 *   credentials at all (no secrets, no Azure sign-in, no ARM_* or TF_VAR_* values: a sensitive
 *   Terraform variable needs no value at synth). A second job, which holds only the token that
 *   may comment, posts the diff in Markdown on the pull request.
 * - On the main branch, each environment stack in promotion order gets a plan job and a deploy
 *   job. The plan job runs `hosted-bots plan` and keeps the stack's folder (the saved plan, the
 *   lock file and the assets, without the providers in .terraform/) as an artifact. The deploy
 *   job waits for the approval of the stack's environment, downloads exactly that artifact and
 *   applies that plan (`hosted-bots apply`), then gates on the runtime's health and on the
 *   built-in self-test flow run on a bot. The next stack is planned only after that.
 */
import type { Geography } from '../../constructs/geography';
import { SELF_TEST_FLOW } from '../config/self-test-flow';

export interface FleetStackSpec {
  readonly id: string;
  readonly geography: Geography;
}

export interface PipelineSettings {
  /** The environment stacks, in promotion order. */
  readonly stacks: readonly FleetStackSpec[];
  readonly environment: string;
  /** The group whose bots run the smoke run. */
  readonly group: string;
  readonly mainBranch: string;
}

/** The Node.js the pipelines run hosted-bots with (an LTS line; README "Requirements"). */
export const PIPELINE_NODE_VERSION = '22';
/** The Terraform the pipelines install: the version the plan reader and the tests are held to (hosted-bots plan needs 1.11 or later). */
export const PIPELINE_TERRAFORM_VERSION = '1.11.4';

/** The job and stage names and commands of one stack, shared by both pipelines. */
export function stackSteps(stack: string, group: string) {
  const folder = `cdktf.out/stacks/${stack}`;
  return {
    folder,
    artifact: `plan-${stack}`,
    plan: `npx hosted-bots plan --stack ${stack} --markdown > plan.md`,
    // The providers are downloaded again where the plan is applied; the lock file pins them.
    dropProviders: `rm -rf ${folder}/.terraform`,
    apply: `npx hosted-bots apply --stack ${stack}`,
    runtimeUrl: `terraform -chdir=${folder} output -raw runtime_url`,
    gate: `npx hosted-bots gate --url "$url" --smoke ${group}/${SELF_TEST_FLOW} --smoke-timeout 1800 --health-timeout 600`,
  };
}

const indent = (text: string, spaces: number): string =>
  text
    .split('\n')
    .map((line) => (line ? ' '.repeat(spaces) + line : line))
    .join('\n');

function order(s: PipelineSettings): string {
  return s.stacks.map((x) => `${x.id} (${x.geography})`).join(', then ');
}

/** The Azure sign-in of a GitHub job that runs terraform: OIDC, no stored secret. */
const GITHUB_SIGN_IN = `    env:
      ARM_USE_OIDC: 'true'
      ARM_CLIENT_ID: \${{ vars.AZURE_CLIENT_ID }}
      ARM_TENANT_ID: \${{ vars.AZURE_TENANT_ID }}
      ARM_SUBSCRIPTION_ID: \${{ vars.AZURE_SUBSCRIPTION_ID }}
`;

/** The first steps of a GitHub job that runs hosted-bots and terraform. */
const GITHUB_TOOLS = `    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: ${PIPELINE_NODE_VERSION}
          cache: npm
      - uses: hashicorp/setup-terraform@v3
        with:
          terraform_version: ${PIPELINE_TERRAFORM_VERSION}
          terraform_wrapper: false
`;

function githubStackJobs(s: PipelineSettings, stack: string, previous: string | undefined): string {
  const c = stackSteps(stack, s.group);
  return `  plan-${stack}:
    if: github.event_name != 'pull_request'${previous ? `\n    needs: [deploy-${previous}]` : ''}
    runs-on: ubuntu-latest
    timeout-minutes: 60
    permissions:
      contents: read
      id-token: write
${GITHUB_SIGN_IN}      TF_VAR_bot_admin_password: \${{ secrets.BOT_ADMIN_PASSWORD }}
${GITHUB_TOOLS}      - run: npm ci
      - name: Plan ${stack}
        run: |
          set +e
          ${c.plan}
          code=$?
          set -e
          cat plan.md >> "$GITHUB_STEP_SUMMARY"
          if [ "$code" = 2 ]; then echo "::warning::the plan of ${stack} replaces or destroys resources (see the summary); read it before approving the deployment"; fi
          if [ "$code" != 0 ] && [ "$code" != 2 ]; then exit "$code"; fi
      - name: Keep the stack's folder without its providers
        run: ${c.dropProviders}
      # The saved plan holds the variables' values, the admin password among them: kept one day.
      - uses: actions/upload-artifact@v4
        with:
          name: ${c.artifact}
          path: ${c.folder}
          include-hidden-files: true
          if-no-files-found: error
          retention-days: 1

  deploy-${stack}:
    needs: [plan-${stack}]
    runs-on: ubuntu-latest
    timeout-minutes: 120
    # Waits for the approval of the environment's required reviewers.
    environment: ${stack}
    permissions:
      contents: read
      id-token: write
${GITHUB_SIGN_IN}${GITHUB_TOOLS}      - uses: azure/login@v2
        with:
          client-id: \${{ vars.AZURE_CLIENT_ID }}
          tenant-id: \${{ vars.AZURE_TENANT_ID }}
          subscription-id: \${{ vars.AZURE_SUBSCRIPTION_ID }}
      - run: npm ci
      - uses: actions/download-artifact@v4
        with:
          name: ${c.artifact}
          path: ${c.folder}
      - name: Apply the reviewed plan of ${stack}
        run: ${c.apply}
      - name: Gate on the runtime's health and the self-test on a bot
        run: |
          url="$(${c.runtimeUrl})"
          export HOSTED_BOTS_TOKEN="$(az account get-access-token --resource "\${{ vars.HOSTED_BOTS_AUDIENCE }}" --query accessToken -o tsv)"
          ${c.gate}
`;
}

export function githubWorkflow(s: PipelineSettings): string {
  const environments = s.stacks.map((x) => x.id).join(', ');
  const jobs = s.stacks.map((x, i) => githubStackJobs(s, x.id, s.stacks[i - 1]?.id)).join('\n');
  return `# The fleet's pipeline.
#
# On a pull request into ${s.mainBranch}: the review job synthesizes the fleet and diffs it against ${s.mainBranch}
# with no cloud credentials (no secrets, no Azure sign-in); the comment job posts the diff on the
# pull request. A destructive change (a group removed, capacity cut, a region moved) fails the
# review check: make it required in the branch protection of ${s.mainBranch}, so that such a change
# merges only when an administrator approves it.
#
# On ${s.mainBranch}, stack by stack in promotion order, ${order(s)}:
#   plan-<stack>    hosted-bots plan: what Terraform will create, change, replace or destroy, in
#                   the job summary; the stack's folder with the saved plan is kept as an artifact.
#   deploy-<stack>  waits for the approval of the GitHub environment <stack>, applies exactly that
#                   saved plan (hosted-bots apply), then gates on the runtime's /healthz and a run
#                   of the built-in ${SELF_TEST_FLOW} flow on a ${s.group} bot.
#
# Set up once:
#   - main.ts's remoteState (a pipeline refuses to synthesize without it);
#   - the environments ${environments} (Settings > Environments), each with required reviewers;
#   - an app registration allowed to deploy, with federated credentials (OIDC) for this
#     repository's branch ${s.mainBranch} (the plan jobs) and for each environment (the deploy jobs);
#   - repository variables AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_SUBSCRIPTION_ID,
#     AZURE_PIPELINE_OBJECT_ID (its service principal's object ID) and HOSTED_BOTS_AUDIENCE
#     (e.g. api://hosted-bots), and the secret BOT_ADMIN_PASSWORD.
name: fleet

on:
  pull_request:
    branches: [${s.mainBranch}]
  push:
    branches: [${s.mainBranch}]
  workflow_dispatch:

permissions:
  contents: read

concurrency:
  group: fleet-\${{ github.ref }}
  cancel-in-progress: false

# Read by main.ts at synth in every job, so pull requests and ${s.mainBranch} synthesize the same app.
# None is a secret.
env:
  HOSTED_BOTS_ENTRA_TENANT: \${{ vars.AZURE_TENANT_ID }}
  HOSTED_BOTS_ENTRA_AUDIENCE: \${{ vars.HOSTED_BOTS_AUDIENCE }}
  HOSTED_BOTS_ADMINS: \${{ vars.AZURE_PIPELINE_OBJECT_ID }}

jobs:
  review:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    timeout-minutes: 30
    outputs:
      diff-code: \${{ steps.diff.outputs.code }}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: actions/setup-node@v4
        with:
          node-version: ${PIPELINE_NODE_VERSION}
          cache: npm
      - run: npm ci
      - name: Synthesize
        run: npx hosted-bots synth
      - name: What the change does to the fleet
        id: diff
        env:
          BASE_REF: \${{ github.base_ref }}
        run: |
          set +e
          npx hosted-bots diff --base "origin/$BASE_REF" --to cdktf.out --markdown > fleet-diff.md
          code=$?
          set -e
          cat fleet-diff.md >> "$GITHUB_STEP_SUMMARY"
          echo "code=$code" >> "$GITHUB_OUTPUT"
          if [ "$code" != 0 ] && [ "$code" != 2 ]; then exit "$code"; fi
      - uses: actions/upload-artifact@v4
        with:
          name: fleet-diff
          path: fleet-diff.md
          retention-days: 7
      - name: Destructive changes need approval
        if: steps.diff.outputs.code == '2'
        run: |
          echo "::error::this pull request removes or cuts part of the fleet (see the comment); an administrator must approve it"
          exit 1

  comment:
    needs: [review]
    # Also after a destructive diff failed the review; a fork's pull request gets no write token.
    if: \${{ !cancelled() && (needs.review.outputs.diff-code == '0' || needs.review.outputs.diff-code == '2') && github.event.pull_request.head.repo.full_name == github.repository }}
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions:
      pull-requests: write
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: fleet-diff
      - name: Post the fleet diff on the pull request
        env:
          GH_TOKEN: \${{ github.token }}
          GH_REPO: \${{ github.repository }}
          PR: \${{ github.event.pull_request.number }}
        run: gh pr comment "$PR" --body-file fleet-diff.md --edit-last || gh pr comment "$PR" --body-file fleet-diff.md

${jobs}`;
}

/** Azure Pipelines names stages and jobs with letters, digits and underscores only. */
const azureName = (stack: string) => stack.replace(/[^A-Za-z0-9_]/g, '_');

/** The sign-in every Azure CLI step of the main branch starts with: Terraform's OIDC variables from the service connection. */
const AZURE_SIGN_IN = `set -euo pipefail
export ARM_USE_OIDC=true ARM_CLIENT_ID="$servicePrincipalId" ARM_TENANT_ID="$tenantId"
export ARM_OIDC_TOKEN="$idToken"
export ARM_SUBSCRIPTION_ID="$(az account show --query id -o tsv)"`;

function azureStackStages(s: PipelineSettings, stack: string, previous: string | undefined): string {
  const c = stackSteps(stack, s.group);
  const name = azureName(stack);
  const planScript = `${AZURE_SIGN_IN}
export TF_VAR_bot_admin_password="$(BOT_ADMIN_PASSWORD)"
# Read by main.ts at synth.
export HOSTED_BOTS_ENTRA_TENANT="$tenantId" HOSTED_BOTS_ENTRA_AUDIENCE="$(HOSTED_BOTS_AUDIENCE)"
export HOSTED_BOTS_ADMINS="$(az ad sp show --id "$servicePrincipalId" --query id -o tsv)"
set +e
${c.plan}
code=$?
set -e
cat plan.md
echo "##vso[task.uploadsummary]$(System.DefaultWorkingDirectory)/plan.md"
if [ "$code" = 2 ]; then echo "##vso[task.logissue type=warning]the plan of ${stack} replaces or destroys resources (see the summary); read it before approving the deployment"; fi
if [ "$code" != 0 ] && [ "$code" != 2 ]; then exit "$code"; fi
${c.dropProviders}`;
  const deployScript = `${AZURE_SIGN_IN}
${c.apply}
url="$(${c.runtimeUrl})"
export HOSTED_BOTS_TOKEN="$(az account get-access-token --resource "$(HOSTED_BOTS_AUDIENCE)" --query accessToken -o tsv)"
${c.gate}`;
  return `  - stage: plan_${name}
    displayName: plan ${stack}
    dependsOn: ${previous ? `deploy_${azureName(previous)}` : '[]'}
    condition: and(succeeded(), ne(variables['Build.Reason'], 'PullRequest'))
    variables:
      - group: hosted-bots
    jobs:
      - job: plan
        timeoutInMinutes: 60
        steps:
          - task: NodeTool@0
            inputs:
              versionSpec: '${PIPELINE_NODE_VERSION}.x'
          - task: TerraformInstaller@1
            inputs:
              terraformVersion: ${PIPELINE_TERRAFORM_VERSION}
          - script: npm ci
            displayName: install
          - task: AzureCLI@2
            displayName: plan ${stack}
            inputs:
              azureSubscription: hosted-bots
              scriptType: bash
              scriptLocation: inlineScript
              addSpnToEnvironment: true
              inlineScript: |
${indent(planScript, 16)}
          # The saved plan holds the variables' values, the admin password among them.
          - publish: ${c.folder}
            artifact: ${c.artifact}

  - stage: deploy_${name}
    displayName: deploy ${stack}
    dependsOn: plan_${name}
    condition: and(succeeded(), ne(variables['Build.Reason'], 'PullRequest'))
    variables:
      - group: hosted-bots
    jobs:
      # Waits for the approvals and checks of the environment ${stack}.
      - deployment: deploy
        environment: ${stack}
        timeoutInMinutes: 120
        strategy:
          runOnce:
            deploy:
              steps:
                - download: none
                - checkout: self
                - task: NodeTool@0
                  inputs:
                    versionSpec: '${PIPELINE_NODE_VERSION}.x'
                - task: TerraformInstaller@1
                  inputs:
                    terraformVersion: ${PIPELINE_TERRAFORM_VERSION}
                - script: npm ci
                  displayName: install
                - task: DownloadPipelineArtifact@2
                  displayName: the reviewed plan of ${stack}
                  inputs:
                    buildType: current
                    artifactName: ${c.artifact}
                    targetPath: $(System.DefaultWorkingDirectory)/${c.folder}
                - task: AzureCLI@2
                  displayName: apply the reviewed plan of ${stack}, then gate on health and the self-test
                  inputs:
                    azureSubscription: hosted-bots
                    scriptType: bash
                    scriptLocation: inlineScript
                    addSpnToEnvironment: true
                    inlineScript: |
${indent(deployScript, 22)}
`;
}

export function azurePipeline(s: PipelineSettings): string {
  const environments = s.stacks.map((x) => x.id).join(', ');
  const stages = s.stacks.map((x, i) => azureStackStages(s, x.id, s.stacks[i - 1]?.id)).join('\n');
  return `# The fleet's pipeline.
#
# On a pull request into ${s.mainBranch}: the review stage's diff job synthesizes the fleet and diffs it
# against ${s.mainBranch} with no cloud credentials (no service connection, no variable group, no
# secrets); its comment job posts the diff on the pull request (Azure Repos). A destructive change
# (a group removed, capacity cut, a region moved) fails the diff job: add this pipeline as a build
# validation policy of ${s.mainBranch}, so that such a change merges only with an administrator's override.
#
# On ${s.mainBranch}, stack by stack in promotion order, ${order(s)}:
#   plan_<stack>    hosted-bots plan: what Terraform will create, change, replace or destroy, in
#                   the run's summary; the stack's folder with the saved plan is published as an artifact.
#   deploy_<stack>  a deployment job on the environment <stack>, which waits for its approvals,
#                   applies exactly that saved plan (hosted-bots apply), then gates on the runtime's
#                   /healthz and a run of the built-in ${SELF_TEST_FLOW} flow on a ${s.group} bot.
#
# Set up once:
#   - main.ts's remoteState (a pipeline refuses to synthesize without it);
#   - the environments ${environments} (Pipelines > Environments), each with an Approvals check;
#   - an Azure Resource Manager service connection \`hosted-bots\` with workload identity federation;
#   - a variable group \`hosted-bots\` with HOSTED_BOTS_AUDIENCE (e.g. api://hosted-bots) and the
#     secret BOT_ADMIN_PASSWORD;
#   - for the pull request comment: "Contribute to pull requests" for the project's build service.
trigger:
  branches:
    include: [${s.mainBranch}]

pr:
  branches:
    include: [${s.mainBranch}]

pool:
  vmImage: ubuntu-latest

stages:
  - stage: review
    displayName: what the pull request does to the fleet
    dependsOn: []
    condition: eq(variables['Build.Reason'], 'PullRequest')
    jobs:
      - job: diff
        timeoutInMinutes: 30
        steps:
          - checkout: self
            fetchDepth: 0
          - task: NodeTool@0
            inputs:
              versionSpec: '${PIPELINE_NODE_VERSION}.x'
          - script: npm ci
            displayName: install
          - script: npx hosted-bots synth
            displayName: synthesize
          - script: |
              set +e
              target="\${SYSTEM_PULLREQUEST_TARGETBRANCH#refs/heads/}"
              npx hosted-bots diff --base "origin/$target" --to cdktf.out --markdown > fleet-diff.md
              code=$?
              set -e
              cat fleet-diff.md
              echo "##vso[task.uploadsummary]$(System.DefaultWorkingDirectory)/fleet-diff.md"
              echo "##vso[task.setvariable variable=code;isOutput=true]$code"
              if [ "$code" != 0 ] && [ "$code" != 2 ]; then exit "$code"; fi
            name: diff
            displayName: diff the fleet against the target branch
          - publish: fleet-diff.md
            artifact: fleet-diff
          - script: |
              echo "##vso[task.logissue type=error]this pull request removes or cuts part of the fleet (see the comment); an administrator must approve it"
              exit 1
            condition: eq(variables['diff.code'], '2')
            displayName: destructive changes need approval

      - job: comment
        dependsOn: diff
        # Also after a destructive diff failed the diff job.
        condition: and(not(canceled()), in(dependencies.diff.outputs['diff.code'], '0', '2'))
        timeoutInMinutes: 5
        steps:
          - checkout: none
          - download: current
            artifact: fleet-diff
          - script: |
              set -euo pipefail
              body="$(jq -Rs '{comments: [{parentCommentId: 0, content: ., commentType: 1}], status: 1}' "$(Pipeline.Workspace)/fleet-diff/fleet-diff.md")"
              curl -fsS -X POST -H "Authorization: Bearer $SYSTEM_ACCESSTOKEN" -H 'Content-Type: application/json' --data "$body" \\
                "$(System.CollectionUri)$(System.TeamProjectId)/_apis/git/repositories/$(Build.Repository.ID)/pullRequests/$(System.PullRequest.PullRequestId)/threads?api-version=7.1"
            displayName: post the fleet diff on the pull request
            env:
              SYSTEM_ACCESSTOKEN: $(System.AccessToken)

${stages}`;
}
