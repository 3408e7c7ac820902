/**
 * A group's arrival history, kept in the store and passed to plan() so plan() stays pure: per
 * 10-minute slot over the last 7 days, how many runs arrived and how many busy bot-seconds ran.
 *
 * From it, predictive warm-up derives how many bots the group usually keeps busy in the coming
 * boot window at this time of day, checked against how today is going so far: a day that is much
 * quieter than the same hours on the days before (a weekend, a holiday) damps the forecast.
 */
import type { ArrivalHistory, SlotCounts } from '../domain/history';
import { busyBySlot, DAY_MS, HISTORY_DAYS, historyKeepFrom, SLOT_MS, slotOf, TRAILING_MS } from '../domain/history';

/** Below this many expected arrivals in the trailing window, today's pace is not judged. */
const MIN_EXPECTED_TRAILING = 3;

/** A history being written: the simulator's, and the in-memory form of the store's rows. */
export class HistoryRecorder implements ArrivalHistory {
  readonly slots = new Map<number, SlotCounts>();
  private keptFrom = Number.NEGATIVE_INFINITY;
  constructor(readonly since: number) {}

  private slot(at: number): SlotCounts {
    const key = slotOf(at);
    let counts = this.slots.get(key);
    if (!counts) this.slots.set(key, (counts = { arrivals: 0, busySeconds: 0 }));
    return counts;
  }

  arrival(at: number, count = 1): void {
    this.slot(at).arrivals += count;
  }

  busy(start: number, end: number): void {
    for (const { slot, seconds } of busyBySlot(start, end)) this.slot(slot).busySeconds += seconds;
  }

  /** Forgets slots older than the history keeps, as the store's sweep does; only once per slot. */
  prune(now: number): void {
    const oldest = historyKeepFrom(now);
    if (oldest === this.keptFrom) return;
    this.keptFrom = oldest;
    for (const key of this.slots.keys()) if (key < oldest) this.slots.delete(key);
  }
}

export interface Forecast {
  /** Bots to have serving (busy or ready) now, for the demand expected within the lead time. */
  readonly bots: number;
  /** Mean over past days of the busiest slot in the window ahead, in concurrent bots. */
  readonly expected: number;
  /** Today's arrivals so far against the same hours on past days, at most 1. */
  readonly pace: number;
  /** How many past days the forecast rests on. */
  readonly days: number;
}

const NONE: Forecast = { bots: 0, expected: 0, pace: 1, days: 0 };

/**
 * The bots the group will want between now and now + lead, from the same window on each past day
 * the history covers: the busiest slot's arrivals times the group's mean run length (busy seconds
 * per arrival over the whole history), as concurrent bots. The mean over those days, times
 * today's pace, rounded.
 */
export function forecast(history: ArrivalHistory | undefined, now: number, leadMinutes: number): Forecast {
  if (!history || history.slots.size === 0) return NONE;
  let arrivals = 0;
  let busySeconds = 0;
  for (const counts of history.slots.values()) {
    arrivals += counts.arrivals;
    busySeconds += counts.busySeconds;
  }
  if (arrivals === 0 || busySeconds === 0) return NONE;
  const botsPerArrival = busySeconds / arrivals / (SLOT_MS / 1000);
  const lead = leadMinutes * 60_000;
  let days = 0;
  let expected = 0;
  let expectedTrailing = 0;
  for (let d = 1; d <= HISTORY_DAYS; d++) {
    const then = now - d * DAY_MS;
    // Only days whose window ahead the history covers. A store's history starts at the group's
    // first arrival, which may be the very burst being forecast.
    if (then + lead < slotOf(history.since)) break;
    days++;
    let busiest = 0;
    for (let slot = slotOf(then); slot <= then + lead; slot += SLOT_MS) busiest = Math.max(busiest, history.slots.get(slot)?.arrivals ?? 0);
    expected += busiest * botsPerArrival;
    expectedTrailing += arrivalsBetween(history, then - TRAILING_MS, then);
  }
  if (days === 0) return NONE;
  expected /= days;
  expectedTrailing /= days;
  const today = arrivalsBetween(history, now - TRAILING_MS, now);
  const pace = expectedTrailing >= MIN_EXPECTED_TRAILING ? Math.min(1, today / expectedTrailing) : 1;
  return { bots: Math.round(expected * pace), expected, pace, days };
}

/** Arrivals in the slots from the one holding `from` up to, not including, the one holding `to`. */
function arrivalsBetween(history: ArrivalHistory, from: number, to: number): number {
  let n = 0;
  for (let slot = slotOf(from); slot < slotOf(to); slot += SLOT_MS) n += history.slots.get(slot)?.arrivals ?? 0;
  return n;
}
