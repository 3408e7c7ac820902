/**
 * What the leading scaler publishes of each group for the group view, so that a replica that
 * does not lead answers it too: the last plan's reasons why runs wait and its predictive warm-up
 * (the parts waitReasons, runWaitReasons and warmUpView read), the warm-up account's summary (what
 * warmUpAccountView reads), and the recent scale-ins. Only the leader plans, so only it has them
 * in memory; the others read them from the store (Store.publishGroupViews). Pure.
 *
 * The leader writes a group's view when it changed, at most every PUBLISH_EVERY_MS, and again
 * when unchanged for REPUBLISH_MS, so a view older than LEADER_STALE_MS means that no replica
 * leads, not that nothing changed.
 */
import type { GroupPlan, WaitReason } from './plan';
import type { ScaleInRecord } from './loop';
import { AccountSummary, summarize, WarmUpAccount } from './warm-up-account';

/** The shortest gap between two writes of a group's changed view. */
export const PUBLISH_EVERY_MS = 5_000;
/** An unchanged view is written again after this long, so its age says the leader is alive. */
export const REPUBLISH_MS = 30_000;
/**
 * A published view older than this is the leader's that is gone (its lease is 3 ticks, 45 s by
 * default, and a new leader publishes on its first cycle): the group view shows none of it.
 */
export const LEADER_STALE_MS = 120_000;

/** The forecast's figures warmUpView reads. */
export type PublishedForecast = Pick<NonNullable<GroupPlan['forecast']>, 'bots' | 'expected' | 'pace' | 'days' | 'warmBots' | 'plannedBots'>;

/** A group's part of the last plan that the group view reads. */
export interface PlanForView {
  readonly waiting: readonly WaitReason[];
  readonly forecast?: PublishedForecast;
}

/** A scale-in as the group view shows it: how many bots, not which. */
export type ScaleInSummary = Omit<ScaleInRecord, 'botIds'> & { readonly bots: number };

/** One group's published view. */
export interface GroupViewState {
  /** The group's part of the last plan, absent when the plan had none of it. */
  readonly plan?: PlanForView;
  /** The warm-up account's summary when published, absent without an account. */
  readonly account?: AccountSummary;
  /** The recent scale-ins, the newest first. */
  readonly scaleIns: readonly ScaleInSummary[];
}

/** The group's view from the leader's memory: only the fields the group view reads. */
export function groupViewState(plan: GroupPlan | undefined, account: WarmUpAccount | undefined, scaleIns: readonly ScaleInRecord[], now: number): GroupViewState {
  const forecast = plan?.forecast;
  return {
    ...(plan
      ? {
          plan: {
            waiting: plan.waiting,
            ...(forecast
              ? { forecast: { bots: forecast.bots, expected: forecast.expected, pace: forecast.pace, days: forecast.days, warmBots: forecast.warmBots, plannedBots: forecast.plannedBots } }
              : {}),
          },
        }
      : {}),
    ...(account ? { account: summarize(account, now) } : {}),
    scaleIns: scaleIns.map(({ botIds, ...rest }) => ({ ...rest, bots: botIds.length })),
  };
}

/** The text stored: JSON, the same for the same view, so that "changed" is a comparison of texts. */
export function groupViewText(view: GroupViewState): string {
  return JSON.stringify(view);
}

/** A stored view read back; undefined when the text is not one (a damaged row shows as none). */
export function parseGroupViewText(text: string): GroupViewState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v.scaleIns)) return undefined;
  if (v.plan !== undefined && (typeof v.plan !== 'object' || v.plan === null || !Array.isArray((v.plan as Record<string, unknown>).waiting))) return undefined;
  return value as GroupViewState;
}

/** What the leader last wrote of a group, and when. */
export interface LastPublished {
  readonly text: string;
  readonly at: number;
}

/**
 * Whether a group's view may be written now at all, before it is built: none was written (by this
 * leader), or the last write is PUBLISH_EVERY_MS old. The scaler cycles on every enqueue, claim and
 * completion, so most cycles skip building the view.
 */
export function mayPublish(last: LastPublished | undefined, now: number): boolean {
  if (!last) return true;
  const age = now - last.at;
  // A clock set back makes the age negative: write, rather than wait for as long as it went back.
  return age < 0 || age >= PUBLISH_EVERY_MS;
}

/**
 * Whether to write a group's view now: when none was written (by this leader), when it changed
 * and the last write is PUBLISH_EVERY_MS old, or when unchanged and REPUBLISH_MS old.
 */
export function dueToPublish(last: LastPublished | undefined, text: string, now: number): boolean {
  if (!last) return true;
  if (!mayPublish(last, now)) return false;
  const age = now - last.at;
  return text !== last.text || age < 0 || age >= REPUBLISH_MS;
}

/** How a replica that does not lead reads a published view: fresh, stale (the leader is gone), or none. */
export function readPublished(published: { readonly view: string; readonly publishedAt: number } | undefined, now: number): { state?: GroupViewState; publishedAt?: number; stale: boolean } {
  if (!published) return { stale: true };
  if (now - published.publishedAt > LEADER_STALE_MS) return { publishedAt: published.publishedAt, stale: true };
  const state = parseGroupViewText(published.view);
  return state ? { state, publishedAt: published.publishedAt, stale: false } : { publishedAt: published.publishedAt, stale: true };
}
