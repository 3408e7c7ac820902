/**
 * A group's arrival history, kept in the store and passed to plan() so plan() stays pure: per
 * 10-minute slot over the last 7 days, how many runs arrived and how many busy bot-seconds ran.
 *
 * From it, predictive warm-up derives how many bots the group keeps busy in the coming boot window
 * at this local time of day on past days of the same type (weekday or weekend, in the
 * environment's time zone), aims at a high percentile of those days so that bursts that repeat
 * are met, and scales that by how today is going so far: quieter days (a holiday) damp it, busier
 * days (growth) raise it. A sparse group also keeps one spare bot when an arrival is likely.
 * And idle bots beyond those the recent arrivals will likely use go before idleMinutes
 * (likelyReuse).
 */
import type { ArrivalHistory, SlotCounts } from '../domain/history';
import { busyBySlot, HISTORY_DAYS, historyKeepFrom, historyReadFrom, SLOT_MS, slotOf, TRAILING_MS } from '../domain/history';
import { dayType, DayType, sameLocalTime } from './time-zone';

/** Below this many expected arrivals in the trailing window, today's pace is not judged. */
const MIN_EXPECTED_TRAILING = 3;
/**
 * Today may run at most this many times busier than the same hours on past days. Growth is
 * followed a day at a time (each day's history feeds the next), so a pace above this is a burst
 * the queue handles, not a trend worth bots booted ahead.
 */
export const PACE_MAX = 2;
/** Growth is judged against at least this many past days: one day's count is as noisy as today's. */
const MIN_DAYS_FOR_GROWTH = 2;
/**
 * The percentile of the past days' values aimed at, interpolated linearly between ranks: with 5
 * weekdays, the second busiest day's value and a fifth of the way on to the busiest (a burst seen
 * on 2 or more of the 5 days is met in full, one seen on a single day a fifth of it); with 2
 * weekend days, 80% of the way from the quieter to the busier one.
 */
export const FORECAST_PERCENTILE = 0.8;
/** The spare bot is kept when an arrival within the lead window is at least this likely. */
export const SPARE_MIN_CHANCE = 0.5;
/** likelyReuse() judges the recent rate from at least this many whole slots (half an hour). */
export const REUSE_MIN_SLOTS = 3;

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
  /** Bots to have serving (busy or ready) now: the busy bots expected within the lead time, times today's pace, rounded, plus the spare bot. */
  readonly bots: number;
  /**
   * The busy bots expected within the lead time, before today's pace: on each past day used, the
   * most runs in progress at once in the window ahead (arrivals over the trailing mean run
   * length), and of those days' values the FORECAST_PERCENTILE.
   */
  readonly expected: number;
  /** Today's arrivals so far against the same local hours on the past days used, from 0 to PACE_MAX. */
  readonly pace: number;
  /** How many past days the forecast rests on. */
  readonly days: number;
  /** Today's type in the environment's time zone: the forecast reads past days of this type when it has any. */
  readonly dayType: DayType;
  /** The past days used are of today's type; false while the history has none yet (see forecast()). */
  readonly sameDayType: boolean;
  /** The chance of at least one arrival within the lead window, from the past days' mean and today's pace. */
  readonly arrivalChance: number;
  /** 1 when a spare bot is kept (scaling.spareBot and an arrivalChance of at least SPARE_MIN_CHANCE), else 0. */
  readonly spare: number;
}

export interface ForecastOptions {
  /** The environment's IANA time zone, in which days have their type and time of day. @default 'UTC' */
  readonly timeZone?: string;
  /** Keep one spare bot when an arrival within the lead window is likely. @default true */
  readonly spareBot?: boolean;
}

const none = (dayTypeNow: DayType): Forecast => ({ bots: 0, expected: 0, pace: 1, days: 0, dayType: dayTypeNow, sameDayType: true, arrivalChance: 0, spare: 0 });

/**
 * The bots the group will want between now and now + lead.
 *
 * Past days: each of the last HISTORY_DAYS days at the same local wall-clock time as now (so the
 * days line up across a DST change), of the same day type as today. If the history holds no day
 * of today's type yet (a group's first week), it falls back to the days of the other type it has,
 * and today's pace then does the damping: a Saturday with none of the arrivals the weekdays had in
 * the hours before has a pace of 0.
 *
 * Busy bots on a past day: the group's mean run length R (busy seconds per arrival over the whole
 * history); at the end of each slot the window ahead touches, the arrivals of the preceding R
 * (spread evenly within their slot) are the runs still in progress; the day's value is the most
 * of these. The forecast aims at aimOf(the days' values) (a high percentile where the demand
 * repeats, else the median), times today's pace.
 */
export function forecast(history: ArrivalHistory | undefined, now: number, leadMinutes: number, options: ForecastOptions = {}): Forecast {
  const timeZone = options.timeZone ?? 'UTC';
  const todayType = dayType(now, timeZone);
  if (!history || history.slots.size === 0) return none(todayType);
  let arrivals = 0;
  let busySeconds = 0;
  for (const counts of history.slots.values()) {
    arrivals += counts.arrivals;
    busySeconds += counts.busySeconds;
  }
  if (arrivals === 0 || busySeconds === 0) return none(todayType);
  const runMs = (busySeconds / arrivals) * 1000;
  const lead = leadMinutes * 60_000;
  const readFrom = historyReadFrom(now);

  const same: number[] = [];
  const other: number[] = [];
  for (let d = 1; d <= HISTORY_DAYS; d++) {
    const then = sameLocalTime(now, d, timeZone);
    // Only days whose window ahead the history covers. A store's history starts at the group's
    // first arrival, which may be the very burst being forecast.
    if (then + lead < slotOf(history.since)) break;
    // After a DST change the same local time can lie an hour before what the store reads.
    if (then - TRAILING_MS < readFrom) continue;
    (dayType(then, timeZone) === todayType ? same : other).push(then);
  }
  const sameDayType = same.length > 0;
  const days = sameDayType ? same : other;
  if (days.length === 0) return none(todayType);

  const busyAtOnce: number[] = [];
  // The trailing window in its two halves, earlier and later, summed over the days.
  const expectedHalves = [0, 0];
  let expectedArrivals = 0;
  for (const then of days) {
    let most = 0;
    for (let slot = slotOf(then); slot <= then + lead; slot += SLOT_MS) {
      most = Math.max(most, arrivalsSpread(history, slot + SLOT_MS - runMs, slot + SLOT_MS));
      expectedArrivals += history.slots.get(slot)?.arrivals ?? 0;
    }
    busyAtOnce.push(most);
    trailingHalves(history, then).forEach((n, i) => (expectedHalves[i] += n / days.length));
  }
  expectedArrivals /= days.length;
  const expected = aimOf(busyAtOnce);
  const pace = paceOf(trailingHalves(history, now), expectedHalves, days.length);
  // Poisson arrivals: the chance of at least one in the window. The history cannot place an
  // arrival within its slot, so the window is the whole slots it touches.
  const arrivalChance = 1 - Math.exp(-expectedArrivals * pace);
  const spare = options.spareBot !== false && arrivalChance >= SPARE_MIN_CHANCE ? 1 : 0;
  return { bots: Math.round(expected * pace) + spare, expected, pace, days: days.length, dayType: todayType, sameDayType, arrivalChance, spare };
}

/**
 * What the forecast aims at among the past days' values: their FORECAST_PERCENTILE where the
 * demand repeats (it comes to at least half that value on 2 or more of the days), so a burst that
 * comes back at this hour is met; otherwise their median, so a burst seen on a single day does not
 * warm bots every day after.
 */
export function aimOf(values: readonly number[]): number {
  const high = percentile(values, FORECAST_PERCENTILE);
  const repeats = values.filter((v) => v >= high / 2).length >= Math.min(2, values.length);
  return repeats ? high : percentile(values, 0.5);
}

/** Arrivals in the earlier and the later half of the trailing window before `at`. */
function trailingHalves(history: ArrivalHistory, at: number): [number, number] {
  const middle = at - TRAILING_MS / 2;
  return [arrivalsBetween(history, at - TRAILING_MS, middle), arrivalsBetween(history, middle, at)];
}

/**
 * Today's trailing arrivals against the past days' mean, when enough were expected to judge. A
 * quieter day damps at once. A busier one counts as growth only as far as both halves of the
 * window show it beyond the noise, so one burst (a batch of runs within minutes) or a chance
 * busy hour is not read as growth; at most PACE_MAX.
 */
function paceOf(today: readonly number[], expected: readonly number[], days: number): number {
  const expectedAll = expected[0] + expected[1];
  if (expectedAll < MIN_EXPECTED_TRAILING) return 1;
  const pace = (today[0] + today[1]) / expectedAll;
  if (pace <= 1 || days < MIN_DAYS_FOR_GROWTH) return Math.min(1, pace);
  // Each half must beat the past by more than a standard deviation of the difference, with both
  // counts Poisson: today's, and the mean of `days` past days.
  const halves = [0, 1].map((i) => (expected[i] > 0 ? (today[i] - Math.sqrt(today[i] + expected[i] / days)) / expected[i] : 1));
  return Math.max(1, Math.min(PACE_MAX, pace, ...halves));
}

/** The value at fraction p of the sorted values, interpolated linearly between ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Arrivals in the slots from the one holding `from` up to, not including, the one holding `to`. */
function arrivalsBetween(history: ArrivalHistory, from: number, to: number): number {
  let n = 0;
  for (let slot = slotOf(from); slot < slotOf(to); slot += SLOT_MS) n += history.slots.get(slot)?.arrivals ?? 0;
  return n;
}

/** Arrivals from `from` to `to`, each slot's spread evenly over it (the history has no finer grain). */
function arrivalsSpread(history: ArrivalHistory, from: number, to: number): number {
  let n = 0;
  for (let slot = slotOf(from); slot < to; slot += SLOT_MS) {
    const count = history.slots.get(slot)?.arrivals ?? 0;
    if (count === 0) continue;
    const overlap = Math.min(to, slot + SLOT_MS) - Math.max(from, slot);
    if (overlap > 0) n += (count * overlap) / SLOT_MS;
  }
  return n;
}

/**
 * How many idle bots the group's runs will likely claim within `minutes`: the median of a Poisson
 * count at the group's recent arrival rate. The rate is the median of the arrivals per slot over
 * the trailing window's whole slots, so a burst (one or two busy slots) is not taken for the rate
 * that follows it. The slots start at the group's first arrival in the window: the quiet slots
 * before it are the hours before its day began, not its rate (a group that opens at 09:00 would
 * otherwise read a rate of 0 for its first hour and lose its idle bots after EARLY_IDLE_MINUTES,
 * to boot them again minutes later); a window with no arrival at all reads a rate of 0. Infinity
 * (keep every idle bot) without a history, or while fewer than REUSE_MIN_SLOTS whole slots are
 * left to judge by.
 */
export function likelyReuse(history: ArrivalHistory | undefined, now: number, minutes: number): number {
  if (!history) return Infinity;
  const window: number[] = [];
  for (let slot = Math.max(slotOf(now - TRAILING_MS), slotOf(history.since)); slot < slotOf(now); slot += SLOT_MS) window.push(history.slots.get(slot)?.arrivals ?? 0);
  const first = window.findIndex((n) => n > 0);
  const counts = first > 0 ? window.slice(first) : window;
  if (counts.length < REUSE_MIN_SLOTS) return Infinity;
  return poissonMedian((percentile(counts, 0.5) * minutes * 60_000) / SLOT_MS);
}

/** The median of a Poisson distribution of mean m: the least k with P(X ≤ k) ≥ ½. */
export function poissonMedian(m: number): number {
  if (!Number.isFinite(m) || m < 0) throw new Error(`poissonMedian: the mean must be a finite number of at least 0, got ${m}`);
  if (m === 0) return 0;
  // For large means the median lies within a unit of m (Choi 1994); summing from 0 would underflow.
  if (m > 500) return Math.floor(m + 1 / 3);
  let k = 0;
  let p = Math.exp(-m);
  let cdf = p;
  while (cdf < 0.5) {
    k += 1;
    p *= m / k;
    cdf += p;
  }
  return k;
}
