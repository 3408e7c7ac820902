/**
 * The rules of a run's and a bot's life: what a report, a request or a time-out does to them.
 * Pure functions of the rows a store has read (and locked); both stores (runtime/store/) call them
 * for every decision and keep only their SQL, their locking and their row mapping.
 */
import type { Bot, BotState, Caps, RegisterRefusal } from './bot';
import type { GroupLimits, GroupState } from './group';
import type { Run, RunState } from './run';

/** How a run ends: the values a store writes into its row. */
export interface RunEnd {
  readonly state: Exclude<RunState, 'queued' | 'running'>;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly exitCode?: number;
  readonly output?: string;
  /** Also marks the run cancel-requested, so an agent still on it is told to stop. */
  readonly cancelRequested?: true;
}

// ---------------------------------------------------------------------------------------------
// Enqueues and claims

/** The group flags that say whether it takes and hands out runs. */
export type GroupGate = Pick<GroupState, 'paused' | 'expired' | 'declared' | 'claimLimit'>;

/**
 * Why a group refuses a new run, or undefined when it takes it. An undeclared (or unknown) group
 * refuses even an idempotent replay; an expired one still answers a replay with its run, so
 * stores look the replay up between the two.
 */
export function enqueueRefusal(group: Pick<GroupGate, 'declared' | 'expired'> | undefined): 'group_unknown' | 'group_expired' | undefined {
  if (!group || !group.declared) return 'group_unknown';
  return group.expired ? 'group_expired' : undefined;
}

/** Whether a principal with `queued` runs waiting in the group may queue one more. */
export function userQueueFull(queued: number, maxQueuedPerUser: number | undefined): boolean {
  return maxQueuedPerUser !== undefined && queued >= maxQueuedPerUser;
}

export type ClaimGate =
  /** The bot is being deleted or is gone, or is not the group's: its agent should stop. */
  | { readonly kind: 'gone'; readonly state: BotState | 'unknown' }
  /** The bot is alive (it was seen now) but takes nothing: it is not idle, or runs are switched off. */
  | { readonly kind: 'none'; readonly bot: Bot }
  /** The bot was seen and takes a run if its group hands one out. */
  | { readonly kind: 'open'; readonly bot: Bot };

export function claimGate(bot: Bot | undefined, group: string, enabled: boolean): ClaimGate {
  if (!bot || bot.group !== group) return { kind: 'gone', state: 'unknown' };
  if (bot.state === 'deleting' || bot.state === 'deleted' || bot.state === 'failed') return { kind: 'gone', state: bot.state };
  return { kind: bot.state === 'idle' && enabled ? 'open' : 'none', bot };
}

/** Whether a group is open for claims at all: declared, neither paused nor expired. */
export function groupOpen(group: GroupGate | undefined): group is GroupGate {
  return !!group && !group.paused && !group.expired && group.declared;
}

/**
 * Whether an open group hands out a run: under its claim limit when it has one. `busy` counts its
 * busy bots; stores count them only when there is a limit.
 */
export function groupHandsOut(group: GroupGate | undefined, busy?: number): boolean {
  if (!groupOpen(group)) return false;
  return group.claimLimit === undefined || (busy !== undefined && busy < group.claimLimit);
}

// ---------------------------------------------------------------------------------------------
// Agents' reports

/** What an agent reports when its run ends. */
export interface CompletionReport {
  readonly botId: string;
  readonly attempt: number;
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  readonly exitCode?: number;
  readonly output?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

export type CompleteDecision =
  /** The bot's current attempt: the run ends (cancelled if a cancel was asked) and the bot is free. */
  | { readonly kind: 'completed'; readonly end: RunEnd }
  /** The same completion was recorded already: a retry, and nothing changes. */
  | { readonly kind: 'duplicate' }
  /**
   * The run has moved on (timed out, re-queued, cancelled, another attempt): the report is
   * ignored. `releaseBot`: the run ended while the bot was still on it, so the bot is free again.
   */
  | { readonly kind: 'stale'; readonly releaseBot: boolean };

export function decideComplete(run: Run | undefined, bot: Bot | undefined, report: CompletionReport): CompleteDecision {
  if (!run) return { kind: 'stale', releaseBot: false };
  const mine = run.botId === report.botId && run.attempts === report.attempt;
  if (run.state === 'running' && mine) {
    const state = run.cancelRequested ? 'cancelled' : report.status;
    const defaultCode = state === 'failed' ? 'exit_code' : state === 'cancelled' ? 'cancelled' : undefined;
    return {
      kind: 'completed',
      end: { state, exitCode: report.exitCode, output: report.output, errorCode: report.errorCode ?? defaultCode, errorMessage: report.errorMessage },
    };
  }
  if (bot && bot.id === report.botId && bot.state === 'busy' && bot.currentRunId === run.id) return { kind: 'stale', releaseBot: true };
  if (mine && run.finishedAt !== undefined) return { kind: 'duplicate' };
  return { kind: 'stale', releaseBot: false };
}

export interface HeartbeatDecision {
  /** What the agent is told: carry on (and whether to stop the run), or the run is not its own. */
  readonly reply: { readonly kind: 'ok'; readonly cancel: boolean } | { readonly kind: 'stale' };
  /** The bot is known: it was seen now. */
  readonly seen: boolean;
  /** The beat belongs to the run's current attempt: the run's last heartbeat is now. */
  readonly beat: boolean;
}

export function decideHeartbeat(run: Run | undefined, bot: Bot | undefined, attempt: number): HeartbeatDecision {
  if (!run || !bot) return { reply: { kind: 'stale' }, seen: false, beat: false };
  if (run.state === 'running' && run.botId === bot.id && run.attempts === attempt) return { reply: { kind: 'ok', cancel: run.cancelRequested }, seen: true, beat: true };
  // The run ended without the bot (time-out, cancel): tell the agent to stop it.
  if (bot.currentRunId === run.id) return { reply: { kind: 'ok', cancel: true }, seen: true, beat: false };
  return { reply: { kind: 'stale' }, seen: true, beat: false };
}

// ---------------------------------------------------------------------------------------------
// Users' requests

export type CancelDecision =
  /** A queued run ends at once. */
  | { readonly kind: 'cancelled'; readonly end: RunEnd }
  /** A running run is asked to stop; its agent hears it with its next heartbeat. */
  | { readonly kind: 'cancel_requested' }
  /** The run has ended already. */
  | { readonly kind: 'final' };

export function decideCancel(run: Run): CancelDecision {
  if (run.state === 'queued') return { kind: 'cancelled', end: { state: 'cancelled', errorCode: 'cancelled' } };
  if (run.state === 'running') return { kind: 'cancel_requested' };
  return { kind: 'final' };
}

/**
 * When a run moved to the top now stands: now, but strictly after the latest earlier move (even
 * within the same millisecond), since the latest move goes first. Undefined for a run that is not
 * queued: it stays as it is.
 */
export function decideMoveToTop(run: Run, latestMove: number | undefined, now: number): number | undefined {
  if (run.state !== 'queued') return undefined;
  return Math.max(now, (latestMove ?? 0) + 1);
}

// ---------------------------------------------------------------------------------------------
// Lost and deleted bots, time-outs

export type ReturnDecision =
  /** The run is not running on this bot: nothing to do. */
  | { readonly kind: 'none' }
  /** Back into the queue for another attempt. */
  | { readonly kind: 'requeue' }
  | { readonly kind: 'end'; readonly end: RunEnd };

/**
 * What becomes of the run a bot was on when the bot was lost or deleted: re-queued, or ended once
 * it used its attempts or a cancel was asked. `maxAttempts` is undefined for a group no longer
 * declared: one attempt.
 */
export function decideReturn(run: Run | undefined, bot: Bot, maxAttempts: number | undefined): ReturnDecision {
  if (!run || run.botId !== bot.id || run.state !== 'running') return { kind: 'none' };
  if (run.cancelRequested) return { kind: 'end', end: { state: 'cancelled', errorCode: 'cancelled', errorMessage: 'the bot was lost while the run was being cancelled' } };
  const most = maxAttempts ?? 1;
  if (run.attempts >= most) {
    return { kind: 'end', end: { state: 'failed', errorCode: 'bot_lost', errorMessage: `the bot was lost ${run.attempts} time(s); maxAttempts is ${most}` } };
  }
  return { kind: 'requeue' };
}

/**
 * A group's queue time-out: the queued runs that went into the queue before `queuedBefore`
 * waited too long, and end as `end`. The stores select those runs with it, since a queue may be
 * long.
 */
export function queueTimeout(limits: Pick<GroupLimits, 'queueTimeoutMs'>, now: number): { readonly queuedBefore: number; readonly end: RunEnd } {
  return {
    queuedBefore: now - limits.queueTimeoutMs,
    end: { state: 'expired', errorCode: 'queue_timeout', errorMessage: `waited longer than ${Math.round(limits.queueTimeoutMs / 60000)} minutes` },
  };
}

/** A running run past its flow's time-out fails, and its agent is told to stop it. */
export function timedOut(run: Run, now: number): RunEnd | undefined {
  if (run.state !== 'running' || run.startedAt === undefined || now - run.startedAt <= run.timeoutMinutes * 60000) return undefined;
  return { state: 'failed', errorCode: 'run_timeout', errorMessage: `ran longer than the flow's time-out of ${run.timeoutMinutes} minutes`, cancelRequested: true };
}

/** The states a silent agent's bot may be lost in; the stores select those bots. */
export const LOSABLE_BOT_STATES: readonly BotState[] = ['busy', 'idle'];

/**
 * A bot whose agent went silent is lost: a busy one after the heartbeat time-out, an idle one
 * (which polls for runs) after the idle silence. Returns why it failed, or undefined.
 */
export function botLost(bot: Bot, limits: Pick<GroupLimits, 'heartbeatTimeoutMs' | 'idleSilenceMs'>, now: number): { readonly failureReason: string } | undefined {
  const silence = bot.state === 'busy' ? limits.heartbeatTimeoutMs : bot.state === 'idle' ? limits.idleSilenceMs : undefined;
  if (silence === undefined || (bot.lastSeenAt ?? bot.stateChangedAt) >= now - silence) return undefined;
  return { failureReason: 'lost: its agent went silent' };
}

/**
 * A group expires once it has had no runs for `inactiveMs`: none queued or running, none enqueued
 * or started since. Groups with committed bots never do, and an expired one is left as it is.
 */
export function groupInactive(
  group: Pick<GroupState, 'expired' | 'lastActivityAt'> | undefined,
  limits: Pick<GroupLimits, 'inactiveMs' | 'committedBots'>,
  hasLiveRuns: boolean,
  now: number,
): boolean {
  if (limits.committedBots > 0 || !group || group.expired || hasLiveRuns) return false;
  return group.lastActivityAt < now - limits.inactiveMs;
}

/** A removed group's queued runs are cancelled. */
export function groupRemoved(group: string): RunEnd {
  return { state: 'cancelled', errorCode: 'group_removed', errorMessage: `group ${group} was removed from the fleet` };
}

// ---------------------------------------------------------------------------------------------
// Scaling in

/**
 * Whether the scaler may move a bot to `deleting`, the only way a bot is scaled in: it is still in
 * one of the states the plan saw it in (`from`), and, when `idleBefore` is given, an idle bot has
 * been idle since before then. A claim takes only an idle bot and the store serializes the two on
 * the bot's row, so a bot is never deleted with a run on it.
 */
export function mayMarkDeleting(bot: Bot | undefined, from: readonly BotState[], idleBefore?: number): bot is Bot {
  if (!bot || !from.includes(bot.state)) return false;
  return idleBefore === undefined || bot.state !== 'idle' || bot.stateChangedAt <= idleBefore;
}

/** Only a bot still provisioning is marked failed (a failed scale-out, a VM ARM reports Failed). */
export function mayMarkFailed(bot: Bot | undefined): bot is Bot {
  return bot?.state === 'provisioning';
}

/** Whether ARM's word that a bot's VM is gone still ends the bot: not when it has already ended. */
export function mayMarkDeleted(bot: Bot | undefined): bot is Bot {
  return bot !== undefined && bot.state !== 'deleted';
}

// ---------------------------------------------------------------------------------------------
// Placing VMs and registering agents

/**
 * A new bot: `provisioning` when the scaler creates it or adopts a VM ARM lists (its agent has yet
 * to register), `idle` and registered at once when an agent registers on a VM no bot held.
 */
export function newBot(input: { readonly id: string; readonly group: string; readonly vmName?: string; readonly state: 'provisioning' | 'idle'; readonly imageKey: string; readonly now: number }): Bot {
  const { id, group, vmName, state, imageKey, now } = input;
  const registered = state === 'idle' ? now : undefined;
  return { id, group, vmName, state, imageKey, createdAt: now, stateChangedAt: now, registeredAt: registered, lastSeenAt: registered, runsCompleted: 0 };
}

/** How many more live bots the group may have: under its maxBots and under the capacity. */
export function botRoom(caps: Caps, live: { readonly inGroup: number; readonly total: number }): number {
  return Math.max(0, Math.min(caps.maxBots - live.inGroup, caps.capacity - live.total));
}

export type Placement =
  /** The group's oldest provisioning bot still waiting for a VM takes it. */
  | { readonly kind: 'bind'; readonly bot: Bot }
  /** A new bot is made for it: the caps leave room. */
  | { readonly kind: 'adopt' }
  /** The group is full; the VM will be deleted. */
  | { readonly kind: 'unplaced' };

/** Where a VM that no live bot holds goes. `free` is the group's oldest provisioning bot without a VM. */
export function placeVm(free: Bot | undefined, room: number): Placement {
  if (free) return { kind: 'bind', bot: free };
  return room > 0 ? { kind: 'adopt' } : { kind: 'unplaced' };
}

/**
 * Why an agent may not register as this bot, or undefined when it may: the bot belongs to another
 * group, has ended, or already registered (one VM name, one agent: a second agent claiming the
 * name would act as the first).
 */
export function registrationRefusal(bot: Bot, group: string, vmName: string): { readonly refusal: RegisterRefusal; readonly reason: string } | undefined {
  if (bot.group !== group) return { refusal: 'other_group', reason: `VM ${vmName} belongs to group ${bot.group}` };
  if (bot.state === 'failed' || bot.state === 'deleting') return { refusal: 'bot_ended', reason: `bot ${bot.id} is ${bot.state}` };
  if (bot.registeredAt !== undefined) {
    return {
      refusal: 'vm_name_taken',
      reason: `VM ${vmName} is already registered as bot ${bot.id}; its agent keeps its bot credential across restarts, and no other agent may take the name`,
    };
  }
  return undefined;
}

export type RegisterDecision =
  /** The agent becomes this bot, which goes idle; `bind`: the bot takes the VM first. */
  | { readonly kind: 'register'; readonly bot: Bot; readonly bind: boolean }
  /** A new idle bot is made for the VM. */
  | { readonly kind: 'adopt' }
  | { readonly kind: 'refused'; readonly refusal: RegisterRefusal; readonly reason: string };

/**
 * An agent's registration from VM `vmName`: as the live bot that holds the VM (`existing`), else
 * where placeVm() puts the VM.
 */
export function decideRegister(group: string, vmName: string, found: { readonly existing: Bot } | { readonly placement: Placement }): RegisterDecision {
  let bot: Bot;
  let bind = false;
  if ('existing' in found) {
    bot = found.existing;
  } else if (found.placement.kind === 'bind') {
    bot = { ...found.placement.bot, vmName };
    bind = true;
  } else if (found.placement.kind === 'adopt') {
    return { kind: 'adopt' };
  } else {
    return { kind: 'refused', refusal: 'group_full', reason: `group ${group} is at its bot limit; this VM will be deleted` };
  }
  const refused = registrationRefusal(bot, group, vmName);
  return refused ? { kind: 'refused', ...refused } : { kind: 'register', bot, bind };
}
