/**
 * The run lifecycle as the API sees it: enqueue, claim, heartbeat, complete, cancel,
 * re-prioritise, move to top, pause and resume, and the registration of the bots that claim
 * runs. Here live the request checks (flow catalogue, input size, the environment switch), the
 * long-poll of claims and the wake-ups of waiting claimers and the scaler. What a report or
 * request does to a run or a bot is decided in runtime/domain/transitions.ts, which both stores
 * call inside the transaction that makes each step atomic.
 *
 * The queue announces what happened to runs and bots through its own event interface
 * (events.ts); the scaler, the metrics and whatever else watches subscribe to it there.
 */
import { randomInt } from 'crypto';
import { conflict, notFound, RuntimeError, unprocessable } from '../errors';
import type { FleetManifest, ManifestGroup } from '../config/manifest';
import { acceptedFlow, SELF_TEST_FLOW } from '../config/self-test-flow';
import { newId } from '../store/ids';
import type { ClaimResult, CompleteInput, RegisterAs, RegisterResult, Store, SweepGroup, SweepResult } from '../store/types';
import type { Priority, Run } from '../domain/run';
import type { Actor } from '../domain/audit';
import type { QueueNotifier } from './notifier';
import type { QueueListener } from './events';

/** The most an agent may wait in one claim. */
export const MAX_CLAIM_WAIT_MS = 30_000;
/** How long a registration nonce waits for the attested data that carries it. */
export const REGISTRATION_NONCE_TTL_MS = 5 * 60_000;
/** Unused registration nonces one group may hold at once: each is a row until used or void. */
export const MAX_REGISTRATION_NONCES = 100;
/** Inputs are passed to flows as JSON; keep them small. */
export const MAX_INPUTS_BYTES = 32 * 1024;
/** And shallow: deeper JSON would cost a recursive walk its stack. */
export const MAX_INPUTS_DEPTH = 32;

/** How deep a JSON value nests, counted without recursion, stopping once past `limit`. */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

export interface EnqueueRequest {
  readonly group: string;
  readonly flow: string;
  readonly inputs?: Record<string, unknown>;
  readonly priority?: Priority;
  readonly createdBy: string;
  readonly idempotencyKey?: string;
}

export interface RunQueueOptions {
  readonly store: Store;
  readonly manifest: FleetManifest;
  readonly notifier: QueueNotifier;
  readonly now?: () => number;
  /** Where the queue announces what happened, usually the runtime's QueueEventHub. @default nobody is told */
  readonly events?: QueueListener;
}

export class RunQueue {
  readonly store: Store;
  readonly manifest: FleetManifest;
  readonly notifier: QueueNotifier;
  private readonly now: () => number;
  private readonly events: QueueListener;
  private readonly groupsByName: Map<string, ManifestGroup>;

  constructor(options: RunQueueOptions) {
    this.store = options.store;
    this.manifest = options.manifest;
    this.notifier = options.notifier;
    this.now = options.now ?? Date.now;
    this.events = options.events ?? {};
    this.groupsByName = new Map(options.manifest.groups.map((g) => [g.name, g]));
  }

  /** The declared group, or a 404 that names the groups that exist. */
  group(name: string): ManifestGroup {
    const group = this.groupsByName.get(name);
    if (!group) throw notFound('group_not_found', `group "${name}" does not exist in environment ${this.manifest.environment.name}`);
    return group;
  }

  async enqueue(request: EnqueueRequest): Promise<{ run: Run; created: boolean }> {
    const group = this.group(request.group);
    const env = this.manifest.environment;
    if (!env.enabled) {
      throw conflict('environment_disabled', `environment ${env.name} is disabled (enabled: false in its stack); runs are refused until it is enabled and deployed again`);
    }
    // The group's catalogue, or the built-in self-test every group runs.
    const flow = acceptedFlow(group.flows, request.flow);
    if (!flow) {
      const declared = Object.keys(group.flows);
      throw unprocessable(
        'unknown_flow',
        `flow: "${request.flow}" is not in group ${group.name}'s flow catalogue; declared flows: ${declared.length ? declared.join(', ') : 'none'}; every group also runs the built-in ${SELF_TEST_FLOW}`,
      );
    }
    const inputs = request.inputs ?? {};
    if (jsonDepth(inputs, MAX_INPUTS_DEPTH) > MAX_INPUTS_DEPTH) {
      throw unprocessable('inputs_too_deep', `inputs: nested more than ${MAX_INPUTS_DEPTH} levels deep; flatten them`);
    }
    const size = Buffer.byteLength(JSON.stringify(inputs));
    if (size > MAX_INPUTS_BYTES) throw unprocessable('inputs_too_large', `inputs: ${size} bytes of JSON, more than the limit of ${MAX_INPUTS_BYTES}`);

    const result = await this.store.enqueue({
      id: newId('run'),
      group: group.name,
      flow: request.flow,
      inputs,
      priority: request.priority ?? 'normal',
      createdBy: request.createdBy,
      idempotencyKey: request.idempotencyKey,
      timeoutMinutes: flow.timeoutMinutes,
      now: this.now(),
      maxQueuedPerUser: group.queue.maxQueuedPerUser,
    });
    if (result.kind === 'refused') {
      if (result.reason === 'user_queue_full') {
        throw new RuntimeError(
          429,
          'user_queue_full',
          `you have ${result.queued} runs queued in group ${group.name}, the most one user may (queue.maxQueuedPerUser ${group.queue.maxQueuedPerUser}); wait for some to start, or cancel some`,
        );
      }
      if (result.reason === 'group_expired') {
        throw conflict(
          'group_expired',
          `group ${group.name} expired after ${group.scaling.inactiveDays} days without runs and takes no runs; a co-owner can revive it with POST /v1/groups/${group.name}/resume`,
        );
      }
      throw notFound('group_not_found', `group "${group.name}" is not active in this runtime`);
    }
    if (result.kind === 'created') {
      this.events.runQueued?.(result.run);
      this.notifier.notify(group.name);
      this.events.groupChanged?.(group.name);
    }
    return { run: result.run, created: result.kind === 'created' };
  }

  /**
   * A bot's claim: returns a run at once if one is waiting, otherwise waits up to `waitMs` for
   * one. Only an idle bot of the group gets a run, never while the group is paused.
   */
  async claim(botId: string, group: string, waitMs: number, signal?: AbortSignal): Promise<ClaimResult> {
    const deadline = this.now() + Math.min(Math.max(waitMs, 0), MAX_CLAIM_WAIT_MS);
    for (;;) {
      const version = this.notifier.version(group);
      const result = await this.store.claim({ botId, group, now: this.now(), enabled: this.manifest.environment.enabled });
      if (result.kind !== 'none') {
        if (result.kind === 'claimed') {
          this.events.runClaimed?.(result.run);
          this.events.groupChanged?.(group);
        }
        return result;
      }
      const left = deadline - this.now();
      if (left <= 0 || signal?.aborted) return result;
      await this.notifier.waitForChange(group, version, left, signal);
    }
  }

  heartbeat(botId: string, runId: string, attempt: number) {
    return this.store.heartbeat(botId, runId, attempt, this.now());
  }

  async complete(input: Omit<CompleteInput, 'now'>) {
    const result = await this.store.complete({ ...input, now: this.now() });
    if (result.kind === 'completed') this.events.runFinished?.(result.run);
    const bot = await this.store.getBot(input.botId);
    if (bot) {
      // The bot is free again: it may take the next run, and the scaler may rebalance.
      this.notifier.notify(bot.group);
      this.events.groupChanged?.(bot.group);
    }
    return result;
  }

  /** A person's cancel; the store writes its audit record with it, as for every change below. */
  async cancel(runId: string, actor: Actor) {
    const result = await this.store.cancel(runId, this.now(), actor);
    if (result.kind === 'cancelled') {
      this.events.runFinished?.(result.run);
      this.events.groupChanged?.(result.run.group);
    }
    return result;
  }

  setPriority(runId: string, priority: Priority, actor: Actor) {
    return this.store.setPriority(runId, priority, this.now(), actor);
  }

  moveToTop(runId: string, actor: Actor) {
    return this.store.moveToTop(runId, this.now(), actor);
  }

  /**
   * An agent's registration as the VM the scaler created for it (Store.register, decideRegister).
   * A new bot is idle: waiting claims wake, and the scaler re-plans.
   */
  async register(group: string, as: RegisterAs, credentialHash: string): Promise<RegisterResult> {
    const declared = this.group(group);
    const result = await this.store.register(declared.name, as, this.now(), credentialHash);
    if (result.kind === 'registered') {
      if (result.bot) this.events.botRegistered?.(result.bot);
      this.notifier.notify(declared.name);
      this.events.groupChanged?.(declared.name);
    }
    return result;
  }

  /**
   * A nonce for the attested data of one registration of the group: 10 random digits (the
   * metadata service takes "A 10-digit string", Microsoft Learn, "Azure Instance Metadata
   * Service"), used up by the registration that presents it, and void after
   * REGISTRATION_NONCE_TTL_MS. A group holds at most MAX_REGISTRATION_NONCES unused ones.
   */
  async issueNonce(group: string): Promise<{ nonce: string; expiresAt: number }> {
    const declared = this.group(group);
    // Ten digits leave room for a collision with a nonce still live; another draw settles it.
    for (let draw = 0; draw < 3; draw++) {
      const nonce = String(randomInt(0, 10_000_000_000)).padStart(10, '0');
      const now = this.now();
      const expiresAt = now + REGISTRATION_NONCE_TTL_MS;
      const result = await this.store.issueNonce(declared.name, nonce, now, expiresAt, MAX_REGISTRATION_NONCES);
      if (result.kind === 'issued') return { nonce, expiresAt };
      if (result.kind === 'full') {
        throw new RuntimeError(
          429,
          'too_many_nonces',
          `group ${declared.name} holds ${result.live} unused registration nonces, the most it may (${MAX_REGISTRATION_NONCES}); each is void ${REGISTRATION_NONCE_TTL_MS / 1000} s after it was issued: retry then`,
        );
      }
    }
    throw new RuntimeError(503, 'nonce_unavailable', 'no unused registration nonce could be drawn; retry');
  }

  /**
   * The leader's periodic sweep (Store.sweep): wakes the claims of the groups whose runs went back
   * to the queue or expired, and announces the runs it ended and the bots it took for lost.
   */
  async sweep(groups: readonly SweepGroup[], now: number): Promise<SweepResult> {
    const swept = await this.store.sweep(groups, now);
    for (const run of [...swept.requeued, ...swept.expired]) this.notifier.notify(run.group);
    for (const run of [...swept.expired, ...swept.timedOut, ...swept.failedLost]) this.events.runFinished?.(run);
    for (const botId of swept.lostBots) this.events.botLost?.(botId);
    return swept;
  }

  /** Cancels the runs of groups the manifest no longer declares (Store.cancelRemovedGroupRuns), and announces each. */
  async cancelRemovedGroupRuns(groups: readonly string[], now: number): Promise<Run[]> {
    const cancelled = await this.store.cancelRemovedGroupRuns(groups, now);
    for (const run of cancelled) this.events.runFinished?.(run);
    return cancelled;
  }

  async pause(group: string, actor: Actor) {
    this.group(group);
    const state = await this.store.setPaused(group, true, this.now(), actor);
    this.events.groupChanged?.(group);
    return state;
  }

  /** Resumes a paused group, and revives an expired one. */
  async resume(group: string, actor: Actor) {
    this.group(group);
    const state = await this.store.revive(group, this.now(), actor);
    this.notifier.notify(group);
    this.events.groupChanged?.(group);
    return state;
  }
}
