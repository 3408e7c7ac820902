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
 * A new bot, `provisioning`: the scaler creates it before a scale-out, or adopts a VM ARM lists in
 * the group's scale set (with its vmId when ARM gave it); its agent has yet to register.
 */
export function newBot(input: { readonly id: string; readonly group: string; readonly vmName?: string; readonly vmId?: string; readonly imageKey: string; readonly now: number }): Bot {
  const { id, group, vmName, vmId, imageKey, now } = input;
  return { id, group, vmName, vmId, state: 'provisioning', imageKey, createdAt: now, stateChangedAt: now, runsCompleted: 0 };
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
 * Who an agent says its VM is: in token groups the VM name in its request, which the group's token
 * cannot prove; in managed-identity groups the vmId of its attested data, which Azure signed for
 * that VM, and whether the data's nonce was one the runtime issued to the group and had not used.
 */
export type RegistrationClaim =
  | { readonly kind: 'name'; readonly vmName: string }
  | { readonly kind: 'attested'; readonly vmId: string; readonly nonceValid: boolean };

export type RegisterDecision =
  /** The agent becomes this bot, which goes idle. */
  | { readonly kind: 'register'; readonly bot: Bot }
  | { readonly kind: 'refused'; readonly refusal: RegisterRefusal; readonly reason: string };

/**
 * An agent's registration in `group`, as the live bot that holds the VM it claims (`found`, looked
 * up by name or by vmId across all groups), or refused. A bot registers only as a VM the scaler
 * created for its group (a provisioning bot the scaler bound to a VM it listed in the group's
 * scale set) that has not registered yet: names nobody created, VMs of other groups and VMs already
 * registered are all refused, so no credential can take over another bot's VM.
 */
export function decideRegister(group: string, claim: RegistrationClaim, found: Bot | undefined): RegisterDecision {
  const vm = claim.kind === 'name' ? `VM ${claim.vmName}` : `the VM with vmId ${claim.vmId}`;
  if (claim.kind === 'attested' && !claim.nonceValid) {
    return {
      kind: 'refused',
      refusal: 'nonce_invalid',
      reason: `the attested data's nonce was not issued to group ${group}, was used already, or expired; ask for a new one (POST /v1/agent/register/nonce) and the VM's attested data with it`,
    };
  }
  if (!found) {
    const listed = claim.kind === 'name' ? 'no VM the scaler listed in its scale set has that name' : 'the scaler has listed no VM of that vmId in its scale set';
    return {
      kind: 'refused',
      refusal: 'vm_not_created',
      reason: `${vm} is not a VM the scaler created for group ${group}: ${listed}. A bot registers only as a VM a scale-out of its group created; the agent of a new VM retries until the scaler has listed it`,
    };
  }
  if (found.group !== group) {
    return { kind: 'refused', refusal: 'vm_of_another_group', reason: `${vm} was created for another group, not ${group}; a bot registers only as a VM of its own group` };
  }
  if (found.state === 'failed' || found.state === 'deleting' || found.state === 'deleted') {
    return { kind: 'refused', refusal: 'bot_ended', reason: `${vm} was the VM of bot ${found.id}, which is ${found.state}` };
  }
  if (found.registeredAt !== undefined) {
    return {
      kind: 'refused',
      refusal: 'vm_name_taken',
      reason: `${vm} is already registered as bot ${found.id}; its agent keeps its bot credential across restarts, and no other agent may register it`,
    };
  }
  return { kind: 'register', bot: found };
}
