/** Bots: one VM of a group's scale set and the agent on it. */
import type { ManifestGroup } from '../config/manifest';

export type BotState = 'provisioning' | 'idle' | 'busy' | 'failed' | 'deleting' | 'deleted';
export const BOT_STATES: readonly BotState[] = ['provisioning', 'idle', 'busy', 'failed', 'deleting', 'deleted'];

export interface Bot {
  readonly id: string;
  readonly group: string;
  readonly vmName?: string;
  /**
   * The VM's unique ID (`properties.vmId` in ARM, `vmId` in its attested data), as the scaler read
   * it when it listed the scale set; absent until then.
   */
  readonly vmId?: string;
  readonly state: BotState;
  readonly createdAt: number;
  readonly registeredAt?: number;
  readonly stateChangedAt: number;
  readonly lastSeenAt?: number;
  readonly currentRunId?: string;
  readonly runsCompleted: number;
  /** What the bot was created as (image and admin password version, see botModelKeyOf); bots of an older model are replaced. */
  readonly imageKey: string;
  readonly failureReason?: string;
}

/** The most live bots (every state but `deleted`) a group may have, and the whole environment. */
export interface Caps {
  readonly maxBots: number;
  readonly capacity: number;
}

/**
 * Why an agent's registration was refused: no VM the scaler created for the group is the one named,
 * the VM's bot registered already, the VM was created for another group, its bot ended, or the
 * nonce of its attested data was not one the runtime issued to the group and has not used.
 */
export type RegisterRefusal = 'vm_not_created' | 'vm_name_taken' | 'vm_of_another_group' | 'bot_ended' | 'nonce_invalid';

/**
 * A stable key for what a group's bots should be: the image, and the version of the admin
 * password they were given. Bots under another key are replaced once idle (plan.ts, `outdated`).
 */
export function botModelKeyOf(group: ManifestGroup): string {
  const image = group.image;
  const imageKey = image.kind === 'gallery' ? `gallery:${image.id}` : `marketplace:${image.publisher}/${image.offer}/${image.sku}/${image.version}`;
  return group.credentialVersion === undefined ? imageKey : `${imageKey}#admin:${group.credentialVersion}`;
}
