/**
 * The fleet manifest: the contract between a stack and its runtime. Synth writes it as
 * `fleet.json` next to `cdk.tf.json`; the deployed runtime gets the same object as an app
 * setting, with Terraform tokens resolved at apply time. It never holds a plain-text secret.
 */
import * as fs from 'fs';
import * as path from 'path';
import { addCustomSynthesis, Construct, ISynthesisSession, resolveTokens, TerraformStack } from './cdktf';
import * as contract from '../runtime/config/fleet-schema';
import { Geography } from './geography';

// The contract (shape, bounds, defaults) lives in runtime/config/fleet-schema.ts, shared with the
// runtime; these are its types as the construct library exposes them, readonly.
export { FLEET_MANIFEST_VERSION } from '../runtime/config/fleet-schema';
export const FLEET_MANIFEST_FILE = 'fleet.json';

export type ManifestFlow = contract.DeepReadonly<contract.ManifestFlow>;
export type ManifestImage = contract.DeepReadonly<contract.ManifestImage>;
/** Each user's share of a group's queue, and who may queue at high priority. */
export type QueueSettings = contract.DeepReadonly<contract.QueueSettings>;
export type ManifestBotAuth = contract.DeepReadonly<contract.ManifestBotAuth>;
export type ManifestGroup = contract.DeepReadonly<contract.ManifestGroup>;
/** A webhook subscription of a group, as the manifest carries it. */
export type ManifestWebhook = contract.DeepReadonly<contract.ManifestWebhook>;

/** The queue share of a group that sets none. */
export const DEFAULT_QUEUE_SETTINGS: QueueSettings = contract.DEFAULTS.queue;
/** Finished runs and their output are deleted this many days after they end. */
export const DEFAULT_RUN_RETENTION_DAYS = contract.DEFAULTS.runRetentionDays;
/** An Idempotency-Key answers retries with the same run for this many hours. */
export const DEFAULT_IDEMPOTENCY_KEY_HOURS = contract.DEFAULTS.idempotencyKeyHours;
/** The time zone of an environment that declares none. */
export const DEFAULT_TIME_ZONE = contract.DEFAULTS.timeZone;

type Environment = contract.FleetManifest['environment'];

export type FleetManifest = contract.DeepReadonly<
  Omit<contract.FleetManifest, 'environment'> & { environment: Omit<Environment, 'geography'> & { geography: Geography } }
>;

function hasErrorAnnotations(stack: TerraformStack): boolean {
  return stack.node.findAll().some((node) => node.node.metadata.some((m) => m.type === '@cdktf/error'));
}

/**
 * Writes the stack's manifest next to its `cdk.tf.json` at synth. When the stack has error
 * annotations, synth fails and no manifest is written (a stale one is removed), so a failed synth
 * never leaves a manifest that disagrees with the code.
 */
export class FleetManifestFile extends Construct {
  constructor(scope: TerraformStack, id: string, build: () => FleetManifest) {
    super(scope, id);
    addCustomSynthesis(this, {
      onSynthesize: (session: ISynthesisSession) => {
        const stackDir = path.join(session.outdir, session.manifest.forStack(scope).workingDirectory);
        const file = path.join(stackDir, FLEET_MANIFEST_FILE);
        if (hasErrorAnnotations(scope)) {
          fs.rmSync(file, { force: true });
          return;
        }
        fs.mkdirSync(stackDir, { recursive: true });
        fs.writeFileSync(file, JSON.stringify(resolveTokens(scope, build()), null, 2) + '\n');
      },
    });
  }
}
