/**
 * The runtime's durable state and the one interface both stores (SQLite, PostgreSQL) implement.
 * Every method that changes state is one transaction, so a crash at any point leaves either the
 * whole change or none of it.
 */
import type { ArrivalHistory, GroupSample, SlotSample } from '../domain/history';
import type { Bot, BotState, Caps, RegisterRefusal } from '../domain/bot';
import type { DeclaredGroup, GroupLimits, GroupState, ProvisioningError } from '../domain/group';
import type { Priority, Run, RunListing, RunState } from '../domain/run';
import type { CompletionReport } from '../domain/transitions';
import type { Actor, AuditRecord } from '../domain/audit';
import type { Delivery, DeliveryState, NewDelivery, Subscription, SubscriptionHealth } from '../domain/webhook';

export interface EnqueueInput {
  readonly id: string;
  readonly group: string;
  readonly flow: string;
  readonly inputs: unknown;
  readonly priority: Priority;
  readonly createdBy: string;
  readonly idempotencyKey?: string;
  readonly timeoutMinutes: number;
  readonly now: number;
  /** The most runs one principal may have queued in the group; counted inside the transaction. @default no limit */
  readonly maxQueuedPerUser?: number;
}

export type EnqueueResult =
  | { readonly kind: 'created'; readonly run: Run }
  | { readonly kind: 'existing'; readonly run: Run }
  | { readonly kind: 'refused'; readonly reason: 'group_expired' | 'group_unknown' }
  /** The principal already has `queued` runs waiting in the group, the most allowed. */
  | { readonly kind: 'refused'; readonly reason: 'user_queue_full'; readonly queued: number };

/** What retention forgets on one pass. */
export interface ForgetInput {
  /** Finished runs (and their output) that ended before this time are deleted. */
  readonly runsFinishedBefore: number;
  /** Idempotency keys of runs enqueued before this time are dropped; a retry after that makes a new run. */
  readonly idempotencyKeysBefore: number;
  /** The most runs (and, apart, audit records) deleted in one pass, so that one transaction stays short. */
  readonly limit: number;
  /** Audit records written before this time are deleted. */
  readonly auditRecordsBefore: number;
}

export interface ForgetResult {
  readonly runs: number;
  readonly keys: number;
  readonly audit: number;
}

/** A page of a group's audit trail, newest first. */
export interface AuditQuery {
  readonly group: string;
  readonly limit: number;
  /** Records older than this one (by ID), for paging. */
  readonly before?: number;
}

export interface ClaimInput {
  readonly botId: string;
  readonly group: string;
  readonly now: number;
  /** False while the environment is disabled: no run starts. */
  readonly enabled: boolean;
}

export type ClaimResult =
  | { readonly kind: 'claimed'; readonly run: Run }
  | { readonly kind: 'none' }
  /** The bot is being deleted or is gone: its agent should stop. */
  | { readonly kind: 'gone'; readonly state: BotState | 'unknown' };

export interface CompleteInput extends CompletionReport {
  readonly runId: string;
  readonly now: number;
}

export type CompleteResult =
  | { readonly kind: 'completed'; readonly run: Run }
  /** The same completion was already recorded: a retry. */
  | { readonly kind: 'duplicate'; readonly run: Run }
  /** The run has moved on (timed out, re-queued, cancelled); the report is ignored. */
  | { readonly kind: 'stale'; readonly run?: Run };

export type HeartbeatResult = { readonly kind: 'ok'; readonly cancel: boolean } | { readonly kind: 'stale' };

export type CancelResult =
  | { readonly kind: 'cancelled'; readonly run: Run }
  | { readonly kind: 'cancel_requested'; readonly run: Run }
  | { readonly kind: 'final'; readonly run: Run }
  | { readonly kind: 'not_found' };

export interface RunQuery {
  readonly group: string;
  readonly states?: readonly RunState[];
  readonly limit: number;
  /** Runs enqueued before this run (by enqueue order), for paging. */
  readonly before?: string;
  /** Only the runs this principal started. */
  readonly createdBy?: string;
}

/** A page of a group's history: at most `limit` runs, reading at most `scan` of the group's runs. */
export interface HistoryQuery extends RunQuery {
  /**
   * The most runs of the group (or of its creator's, with `createdBy`) one page reads, in order,
   * whatever the other filters match: the bound on a page's work.
   */
  readonly scan: number;
}

export interface HistoryPage {
  /** Newest first, at most `limit`. */
  readonly runs: RunListing[];
  /**
   * The run the next page starts before, or undefined at the end of the history. A page may hold
   * fewer than `limit` runs and still have a next one: its `scan` ran out first.
   */
  readonly next?: string;
  /** Runs the page read, for its cost. */
  readonly scanned: number;
}

/** Per-group settings the sweep needs. */
export interface SweepGroup extends GroupLimits {
  readonly name: string;
}

export interface SweepResult {
  readonly expired: Run[];
  readonly timedOut: Run[];
  readonly requeued: Run[];
  readonly failedLost: Run[];
  readonly lostBots: string[];
  readonly expiredGroups: string[];
}

/**
 * What an agent registers as: in token groups the VM name it sends; in managed-identity groups
 * the vmId and nonce of its attested data, verified by the caller before the store sees them.
 */
export type RegisterAs = { readonly vmName: string } | { readonly vmId: string; readonly nonce: string };

/** A VM ARM lists in a group's scale set: its name, and its vmId when ARM gave one. */
export interface ListedVm {
  readonly name: string;
  readonly vmId?: string;
}

/** A registration nonce handed out, or why none was: the group holds too many unused ones, or the number was taken. */
export type NonceResult = { readonly kind: 'issued' } | { readonly kind: 'full'; readonly live: number } | { readonly kind: 'taken' };

export interface RegisterResult {
  readonly kind: 'registered' | 'refused';
  readonly bot?: Bot;
  readonly reason?: string;
  readonly refusal?: RegisterRefusal;
}

export interface QueueCounts {
  readonly group: string;
  readonly queued: number;
  readonly running: number;
  /** When the group's longest-waiting queued run entered the queue (its `queuedAt`); absent when none is queued. */
  readonly oldestQueuedAt?: number;
}

/** A subscription to keep, as the API creates it or the manifest declares it. */
export type NewSubscription = Omit<Subscription, 'waitAlerted'>;

/** What an attempt to deliver came to. */
export type DeliveryOutcome =
  | { readonly kind: 'delivered'; readonly now: number }
  | { readonly kind: 'retry'; readonly now: number; readonly at: number; readonly error: string }
  | { readonly kind: 'failed'; readonly now: number; readonly error: string };

export interface DeliveryQuery {
  readonly group: string;
  readonly states?: readonly DeliveryState[];
  /** Only deliveries with at least one failed attempt. */
  readonly failing?: boolean;
  readonly limit: number;
}

/** A rotation of an API-made subscription's secret (WebhookStore.rotateSubscriptionSecret). */
export interface SecretRotation {
  /** The new secret, `whsec_…` (newSecret in runtime/webhooks/signing.ts). */
  readonly secret: string;
  /** End the previous secret's grace period at once (a leaked secret). */
  readonly revokePrevious: boolean;
  readonly now: number;
  /** Who rotated it; with it, the rotation leaves its audit record. @default no record */
  readonly actor?: Actor;
}

/**
 * Webhook subscriptions and their outbox (runtime/webhooks/outbox.ts). Every change is one
 * transaction; a claimed delivery is leased to its holder, so replicas never send one at once.
 */
export interface WebhookStore {
  /** Keeps a new subscription; with an actor (a person, through the API), its audit record in the same transaction. */
  createSubscription(subscription: NewSubscription, actor?: Actor): Promise<void>;
  /** Subscriptions (of a group, or all), oldest first, with their secrets and delivery health. */
  subscriptions(group?: string): Promise<Array<Subscription & { readonly health: SubscriptionHealth }>>;
  /** Deletes a subscription of the group and its deliveries, with its audit record when an actor is given; false when there was none. */
  deleteSubscription(group: string, id: string, actor?: Actor, now?: number): Promise<boolean>;
  /**
   * Makes the manifest's subscriptions these: new ones are added, changed ones updated (their
   * secret too, the replaced one kept as in rotateDeclaredSecrets, and an open wait episode kept),
   * the others deleted with their deliveries.
   * Subscriptions made through the API are not touched.
   */
  syncDeclaredSubscriptions(declared: readonly NewSubscription[], now?: number): Promise<void>;
  /**
   * Gives declared subscriptions the secrets their vault holds now; one whose secret differs keeps
   * the one it had as its previous secret, replaced at `now`. A compare-and-set per subscription:
   * replicas writing the same new secret at once rotate it once, and the same secret again changes
   * nothing. Subscriptions made through the API, and IDs not stored, are not touched. Returns the
   * IDs whose secret changed.
   */
  rotateDeclaredSecrets(secrets: ReadonlyArray<{ readonly id: string; readonly secret: string }>, now: number): Promise<string[]>;
  /**
   * Gives a subscription of the group made through the API a new secret at `now`, with its audit
   * record when an actor is given, in one transaction. The secret it replaces becomes its previous
   * secret, which signs beside the new one for SECRET_ROTATION_GRACE_MS; with `revokePrevious` it
   * signs no more at once. One previous secret is kept: a second rotation within the grace period
   * drops the first rotation's previous secret. Declared subscriptions are rotated in the vault
   * (rotateDeclaredSecrets) and not here. Returns the subscription as rotated, or undefined when
   * the group has no subscription made through the API with that ID.
   */
  rotateSubscriptionSecret(group: string, id: string, rotation: SecretRotation): Promise<Subscription | undefined>;
  /** Queues deliveries, due at once; one whose (subscription, event key) is queued already, or whose subscription is gone, is skipped. Returns how many were queued. */
  enqueueDeliveries(deliveries: readonly NewDelivery[]): Promise<number>;
  /** Opens a wait episode and queues its alert in one step, unless one is open already; true when it opened. */
  openWaitEpisode(subscriptionId: string, delivery: NewDelivery): Promise<boolean>;
  /** Closes a subscription's wait episode; true when one was open. */
  closeWaitEpisode(subscriptionId: string): Promise<boolean>;
  /**
   * Leases up to `limit` due deliveries (pending, next attempt now or earlier, no live lease) to
   * `holder` until `now + leaseMs`, counting the attempt. A holder that dies leaves its lease to
   * expire, and the delivery is tried again: at least once.
   */
  claimDeliveries(holder: string, now: number, leaseMs: number, limit: number): Promise<Delivery[]>;
  /**
   * Records an attempt's outcome. A success counts whoever holds the lease; a retry or a give-up
   * only from the lease's holder. False when nothing changed (delivered already, or leased anew).
   */
  finishDelivery(id: string, holder: string, outcome: DeliveryOutcome): Promise<boolean>;
  /** Which of these events are queued already for these subscriptions, as `<subscription ID> <event key>`. */
  queuedEvents(subscriptionIds: readonly string[], eventKeys: readonly string[]): Promise<Set<string>>;
  /** A group's deliveries, newest first. */
  deliveries(query: DeliveryQuery): Promise<Delivery[]>;
  /** Retention: deletes delivered and given-up deliveries finished before `before`, at most `limit`. */
  forgetDeliveries(before: number, limit: number): Promise<number>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Webhook subscriptions and their outbox. */
  readonly webhooks: WebhookStore;
  close(): Promise<void>;
  /**
   * Calls `listener` with a group's name when any replica changed that group's queue (a run
   * enqueued, requeued, cancelled or finished, a group resumed). Returns the unsubscribe function.
   * One process needs none of it: its own notifier already knows.
   */
  onQueueChange(listener: (group: string) => void): () => void;

  // groups
  /** Records the groups the manifest declares; others stay, marked undeclared. */
  syncGroups(declared: readonly DeclaredGroup[], now: number): Promise<void>;
  groups(): Promise<GroupState[]>;
  /**
   * The changes a person makes (pause, resume, cancel, priority, move to top) take the `actor`,
   * and write their audit record (see auditEntry) in the same transaction.
   */
  setPaused(group: string, paused: boolean, now: number, actor: Actor): Promise<GroupState | undefined>;
  /** Resumes a group and revives an expired one: neither paused nor expired, active now. */
  revive(group: string, now: number, actor: Actor): Promise<GroupState | undefined>;
  setBackoff(group: string, until: number | undefined, level: number): Promise<void>;
  setClaimLimits(limits: Readonly<Record<string, number | undefined>>): Promise<void>;
  recordProvisioningError(error: ProvisioningError): Promise<void>;
  provisioningErrors(group: string, limit: number): Promise<ProvisioningError[]>;

  // runs
  enqueue(input: EnqueueInput): Promise<EnqueueResult>;
  claim(input: ClaimInput): Promise<ClaimResult>;
  heartbeat(botId: string, runId: string, attempt: number, now: number): Promise<HeartbeatResult>;
  complete(input: CompleteInput): Promise<CompleteResult>;
  cancel(runId: string, now: number, actor: Actor): Promise<CancelResult>;
  setPriority(runId: string, priority: Priority, now: number, actor: Actor): Promise<Run | undefined>;
  moveToTop(runId: string, now: number, actor: Actor): Promise<Run | undefined>;
  getRun(runId: string): Promise<Run | undefined>;
  /** The queued runs of a group in claim order: `limit` of them after the first `offset`. */
  queue(group: string, limit?: number, offset?: number): Promise<RunListing[]>;
  /** Runs newest first, without their data: a list never reads inputs or output. */
  runs(query: RunQuery): Promise<RunListing[]>;
  /**
   * A page of a group's history, keyset-paginated on indexes (by group and sequence, by group,
   * creator and sequence, by group, state and sequence): its work is bounded by `scan`, however
   * long the history and however few runs the filters match.
   */
  runHistory(query: HistoryQuery): Promise<HistoryPage>;
  /**
   * Queued and running runs per group, and when the oldest queued run entered the queue; with
   * `cap`, each count stops at `cap` (enough for scaling).
   */
  queueCounts(cap?: number): Promise<QueueCounts[]>;
  /**
   * Time-outs, lost bots and inactive groups, in one transaction. It also forgets arrival history
   * and group samples older than HISTORY_DAYS + 1 days.
   */
  sweep(groups: readonly SweepGroup[], now: number): Promise<SweepResult>;
  /**
   * Retention: deletes finished runs that ended before `runsFinishedBefore` (at most `limit`),
   * audit records written before `auditRecordsBefore` (at most `limit`, oldest first) and drops
   * idempotency keys older than `idempotencyKeysBefore`, in one transaction. Queued and running
   * runs are never touched, nor the arrival history.
   */
  forget(input: ForgetInput): Promise<ForgetResult>;
  /** A group's audit records, newest first. */
  auditRecords(query: AuditQuery): Promise<AuditRecord[]>;
  /** Ends the queued runs of groups no longer declared, as `cancelled` with `group_removed`. */
  cancelRemovedGroupRuns(groups: readonly string[], now: number): Promise<Run[]>;
  /**
   * Each group's arrival history, for predictive warm-up: the slots (by start time) forecast()
   * reads, from historyReadFrom(now) (the last HISTORY_DAYS days and the hours before), and `since`, the earliest slot the store still keeps for it. Enqueuing a new
   * run counts an arrival in its slot; a started run that ends adds its busy seconds, split over
   * the slots it spanned. Both happen in the transaction that makes the change.
   */
  arrivalHistory(now: number): Promise<Record<string, ArrivalHistory>>;
  /** A group's arrivals per slot whose start is in [from, to), by slot start: one group's window, not the whole history. */
  arrivals(group: string, from: number, to: number): Promise<Map<number, number>>;
  /**
   * Records what each group looks like now in the slot of `now`: per count, the slot keeps the
   * most it was given (one transaction for all groups). The sweep forgets slots with the arrival
   * history.
   */
  recordGroupSamples(samples: readonly GroupSample[], now: number): Promise<void>;
  /** A group's sampled slots whose start is in [from, to), oldest first. */
  groupSamples(group: string, from: number, to: number): Promise<SlotSample[]>;
  /** Each group's warm-up account, as saveWarmUpAccounts() last wrote it (text the scaler reads), by group. */
  warmUpAccounts(): Promise<Record<string, string>>;
  /** Writes the given groups' warm-up accounts, replacing what each had, in one transaction. */
  saveWarmUpAccounts(accounts: Readonly<Record<string, string>>, now: number): Promise<void>;
  /**
   * Writes the given groups' published views (text the API reads), stamped `now`, replacing what
   * each had, in one transaction. Groups not declared are left out, so the table holds at most
   * one row per declared group; syncGroups() drops the rows of groups it leaves undeclared.
   */
  publishGroupViews(views: Readonly<Record<string, string>>, now: number): Promise<void>;
  /** A group's published view and when it was published, or undefined when none was. */
  publishedGroupView(group: string): Promise<PublishedGroupView | undefined>;

  // bots
  bots(group?: string): Promise<Bot[]>;
  getBot(botId: string): Promise<Bot | undefined>;
  /** Inserts up to `count` provisioning bots, never beyond the caps counted inside the transaction. */
  createBots(group: string, count: number, imageKey: string, caps: Caps, now: number): Promise<Bot[]>;
  /**
   * Binds VMs that ARM reports to provisioning bots without one, or adopts them within the caps,
   * keeping each VM's vmId; a VM a bot of the group holds already gets its vmId when it had none.
   * This is the only way a VM name or vmId reaches a bot, so the only VMs agents can register as.
   */
  bindVms(group: string, vms: readonly ListedVm[], imageKey: string, caps: Caps, now: number): Promise<{ bound: Bot[]; unplaced: string[] }>;
  /**
   * An agent's registration (decideRegister): the provisioning bot of the group that holds the
   * VM, found by name or by vmId, becomes idle with the SHA-256 of its new credential. With a vmId,
   * the nonce is used up in the same transaction, whatever the answer. Anything else is refused:
   * a VM no scale-out of the group created, one of another group, one already registered.
   */
  register(group: string, as: RegisterAs, now: number, credentialHash: string): Promise<RegisterResult>;
  /**
   * Records a registration nonce for the group, valid until `expiresAt`, unless the group already
   * holds `max` unused ones that have not expired (expired ones are dropped first).
   */
  issueNonce(group: string, nonce: string, now: number, expiresAt: number, max: number): Promise<NonceResult>;
  /** The live bot holding a credential (by its SHA-256), if any. */
  botByCredential(credentialHash: string): Promise<Bot | undefined>;
  touchBot(botId: string, now: number): Promise<void>;
  /**
   * The only way a bot is scaled in: moves the listed bots to `deleting` in one step, each only if
   * it is still in one of `from` (and, when given, idle since before `idleBefore`). Returns the
   * bots that moved; only those may be deleted in ARM.
   */
  markDeleting(botIds: readonly string[], from: readonly BotState[], now: number, idleBefore?: number): Promise<Bot[]>;
  markFailed(botIds: readonly string[], reason: string, now: number): Promise<Bot[]>;
  /** ARM confirmed the VMs are gone (or never existed): the bots end, their runs are re-queued. */
  markDeleted(botIds: readonly string[], now: number, maxAttemptsByGroup: Readonly<Record<string, number>>): Promise<void>;

  // leadership
  acquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  leaseHolder(name: string, now: number): Promise<string | undefined>;
}

/** A group's view as the leading scaler published it (runtime/scaler/published-view.ts). */
export interface PublishedGroupView {
  readonly view: string;
  readonly publishedAt: number;
}
