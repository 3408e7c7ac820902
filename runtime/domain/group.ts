/** Groups: a set of bots that run one catalogue of flows, and its queue. */
export interface GroupState {
  readonly name: string;
  readonly paused: boolean;
  readonly expired: boolean;
  /** The last time a run of the group was enqueued or started, or when the group was first seen. */
  readonly lastActivityAt: number;
  readonly backoffUntil?: number;
  readonly backoffLevel: number;
  /** Busy bots the group may have while capacity is contended; unset when it is not. */
  readonly claimLimit?: number;
  /** False once the group is gone from the manifest. */
  readonly declared: boolean;
  /** The group's scale set, remembered so bots of a removed group can still be deleted. */
  readonly vmss?: { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string };
}

export interface DeclaredGroup {
  readonly name: string;
  readonly vmss: { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string };
}

export interface ProvisioningError {
  readonly group: string;
  readonly at: number;
  readonly operation: string;
  readonly code: string;
  readonly message: string;
}

/** A group's time limits and attempts, as the sweep applies them. */
export interface GroupLimits {
  readonly queueTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
  /** An idle bot whose agent has not polled for this long is lost too. */
  readonly idleSilenceMs: number;
  readonly maxAttempts: number;
  readonly inactiveMs: number;
  /** Groups with committed bots never become inactive. */
  readonly committedBots: number;
}
