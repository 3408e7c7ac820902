/**
 * `hosted-bots init`: scaffolds a team's own fleet repository, so that the deploy story starts
 * from the team's repository (with this package as a dependency) rather than from a clone of
 * this one. Every file is built in memory first and written only once all checks pass, so a
 * refused or failed init leaves the folder as it was.
 */
import * as fs from 'fs';
import * as path from 'path';
import { environmentName, groupName } from '../../constructs/azure-rules';
import { assertGeography, Geography } from '../../constructs/geography';
import { OwnPackage, ownPackage } from './own-package';

export const PIPELINES = ['github', 'azure'] as const;
export type PipelineKind = (typeof PIPELINES)[number];

export interface InitOptions {
  /** @default 'Europe' */
  readonly geography?: string;
  /** The environment's name, which is also the stack's ID. @default 'prod' */
  readonly environment?: string;
  /** The one bot group the scaffold declares. @default 'finance' */
  readonly group?: string;
  /** @default 'github' */
  readonly pipeline?: string;
  /** The branch pull requests target and the pipeline promotes from. @default 'main' */
  readonly mainBranch?: string;
  /** Write into a folder that already holds files, overwriting those of the same names. */
  readonly force?: boolean;
}

export interface InitResult {
  readonly dir: string;
  /** Paths relative to `dir`, in the order written. */
  readonly files: readonly string[];
  readonly stack: string;
}

/** Thrown for a value the scaffold refuses; the message names the flag, the value and the rule. */
export class InitError extends Error {}

function pinned(pkg: OwnPackage, name: string): string {
  const version = pkg.dependencies[name] ?? pkg.devDependencies[name];
  if (!version) throw new Error(`hosted-rpa-bots' package.json pins no version of ${name}`);
  return version;
}

function checkName(flag: string, value: string, findings: readonly { rule: string }[]): string {
  if (findings.length > 0) throw new InitError(`${flag} "${value}" ${findings[0].rule}`);
  return value;
}

/** An npm package name from the folder's name: lowercase letters, digits and hyphens. */
function packageName(dir: string): string {
  const name = path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return name || 'bot-fleet';
}

interface Settings {
  readonly geography: Geography;
  readonly environment: string;
  readonly group: string;
  readonly pipeline: PipelineKind;
  readonly mainBranch: string;
}

function settingsOf(options: InitOptions): Settings {
  let geography: Geography;
  try {
    geography = assertGeography(options.geography ?? 'Europe', '--geography');
  } catch (err) {
    throw new InitError((err as Error).message);
  }
  const environment = options.environment ?? 'prod';
  checkName('--environment', environment, environmentName({ name: environment }));
  const group = options.group ?? 'finance';
  checkName('--group', group, groupName({ name: group }));
  const pipeline = options.pipeline ?? 'github';
  if (!(PIPELINES as readonly string[]).includes(pipeline)) throw new InitError(`--pipeline "${pipeline}" is not a pipeline the scaffold writes: use one of ${PIPELINES.join(', ')}`);
  const mainBranch = options.mainBranch ?? 'main';
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(mainBranch)) throw new InitError(`--main-branch "${mainBranch}" must be a git branch name of letters, digits, '.', '_', '/' and '-'`);
  return { geography, environment, group, pipeline: pipeline as PipelineKind, mainBranch };
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function mainTs(s: Settings): string {
  return `/**
 * The ${s.environment} environment in ${s.geography}, with the ${s.group} bot group, declared with hosted-rpa-bots.
 *
 *   npx hosted-bots synth               synthesize, and print the groups and images to review
 *   npx hosted-bots deploy ${s.environment.padEnd(12)} deploy (needs the Azure sign-in of README "Deploy to Azure")
 */
import { App, TerraformVariable } from 'cdktf';
import { BotStackBackend, HostedBotsStack } from 'hosted-rpa-bots';

/**
 * Where Terraform keeps this fleet's state, which the pipeline and every colleague must share.
 * Create a storage account and a container for it once (hosted-rpa-bots README, "Prerequisites"),
 * then replace \`undefined\` with their names, for example
 *   { resourceGroupName: 'rg-tfstate', storageAccountName: '<tfstateaccount>', containerName: 'tfstate' }
 * (the state key defaults to '<stack>.tfstate'). While it is undefined, the state is the local
 * file terraform.${s.environment}.tfstate in this folder: enough to try a synth, not to deploy from a pipeline.
 */
const remoteState: BotStackBackend | undefined = undefined;

/** Read at synth; the pipeline sets them. */
const list = (value = ''): string[] => value.split(',').map((a) => a.trim()).filter(Boolean);
// The public addresses of the machine that runs terraform, for the runtime's Key Vault firewall.
const deployerIpRanges = list(process.env.HOSTED_BOTS_DEPLOYER_IPS);
// The pipeline's own object ID, so that it may promote and run the smoke flow.
const pipelineAdmins = list(process.env.HOSTED_BOTS_ADMINS);
const entraTenant = process.env.HOSTED_BOTS_ENTRA_TENANT;
const entraAudience = process.env.HOSTED_BOTS_ENTRA_AUDIENCE ?? 'api://hosted-bots';

const app = new App();

const stack = new HostedBotsStack(app, '${s.environment}', {
  geography: '${s.geography}',
  // botCapacity: the licensed bots this environment may run at once, across its groups.
  // admins: Entra object IDs (or token principals) who administer the environment.
  environment: { name: '${s.environment}', botCapacity: 4, admins: ['ops-admin', ...pipelineAdmins] },
  runtime: {
    deployerIpRanges,
    ...(entraTenant ? { entra: { tenantId: entraTenant, audience: entraAudience } } : {}),
  },
  backend: remoteState,
});

// The bots' local admin password is given at deploy time (TF_VAR_bot_admin_password), never stored in git.
const adminPassword = new TerraformVariable(stack, 'bot_admin_password', {
  type: 'string',
  sensitive: true,
  description: 'Password of the local admin account on every bot (12-123 characters, 3 of 4 character classes).',
});

stack.environment.addGroup('${s.group}', {
  name: '${s.group}',
  description: 'The ${s.group} team\\'s flows',
  maxBots: 2,
  adminUsername: 'botadmin',
  adminPassword: adminPassword.stringValue,
  // Each flow is a command on the bot's image; the marketplace Windows 11 image has no RPA tools.
  flows: {
    hello: { command: 'powershell.exe -NoProfile -File C:\\\\flows\\\\hello.ps1', timeoutMinutes: 30 },
  },
  access: { users: ['${s.group}-user'], coOwners: ['${s.group}-lead'] },
});

app.synth();
`;
}

/** The commands both pipelines run; the same ones README documents for a deploy by hand. */
function commands(s: Settings) {
  return {
    synth: 'npx hosted-bots synth',
    diff: `npx hosted-bots diff --base origin/${s.mainBranch} --markdown`,
    promote: `npx hosted-bots promote --order ${s.environment} --smoke ${s.group}/hello --smoke-timeout 1800 --health-timeout 600`,
  };
}

/** What both pipeline files say of themselves first. */
function pipelineIntro(s: Settings): string {
  return `# The fleet's pipeline. On a pull request: synthesize and report what the change does to the
# fleet (the step fails, exit code 2, when something destructive changes, such as a group removed
# or capacity cut, so the change asks for a reviewer's approval). On ${s.mainBranch}: promote the
# ${s.environment} environment, gated on its runtime's health and a smoke run of ${s.group}/hello.
#
`;
}

function githubWorkflow(s: Settings): string {
  const c = commands(s);
  return `${pipelineIntro(s)}# Needs: main.ts's remoteState filled in; a federated credential (OIDC) for the deploying app
# registration; repository variables AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_SUBSCRIPTION_ID,
# AZURE_PIPELINE_OBJECT_ID (the service principal's object ID) and HOSTED_BOTS_AUDIENCE
# (e.g. api://hosted-bots); and the secret BOT_ADMIN_PASSWORD.
name: fleet

on:
  pull_request:
    branches: [${s.mainBranch}]
  push:
    branches: [${s.mainBranch}]
  workflow_dispatch:

permissions:
  id-token: write
  contents: read

concurrency:
  group: fleet-\${{ github.ref }}
  cancel-in-progress: false

jobs:
  review:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    timeout-minutes: 20
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-node@v4
        with:
          node-version: 22
          cache: npm
      - run: npm ci
      - name: Synthesize
        run: ${c.synth}
      - name: What the change does to the fleet
        shell: bash
        run: ${c.diff} | tee -a "$GITHUB_STEP_SUMMARY"

  promote:
    if: github.event_name != 'pull_request'
    runs-on: ubuntu-latest
    timeout-minutes: 120
    env:
      ARM_USE_OIDC: 'true'
      ARM_CLIENT_ID: \${{ vars.AZURE_CLIENT_ID }}
      ARM_TENANT_ID: \${{ vars.AZURE_TENANT_ID }}
      ARM_SUBSCRIPTION_ID: \${{ vars.AZURE_SUBSCRIPTION_ID }}
      TF_VAR_bot_admin_password: \${{ secrets.BOT_ADMIN_PASSWORD }}
      # Read by main.ts at synth: the runtime accepts the pipeline's Entra ID token.
      HOSTED_BOTS_ENTRA_TENANT: \${{ vars.AZURE_TENANT_ID }}
      HOSTED_BOTS_ENTRA_AUDIENCE: \${{ vars.HOSTED_BOTS_AUDIENCE }}
      HOSTED_BOTS_ADMINS: \${{ vars.AZURE_PIPELINE_OBJECT_ID }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 22
          cache: npm
      - uses: hashicorp/setup-terraform@v3
        with:
          terraform_version: 1.11.4
          terraform_wrapper: false
      - uses: azure/login@v2
        with:
          client-id: \${{ vars.AZURE_CLIENT_ID }}
          tenant-id: \${{ vars.AZURE_TENANT_ID }}
          subscription-id: \${{ vars.AZURE_SUBSCRIPTION_ID }}
      - run: npm ci
      # The runtime's Key Vault admits only its own subnet and the machine that runs terraform.
      - name: The runner's public address, for the Key Vault firewall
        run: echo "HOSTED_BOTS_DEPLOYER_IPS=$(curl -fsS https://api.ipify.org)" >> "$GITHUB_ENV"
      - name: Synthesize
        run: ${c.synth}
      - name: Promote ${s.environment}
        run: |
          export HOSTED_BOTS_TOKEN="$(az account get-access-token --resource "\${{ vars.HOSTED_BOTS_AUDIENCE }}" --query accessToken -o tsv)"
          ${c.promote}
`;
}

function azurePipeline(s: Settings): string {
  const c = commands(s);
  return `${pipelineIntro(s)}# Needs: main.ts's remoteState filled in; an Azure Resource Manager service connection
# \`hosted-bots\` with workload identity federation; a variable group \`hosted-bots\` with
# HOSTED_BOTS_AUDIENCE (e.g. api://hosted-bots) and the secret BOT_ADMIN_PASSWORD.
trigger:
  branches:
    include: [${s.mainBranch}]

pr:
  branches:
    include: [${s.mainBranch}]

pool:
  vmImage: ubuntu-latest

variables:
  - group: hosted-bots

stages:
  - stage: review
    condition: eq(variables['Build.Reason'], 'PullRequest')
    jobs:
      - job: review
        timeoutInMinutes: 20
        steps:
          - checkout: self
            fetchDepth: 0
          - task: NodeTool@0
            inputs:
              versionSpec: '22.x'
          - script: npm ci
            displayName: install
          - script: ${c.synth}
            displayName: synthesize
          - script: ${c.diff}
            displayName: what the change does to the fleet

  # Not after review: review is skipped outside pull requests, and a stage that depends on a
  # skipped one is skipped too.
  - stage: promote
    dependsOn: []
    condition: ne(variables['Build.Reason'], 'PullRequest')
    jobs:
      - job: promote
        timeoutInMinutes: 120
        steps:
          - task: NodeTool@0
            inputs:
              versionSpec: '22.x'
          - task: TerraformInstaller@1
            inputs:
              terraformVersion: 1.11.4
          - script: npm ci
            displayName: install
          - task: AzureCLI@2
            displayName: synthesize and promote ${s.environment}
            inputs:
              azureSubscription: hosted-bots
              scriptType: bash
              scriptLocation: inlineScript
              addSpnToEnvironment: true
              inlineScript: |
                set -euo pipefail
                export ARM_USE_OIDC=true ARM_CLIENT_ID="$servicePrincipalId" ARM_TENANT_ID="$tenantId"
                export ARM_OIDC_TOKEN="$idToken"
                export ARM_SUBSCRIPTION_ID="$(az account show --query id -o tsv)"
                export TF_VAR_bot_admin_password="$(BOT_ADMIN_PASSWORD)"
                export HOSTED_BOTS_ENTRA_TENANT="$tenantId" HOSTED_BOTS_ENTRA_AUDIENCE="$(HOSTED_BOTS_AUDIENCE)"
                export HOSTED_BOTS_ADMINS="$(az ad sp show --id "$servicePrincipalId" --query id -o tsv)"
                # The runtime's Key Vault admits only its own subnet and the machine that runs terraform.
                export HOSTED_BOTS_DEPLOYER_IPS="$(curl -fsS https://api.ipify.org)"
                ${c.synth}
                export HOSTED_BOTS_TOKEN="$(az account get-access-token --resource "$(HOSTED_BOTS_AUDIENCE)" --query accessToken -o tsv)"
                ${c.promote}
`;
}

/** The scaffold's files, by path relative to the fleet folder. Pure: writes nothing. */
export function fleetRepoFiles(dir: string, options: InitOptions = {}): { files: Map<string, string>; stack: string } {
  const s = settingsOf(options);
  const pkg = ownPackage();
  const files = new Map<string, string>();
  files.set(
    'package.json',
    json({
      name: packageName(dir),
      private: true,
      description: `The ${s.environment} bot fleet, declared with hosted-rpa-bots`,
      scripts: {
        build: 'tsc -p tsconfig.json',
        synth: 'hosted-bots synth',
        diff: `hosted-bots diff --base origin/${s.mainBranch}`,
      },
      dependencies: {
        '@cdktf/provider-azurerm': pinned(pkg, '@cdktf/provider-azurerm'),
        cdktf: pinned(pkg, 'cdktf'),
        constructs: pinned(pkg, 'constructs'),
        [pkg.name]: pkg.version,
      },
      devDependencies: {
        '@types/node': pinned(pkg, '@types/node'),
        'cdktf-cli': pinned(pkg, 'cdktf-cli'),
        typescript: pinned(pkg, 'typescript'),
      },
    }),
  );
  files.set(
    'cdktf.json',
    json({
      language: 'typescript',
      // Compiled with the project's TypeScript, then run: no other loader to install.
      app: 'npx tsc -p tsconfig.json && node dist/main.js',
      projectId: packageName(dir),
      sendCrashReports: 'false',
      terraformProviders: [],
      terraformModules: [],
      context: {},
    }),
  );
  files.set(
    'tsconfig.json',
    json({
      compilerOptions: {
        target: 'ES2022',
        module: 'commonjs',
        moduleResolution: 'node',
        lib: ['ES2022'],
        types: ['node'],
        rootDir: '.',
        outDir: 'dist',
        strict: true,
        esModuleInterop: true,
        skipLibCheck: true,
      },
      include: ['main.ts'],
    }),
  );
  files.set('main.ts', mainTs(s));
  files.set('.gitignore', ['node_modules/', 'dist/', 'cdktf.out/', '.cdktf.out.*/', '*.tfstate*', '.terraform/', ''].join('\n'));
  if (s.pipeline === 'github') files.set('.github/workflows/fleet.yml', githubWorkflow(s));
  else files.set('azure-pipelines.yml', azurePipeline(s));
  return { files, stack: s.environment };
}

/** Writes the scaffold into `dir` (created if missing). Refuses a folder with files in it unless `force`. */
export function initFleetRepo(dir: string, options: InitOptions = {}): InitResult {
  const target = path.resolve(dir);
  if (fs.existsSync(target)) {
    if (!fs.statSync(target).isDirectory()) throw new InitError(`${target} is a file, not a folder`);
    const present = fs.readdirSync(target);
    if (present.length > 0 && !options.force) {
      throw new InitError(`${target} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}); choose an empty or new folder, or pass --force to write into it and overwrite files of the same names`);
    }
  }
  const { files, stack } = fleetRepoFiles(target, options);
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
    fs.writeFileSync(path.join(target, file), text);
  }
  return { dir: target, files: [...files.keys()], stack };
}

/** What `hosted-bots init` prints: the files, then what to do next. */
export function initReport(result: InitResult, shownDir: string): string {
  const pipeline = result.files.find((f) => f.endsWith('.yml'));
  return [
    `Wrote a fleet repository in ${result.dir}:`,
    ...result.files.map((f) => `  ${f}`),
    '',
    'Next:',
    `  cd ${shownDir}`,
    '  npm install',
    '  npx hosted-bots synth           # synthesize and review the fleet',
    '  edit main.ts: admins, flows, access, and remoteState (where Terraform keeps its state)',
    `  git init && git add -A && git commit -m "Bot fleet"`,
    `  set the variables and secrets named at the top of ${pipeline}, then push: pull requests report what they change, the main branch promotes`,
    `  or deploy by hand: npx hosted-bots deploy ${result.stack} (README "Deploy to Azure")`,
    '',
  ].join('\n');
}

/** The CLI's action. */
export function runInitCommand(dir: string | undefined, options: InitOptions): void {
  const shown = dir ?? '.';
  const result = initFleetRepo(shown, options);
  process.stdout.write(initReport(result, shown));
}
