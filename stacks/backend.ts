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
