/**
 * A group's arrival history: per 10-minute slot over the last 7 days, how many runs arrived and
 * how many busy bot-seconds ran. The stores record it with each change; the scaler's forecast
 * (runtime/scaler/history.ts) reads it.
 */
export const SLOT_MINUTES = 10;
export const SLOT_MS = SLOT_MINUTES * 60_000;
export const HISTORY_DAYS = 7;
export const DAY_MS = 24 * 60 * 60_000;
/** How far back the forecast's "how today is going" looks. */
export const TRAILING_MS = 2 * 60 * 60_000;

export interface SlotCounts {
  arrivals: number;
  busySeconds: number;
}

/** A group's history: slots (by start time) with activity, and when recording began. */
export interface ArrivalHistory {
  readonly since: number;
  readonly slots: ReadonlyMap<number, Readonly<SlotCounts>>;
}

export function slotOf(at: number): number {
  return Math.floor(at / SLOT_MS) * SLOT_MS;
}

/** The busy seconds of a run from `start` to `end`, split over the slots it spans. */
export function busyBySlot(start: number, end: number): Array<{ slot: number; seconds: number }> {
  const out: Array<{ slot: number; seconds: number }> = [];
  for (let slot = slotOf(start); slot < end; slot += SLOT_MS) {
    const from = Math.max(start, slot);
    const to = Math.min(end, slot + SLOT_MS);
    if (to > from) out.push({ slot, seconds: (to - from) / 1000 });
  }
  return out;
}

/** The earliest slot the forecast reads: HISTORY_DAYS back, with the trailing window before that day. */
export function historyReadFrom(now: number): number {
  return slotOf(now - HISTORY_DAYS * DAY_MS - TRAILING_MS);
}

/** Slots before this one are forgotten: one day more than is read. */
export function historyKeepFrom(now: number): number {
  return slotOf(now) - (HISTORY_DAYS + 1) * DAY_MS;
}

/**
 * The bot states a group sample counts: the live ones. `deleted` bots are gone and never counted.
 */
export const SAMPLED_BOT_STATES = ['provisioning', 'idle', 'busy', 'deleting', 'failed'] as const;
export type SampledBotState = (typeof SAMPLED_BOT_STATES)[number];

/**
 * What a group looked like at one look: its queued and running runs and its bots per live state.
 * The store keeps, per group and 10-minute slot, the most of each count seen in the slot, for the
 * dashboard's 24-hour chart; it forgets them with the arrival history (historyKeepFrom).
 */
export interface GroupSample {
  readonly group: string;
  readonly queued: number;
  readonly running: number;
  readonly bots: Readonly<Record<SampledBotState, number>>;
}

/** A group's samples in one slot (its start, in ms): the most of each count seen in it. */
export interface SlotSample extends Omit<GroupSample, 'group'> {
  readonly slot: number;
}
