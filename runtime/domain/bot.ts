/** Bots: one VM of a group's scale set and the agent on it. */
export type BotState = 'provisioning' | 'idle' | 'busy' | 'failed' | 'deleting' | 'deleted';
export const BOT_STATES: readonly BotState[] = ['provisioning', 'idle', 'busy', 'failed', 'deleting', 'deleted'];

export interface Bot {
  readonly id: string;
  readonly group: string;
  readonly vmName?: string;
  readonly state: BotState;
  readonly createdAt: number;
  readonly registeredAt?: number;
  readonly stateChangedAt: number;
  readonly lastSeenAt?: number;
  readonly currentRunId?: string;
  readonly runsCompleted: number;
  /** Which image the bot was created from; bots on an old image are replaced. */
  readonly imageKey: string;
  readonly failureReason?: string;
}

/** The most live bots (every state but `deleted`) a group may have, and the whole environment. */
export interface Caps {
  readonly maxBots: number;
  readonly capacity: number;
}

/** Why an agent's registration was refused: the VM already has a registered bot, the group is full, or the bot ended. */
export type RegisterRefusal = 'vm_name_taken' | 'group_full' | 'other_group' | 'bot_ended';
