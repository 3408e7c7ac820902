/** Runs: what a bot executes, from the moment it is enqueued until it ends. */
export type Priority = 'high' | 'normal';
export const PRIORITIES: readonly Priority[] = ['high', 'normal'];

export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';
export const RUN_STATES: readonly RunState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'];
export const FINAL_RUN_STATES: readonly RunState[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export interface Run {
  readonly id: string;
  readonly group: string;
  readonly flow: string;
  readonly inputs: unknown;
  readonly priority: Priority;
  readonly state: RunState;
  /** How many times a bot has started the run. */
  readonly attempts: number;
  readonly createdBy: string;
  readonly idempotencyKey?: string;
  readonly timeoutMinutes: number;
  readonly enqueuedAt: number;
  /** When the run last went (back) into the queue. */
  readonly queuedAt: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly movedToTopAt?: number;
  readonly lastHeartbeatAt?: number;
  readonly cancelRequested: boolean;
  readonly botId?: string;
  readonly vmName?: string;
  readonly exitCode?: number;
  readonly output?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

/** A run as lists read it: everything but its data (inputs, output, error text), which only the run's own read returns. */
export type RunListing = Omit<Run, 'inputs' | 'output' | 'errorMessage'>;
