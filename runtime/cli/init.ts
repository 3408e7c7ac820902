/**
 * `hosted-bots init`: scaffolds a team's own fleet repository, so that the deploy story starts
 * from the team's repository (with this package as a dependency) rather than from a clone of
 * this one: main.ts with one environment stack per geography in promotion order, and a
 * pipeline (init-pipelines.ts). Every flag is checked and every bad one reported at once; every
 * file is built in memory first and written only once all checks pass, so a refused or failed
 * init leaves the folder as it was.
 */
import * as fs from 'fs';
import * as path from 'path';
import { environmentName, groupName } from '../../constructs/azure-rules';
import { assertGeography, Geography } from '../../constructs/geography';
import { azurePipeline, githubWorkflow, PipelineSettings } from './init-pipelines';
import { OwnPackage, ownPackage } from './own-package';

export const PIPELINES = ['github', 'azure'] as const;
export type PipelineKind = (typeof PIPELINES)[number];

export interface InitOptions {
  /** The environment's geographies, comma-separated, the first promoted first, e.g. `Europe,US`. @default 'Europe' */
  readonly geography?: string;
  /** The environment's name; with one geography also the stack's ID, with several the start of each. @default 'prod' */
  readonly environment?: string;
  /** The one bot group the scaffold declares. @default 'finance' */
  readonly group?: string;
  /** @default 'github' */
  readonly pipeline?: string;
  /** The branch pull requests target and the pipeline deploys from. @default 'main' */
  readonly mainBranch?: string;
  /** Write into a folder that already holds files, overwriting those of the same names. */
  readonly force?: boolean;
}

export interface InitResult {
  readonly dir: string;
  /** Paths relative to `dir`, in the order written. */
  readonly files: readonly string[];
  /** The environment stacks main.ts declares, in promotion order. */
  readonly stacks: readonly string[];
}

/** Thrown for values the scaffold refuses; the message names every flag, its value and its rule. */
export class InitError extends Error {}

function pinned(pkg: OwnPackage, name: string): string {
  const version = pkg.dependencies[name] ?? pkg.devDependencies[name];
  if (!version) throw new Error(`hosted-rpa-bots' package.json pins no version of ${name}`);
  return version;
}

/** An npm package name from the folder's name: lowercase letters, digits and hyphens. */
function packageName(dir: string): string {
  const name = path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return name || 'bot-fleet';
}

interface Settings extends PipelineSettings {
  readonly pipeline: PipelineKind;
}

/** `--geography Europe,US`: geographies in any case, each once, in promotion order. */
function geographiesOf(value: string, problems: string[]): Geography[] {
  const names = value.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) problems.push(`--geography "${value}" has an empty name; list geographies separated by commas, the first promoted first, e.g. Europe,US`);
  const geographies: Geography[] = [];
  for (const name of names.filter(Boolean)) {
    try {
      const geography = assertGeography(name, '--geography');
      if (geographies.includes(geography)) problems.push(`--geography "${value}" lists ${geography} twice; list each geography once`);
      else geographies.push(geography);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return geographies;
}

/** Every flag is checked, and every bad one reported at once. */
function settingsOf(options: InitOptions): Settings {
  const problems: string[] = [];
  const geographies = geographiesOf(options.geography ?? 'Europe', problems);
  const environment = options.environment ?? 'prod';
  for (const f of environmentName({ name: environment }).slice(0, 1)) problems.push(`--environment "${environment}" ${f.rule}`);
  const group = options.group ?? 'finance';
  for (const f of groupName({ name: group }).slice(0, 1)) problems.push(`--group "${group}" ${f.rule}`);
  const pipeline = options.pipeline ?? 'github';
  if (!(PIPELINES as readonly string[]).includes(pipeline)) problems.push(`--pipeline "${pipeline}" is not a pipeline the scaffold writes: use one of ${PIPELINES.join(', ')}`);
  const mainBranch = options.mainBranch ?? 'main';
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(mainBranch)) problems.push(`--main-branch "${mainBranch}" must be a git branch name of letters, digits, '.', '_', '/' and '-'`);
  if (problems.length === 1) throw new InitError(problems[0]);
  if (problems.length > 1) throw new InitError(`init found ${problems.length} problems in its flags:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  // One geography: the stack is the environment, as README's deploy steps name it; several: one stack each.
  const stacks = geographies.map((geography) => ({ id: geographies.length === 1 ? environment : `${environment}-${geography.toLowerCase()}`, geography }));
  return { stacks, environment, group, pipeline: pipeline as PipelineKind, mainBranch };
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function mainTs(s: Settings): string {
  const where = s.stacks.map((x) => x.geography).join(', then ');
  const stackList = s.stacks.map((x) => `  environmentStack('${x.id}', '${x.geography}'),`).join('\n');
  const first = s.stacks[0].id;
  return `/**
 * The ${s.environment} environment in ${where}, with the ${s.group} bot group, declared with hosted-rpa-bots.
 *
 *   npx hosted-bots synth                       synthesize, and print the stacks, groups and images to review
 *   npx hosted-bots plan --stack ${first.padEnd(14)} what Terraform would change in Azure (needs the sign-in of README "Deploy to Azure")
 */
import { App, TerraformVariable } from 'cdktf';
import { BotStackBackend, declarePromotionOrder, Geography, HostedBotsStack, requireRemoteStateInPipelines } from 'hosted-rpa-bots';

/**
 * Where Terraform keeps this fleet's state, which the pipeline and every colleague must share.
 * Create a storage account and a container for it once (hosted-rpa-bots README, "Prerequisites"),
 * then replace \`undefined\` with their names, for example
 *   { resourceGroupName: 'rg-tfstate', storageAccountName: '<tfstateaccount>', containerName: 'tfstate' }
 * (each stack's state key defaults to '<stack>.tfstate'). While it is undefined, the state is a
 * local file (terraform.<stack>.tfstate in this folder): enough to try a synth on your machine;
 * a pipeline (CI=true) refuses to synthesize without it.
 */
const remoteState: BotStackBackend | undefined = undefined;

/** Read at synth; the pipeline sets them. None of them is a secret. */
const list = (value = ''): string[] => value.split(',').map((a) => a.trim()).filter(Boolean);
// The pipeline's own object ID, so that it may run the smoke run after each deploy.
const pipelineAdmins = list(process.env.HOSTED_BOTS_ADMINS);
const entraTenant = process.env.HOSTED_BOTS_ENTRA_TENANT;
const entraAudience = process.env.HOSTED_BOTS_ENTRA_AUDIENCE ?? 'api://hosted-bots';

const app = new App();

/** One environment stack in one geography, with its bot groups. */
function environmentStack(id: string, geography: Geography): HostedBotsStack {
  const stack = new HostedBotsStack(app, id, {
    geography,
    // botCapacity: the licensed bots this environment may run at once, across its groups.
    // admins: Entra object IDs (or token principals) who administer the environment.
    environment: { name: '${s.environment}', botCapacity: 4, admins: ['ops-admin', ...pipelineAdmins] },
    runtime: entraTenant ? { entra: { tenantId: entraTenant, audience: entraAudience } } : {},
    backend: requireRemoteStateInPipelines(remoteState, 'remoteState'),
  });

  // The bots' local admin password is given at deploy time (TF_VAR_bot_admin_password), never
  // stored in git; synth needs no value.
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
    // Each flow is a command on the bot. This one runs on the marketplace Windows 11 image; your
    // RPA tools and their flows must be on the image (hosted-rpa-bots README, "Images"). Every
    // group also runs the built-in hosted-bots-self-test, which the pipeline's smoke run uses.
    flows: {
      hello: { command: 'cmd.exe /c echo hello from %COMPUTERNAME%', timeoutMinutes: 5 },
    },
    access: { users: ['${s.group}-user'], coOwners: ['${s.group}-lead'] },
  });
  return stack;
}

// Promoted in this order: a change reaches the first stack, passes its gates, then the next.
declarePromotionOrder([
${stackList}
]);

app.synth();
`;
}

/** The scaffold's files, by path relative to the fleet folder. Pure: writes nothing. */
export function fleetRepoFiles(dir: string, options: InitOptions = {}): { files: Map<string, string>; stacks: string[] } {
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
  return { files, stacks: s.stacks.map((x) => x.id) };
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
  const { files, stacks } = fleetRepoFiles(target, options);
  for (const [file, text] of files) {
    fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
    fs.writeFileSync(path.join(target, file), text);
  }
  return { dir: target, files: [...files.keys()], stacks };
}

/** What `hosted-bots init` prints: the files, then what to do next. */
export function initReport(result: InitResult, shownDir: string): string {
  const pipeline = result.files.find((f) => f.endsWith('.yml'));
  return [
    `Wrote a fleet repository in ${result.dir}:`,
    ...result.files.map((f) => `  ${f}`),
    '',
    `Stacks, in promotion order: ${result.stacks.join(', ')}`,
    '',
    'Next:',
    `  cd ${shownDir}`,
    '  npm install',
    '  npx hosted-bots synth           # synthesize and review the fleet',
    '  edit main.ts: admins, flows, access, and remoteState (where Terraform keeps its state; a pipeline refuses to run without it)',
    `  git init && git add -A && git commit -m "Bot fleet"`,
    `  do what the comment at the top of ${pipeline} says (environments with approvals, variables, the secret), then push:`,
    '  pull requests get the fleet diff as a comment; the main branch plans each stack and deploys it once approved',
    '',
  ].join('\n');
}

/** The CLI's action. */
export function runInitCommand(dir: string | undefined, options: InitOptions): void {
  const shown = dir ?? '.';
  const result = initFleetRepo(shown, options);
  process.stdout.write(initReport(result, shown));
}
