/**
 * Scaling settings: declared on the environment, overridable per group, read by the runtime's
 * scaler from the fleet manifest.
 */

/** An Azure standby pool of pre-provisioned VMs attached to a group's scale set. */
export interface StandbyPoolSettings {
  /** The most VMs the pool keeps ready. */
  readonly maxReadyCapacity: number;
  /** @default 0 */
  readonly minReadyCapacity?: number;
  /**
   * `Deallocated` VMs cost only their disks; `Running` VMs start faster.
   * @default 'Deallocated'
   */
  readonly vmState?: 'Running' | 'Deallocated';
}

export interface ScalingSettings {
  /** A bot idle this long is deleted. @default 10 */
  readonly idleMinutes: number;
  /** Warm bots kept idle while the group is in use, inside maxBots and the capacity. @default 0 */
  readonly standbyBots: number;
  /** A group unused this long is cold: it keeps no standby bots, and its first run pays the full boot. @default 8 */
  readonly coldAfterHours: number;
  /** A bot that has not registered by then is marked failed and deleted. @default 30 */
  readonly bootTimeoutMinutes: number;
  /** How often an agent reports a running flow; three missed beats mean the bot is lost. @default 30 */
  readonly heartbeatSeconds: number;
  /** How many times a run is tried before it ends failed because its bots were lost. @default 3 */
  readonly maxAttempts: number;
  /** A run that waits longer ends as `expired`. @default 6 */
  readonly queueTimeoutHours: number;
  /** A group without committed bots that ran nothing this long becomes `expired`. @default 28 */
  readonly inactiveDays: number;
  /** Replace a bot after it has run this many flows (a fresh desktop). @default never */
  readonly recycleAfterRuns?: number;
  /** An Azure standby pool for the group's scale set. @default no standby pool */
  readonly standbyPool?: StandbyPoolSettings;
  /**
   * Predictive warm-up: start bots ahead of the demand the group's last 7 days of arrivals show
   * for the coming boot window at this time of day, damped when today runs quieter than those
   * days. `false` scales on queued and running runs (and standby bots) only.
   * @default true
   */
  readonly predictive?: boolean;
  /** How far ahead predictive warm-up looks, in minutes: about one boot. @default 15 */
  readonly predictiveLeadMinutes?: number;
  /** The most bots predictive warm-up alone keeps in a group (a cost cap). @default the group's maxBots */
  readonly predictiveMaxBots?: number;
}

/** The defaults, documented in the README's "Scaling settings" table. */
export const DEFAULT_SCALING: ScalingSettings = {
  idleMinutes: 10,
  standbyBots: 0,
  coldAfterHours: 8,
  bootTimeoutMinutes: 30,
  heartbeatSeconds: 30,
  maxAttempts: 3,
  queueTimeoutHours: 6,
  inactiveDays: 28,
  predictive: true,
  predictiveLeadMinutes: 15,
};

/** Defaults, then the environment's settings, then the group's. */
export function resolveScaling(...layers: ReadonlyArray<Partial<ScalingSettings> | undefined>): ScalingSettings {
  return Object.assign({}, DEFAULT_SCALING, ...layers.map(definedOnly));
}

function definedOnly(layer: Partial<ScalingSettings> | undefined): Partial<ScalingSettings> {
  return Object.fromEntries(Object.entries(layer ?? {}).filter(([, v]) => v !== undefined));
}
