/** Synthesizes an example app to a temporary folder, the way `cdktf synth` does. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdktf';
import { Construct } from 'constructs';

export interface SynthesizedApp {
  readonly outdir: string;
  /** A stack's cdk.tf.json, parsed. */
  terraform(stack: string): Record<string, any>;
  /** A stack's cdk.tf.json as text. */
  terraformText(stack: string): string;
  /** A stack's fleet.json, parsed. */
  fleet(stack: string): Record<string, any>;
  fleetText(stack: string): string;
}

export function synthApp<T>(build: (scope: Construct) => T): SynthesizedApp & { built: T } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-app-'));
  const app = new App({ outdir, stackTraces: false });
  const built = build(app);
  app.synth();
  const read = (stack: string, file: string) => fs.readFileSync(path.join(outdir, 'stacks', stack, file), 'utf8');
  return {
    built,
    outdir,
    terraform: (stack) => JSON.parse(read(stack, 'cdk.tf.json')),
    terraformText: (stack) => read(stack, 'cdk.tf.json'),
    fleet: (stack) => JSON.parse(read(stack, 'fleet.json')),
    fleetText: (stack) => read(stack, 'fleet.json'),
  };
}
