/**
 * The fleet manifest: the contract between a stack and its runtime. Synth writes it as
 * `fleet.json` next to `cdk.tf.json`; the deployed runtime gets the same object as an app
 * setting, with Terraform tokens resolved at apply time. It never holds a plain-text secret.
 */
import * as fs from 'fs';
import * as path from 'path';
import { addCustomSynthesis, Construct, ISynthesisSession, resolveTokens, TerraformStack } from './cdktf';
import { Geography } from './geography';
import { ScalingSettings } from './scaling';

export const FLEET_MANIFEST_VERSION = 1;
export const FLEET_MANIFEST_FILE = 'fleet.json';

export interface ManifestFlow {
  readonly command: string;
  readonly timeoutMinutes: number;
  readonly description?: string;
}

export type ManifestImage =
  | { readonly kind: 'marketplace'; readonly publisher: string; readonly offer: string; readonly sku: string; readonly version: string }
  | { readonly kind: 'gallery'; readonly gallery: string; readonly image: string; readonly version: string; readonly id: string };

/** Each user's share of a group's queue, and who may queue at high priority. */
export interface QueueSettings {
  /** The most runs one user may have queued in the group at once. 1 to 10,000. @default 100 */
  readonly maxQueuedPerUser: number;
  /** Who may start or move runs to high priority. @default 'co-owners' (and environment admins) */
  readonly highPriority: 'co-owners' | 'users';
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = { maxQueuedPerUser: 100, highPriority: 'co-owners' };
/** Finished runs and their output are deleted this many days after they end. */
export const DEFAULT_RUN_RETENTION_DAYS = 30;
/** An Idempotency-Key answers retries with the same run for this many hours. */
export const DEFAULT_IDEMPOTENCY_KEY_HOURS = 24;

export interface ManifestGroup {
  readonly name: string;
  readonly description: string;
  readonly maxBots: number;
  readonly committedBots: number;
  readonly vmss: { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string };
  readonly vmSize: string;
  readonly computerNamePrefix: string;
  readonly image: ManifestImage;
  readonly flows: Readonly<Record<string, ManifestFlow>>;
  readonly access: { readonly users: readonly string[]; readonly coOwners: readonly string[] };
  readonly queue: QueueSettings;
  readonly scaling: ScalingSettings;
  /** How the group's bots prove their group: its managed identity's Entra tokens, or a shared token. */
  readonly botAuth: ManifestBotAuth;
  /** SHA-256 (hex) of the group's bot token when it uses one, resolved at apply time; the token itself is never here. */
  readonly botTokenSha256?: string;
}

export type ManifestBotAuth =
  | { readonly kind: 'token' }
  | { readonly kind: 'managed-identity'; readonly principalId: string; readonly resourceId: string; readonly clientId: string };

export interface FleetManifest {
  readonly version: typeof FLEET_MANIFEST_VERSION;
  readonly stack: string;
  readonly environment: {
    readonly name: string;
    readonly geography: Geography;
    readonly region: string;
    readonly botCapacity: number;
    readonly plan: 'standard' | 'trial';
    readonly enabled: boolean;
    readonly admins: readonly string[];
    readonly scaling: ScalingSettings;
    readonly runRetentionDays: number;
    readonly idempotencyKeyHours: number;
  };
  readonly groups: readonly ManifestGroup[];
  /** The order in which the app's environment stacks are promoted, when the app declares one. */
  readonly promotion?: { readonly order: readonly string[] };
}

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
