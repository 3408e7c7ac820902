/**
 * Where a stack keeps its Terraform state: the remote backend a user gives, or a local file next
 * to the app. cdktf's own default writes the absolute path of the machine that synthesized the
 * stack into `cdk.tf.json`, which breaks a pipeline that synthesizes in one job and applies in
 * another, or a colleague's checkout. Here the path is relative to the stack's working directory
 * (`<outdir>/stacks/<stack>`, where terraform runs) and names no directory of the machine:
 * - when the output folder is inside the directory synth runs in (`cdktf.out`, the usual case),
 *   the state is `terraform.<stack>.tfstate` in that directory, so `rm -rf cdktf.out` never
 *   deletes state;
 * - otherwise it sits beside the output folder.
 */
import * as path from 'path';
import { App, AzurermBackend, AzurermBackendConfig, LocalBackend, TerraformStack } from '../constructs/cdktf';

/** A remote state backend; `key` defaults to `<stack id>.tfstate`. */
export type BotStackBackend = Omit<AzurermBackendConfig, 'key'> & { readonly key?: string };

export function configureBackend(stack: TerraformStack, backend: BotStackBackend | undefined): void {
  const id = stack.node.id;
  if (backend) {
    new AzurermBackend(stack, { ...backend, key: backend.key ?? `${id}.tfstate` });
    return;
  }
  const outdir = path.resolve(App.of(stack).outdir);
  const home = path.resolve('.');
  const insideHome = outdir.startsWith(home + path.sep);
  const state = path.relative(path.join(outdir, 'stacks', id), path.join(insideHome ? home : path.dirname(outdir), `terraform.${id}.tfstate`));
  // Terraform reads the path the same way on every platform with forward slashes.
  new LocalBackend(stack, { path: state.split(path.sep).join('/') });
}

/**
 * The variable in which `hosted-bots` passes on the caller's own `CI`: it runs cdktf with CI=true
 * whatever the caller's (no prompts, no spinner), so the app cannot read CI itself. The CLI names
 * it CALLER_CI in runtime/cli/cdktf-process.ts; test/stacks/backend.test.ts holds the two equal.
 */
export const CALLER_CI_VARIABLE = 'HOSTED_BOTS_CALLER_CI';

/**
 * Whether the synth runs in a pipeline: CI=true (GitHub Actions and most CI services set it) or
 * TF_BUILD=True (Azure Pipelines), as seen by whoever started `hosted-bots` or `cdktf`.
 */
export function runsInPipeline(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env[CALLER_CI_VARIABLE] ?? env.CI;
  return /^(true|1)$/i.test(ci ?? '') || /^true$/i.test(env.TF_BUILD ?? '');
}

/**
 * The state backend of a fleet's stacks, refused when a pipeline synthesizes without one: its
 * state would be a local file on a runner that is thrown away, so the next run would plan every
 * resource anew and fail on the names that already exist. Outside pipelines, `undefined` is local
 * state (configureBackend), enough to try a synth. The `main.ts` that `hosted-bots init` writes
 * passes its `remoteState` through this.
 * @param setting how the app names the backend, for the error
 */
export function requireRemoteStateInPipelines(backend: BotStackBackend | undefined, setting = 'remoteState', env: NodeJS.ProcessEnv = process.env): BotStackBackend | undefined {
  if (backend || !runsInPipeline(env)) return backend;
  throw new Error(
    `${setting} is undefined, and this synth runs in a pipeline (CI=true): its Terraform state would be a local file on a runner that is thrown away, ` +
      `so the next run would plan every resource anew. Create a storage account and a container for the state once (hosted-rpa-bots README, "Prerequisites"), ` +
      `then set ${setting} in main.ts to { resourceGroupName, storageAccountName, containerName }.`,
  );
}

