/**
 * The audit trail: which change a person makes to a group's queue or to the group leaves which
 * record. A record says who (the principal, and whether through the API or the dashboard), what
 * (the action, the run), when, and the fields the action changed, before and after. Both stores
 * write it in the transaction that makes the change, so no change commits without its record;
 * the records are never updated, and retention deletes them with the finished runs
 * (runRetentionDays).
 */
import { createHash } from 'crypto';
import type { GroupState } from './group';
import type { Run } from './run';
import { Subscription, urlWithoutQuery } from './webhook';

/** Who made a change, and through what. */
export interface Actor {
  /** The principal: a static token's name, or an Entra ID object ID. */
  readonly id: string;
  readonly via: 'api' | 'dashboard';
}

/** The values of the fields an action compares, before or after it: JSON scalars. */
export type AuditFields = Readonly<Record<string, string | number | boolean | null>>;

/** A record as a store writes it. */
export interface AuditEntry {
  readonly group: string;
  readonly at: number;
  readonly actor: string;
  readonly via: Actor['via'];
  readonly action: AuditAction;
  /** The run the action changed; absent for a change of the group. */
  readonly runId?: string;
  readonly before: AuditFields;
  readonly after: AuditFields;
}

/** A record as a store reads it back: `id` grows with each record, and pages the trail. */
export interface AuditRecord extends AuditEntry {
  readonly id: number;
}

interface Subjects {
  readonly run: Run;
  readonly group: GroupState;
  readonly webhook: Subscription;
}

/**
 * Which change records what: per action, what it changes (a run or the group) and the fields
 * compared before and after. Typed per action, so a new action without its row does not compile.
 */
export const AUDITED = {
  priority: { subject: 'run', fields: ['priority'] },
  'move-to-top': { subject: 'run', fields: ['movedToTopAt'] },
  cancel: { subject: 'run', fields: ['state', 'cancelRequested'] },
  pause: { subject: 'group', fields: ['paused'] },
  /** Resume also revives an expired group. */
  resume: { subject: 'group', fields: ['paused', 'expired'] },
  /** A webhook subscription made or deleted through the API (the stack's own are in git). */
  'webhook-create': { subject: 'webhook', fields: ['id', 'url', 'events', 'format', 'waitAboveMinutes'] },
  'webhook-delete': { subject: 'webhook', fields: ['id', 'url', 'events', 'format', 'waitAboveMinutes'] },
  /**
   * A new secret for a subscription made through the API: the secrets by their fingerprints
   * (secretFingerprint), so the record says which secret took over and which one still signs,
   * and that one was revoked at once when `previousSecret` is null after.
   */
  'webhook-rotate-secret': { subject: 'webhook', fields: ['id', 'url', 'secret', 'previousSecret', 'secretReplacedAt'] },
} as const satisfies Record<
  string,
  | { subject: 'run'; fields: ReadonlyArray<keyof Run> }
  | { subject: 'group'; fields: ReadonlyArray<keyof GroupState> }
  | { subject: 'webhook'; fields: ReadonlyArray<keyof Subscription> }
>;

export type AuditAction = keyof typeof AUDITED;
export const AUDIT_ACTIONS = Object.keys(AUDITED) as AuditAction[];

type SubjectOf<A extends AuditAction> = Subjects[(typeof AUDITED)[A]['subject']];

/** Fields that hold a signing secret, which a record names by its fingerprint only. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['secret', 'previousSecret']);

/**
 * A secret's fingerprint: `sha256:` and the first 12 hex digits of the SHA-256 of the whole
 * `whsec_…` string. Enough to tell which secret a receiver holds (`printf %s "$SECRET" | sha256sum`),
 * and no help in finding a secret of 32 random bytes.
 */
export function secretFingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}

/**
 * The fields' values as JSON scalars: a list as its items joined by commas, a URL without its query
 * (a Teams Workflows URL carries its signature there), a secret as its fingerprint; a subject that
 * does not exist (before a webhook is made, after it is deleted) as nulls.
 */
function pick(subject: object | undefined, fields: readonly string[]): AuditFields {
  const values = (subject ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    fields.map((f) => {
      const v = values[f];
      if (Array.isArray(v)) return [f, v.join(',')];
      if (f === 'url' && typeof v === 'string') return [f, urlWithoutQuery(v)];
      if (SECRET_FIELDS.has(f) && typeof v === 'string') return [f, secretFingerprint(v)];
      return [f, (v ?? null) as string | number | boolean | null];
    }),
  );
}

/**
 * The record of `action` by `actor` at `at`, given its run or group as the transaction read it
 * before and after the change; undefined when there is nothing to record: the run or group was
 * not found, or the action changed none of its fields (a cancel of a finished run, a pause of a
 * paused group, the priority a run already has).
 */
export function auditEntry<A extends AuditAction>(action: A, before: SubjectOf<A> | undefined, after: SubjectOf<A> | undefined, actor: Actor, at: number): AuditEntry | undefined {
  const { subject, fields } = AUDITED[action];
  // A webhook is made from nothing and deleted to nothing; a run or group must exist on both sides.
  if (subject === 'webhook' ? !before && !after : !before || !after) return undefined;
  const was = pick(before, fields);
  const is = pick(after, fields);
  if (fields.every((f) => was[f] === is[f])) return undefined;
  const run = subject === 'run' ? (after as Run) : undefined;
  const webhook = subject === 'webhook' ? ((after ?? before) as Subscription) : undefined;
  return {
    group: run ? run.group : webhook ? webhook.group : (after as GroupState).name,
    at,
    actor: actor.id,
    via: actor.via,
    action,
    ...(run ? { runId: run.id } : {}),
    before: was,
    after: is,
  };
}
