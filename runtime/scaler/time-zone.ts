/**
 * Local time in an IANA time zone, for the forecast: a day's type and "the same wall-clock time
 * on a past day", which across a DST change is not a whole number of 24-hour days back.
 */

import { isTimeZone, TIME_ZONE_RULE } from '../config/fleet-schema';

export type DayType = 'weekday' | 'weekend';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Zones change their offset on quarter-hour boundaries (UTC), so an offset holds within one. */
const OFFSET_BUCKET = 15 * MINUTE;
/** Offsets remembered per zone before the memory is dropped; each is an Intl call saved. */
const OFFSET_CACHE_MAX = 50_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, Map<number, number>>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    if (!isTimeZone(timeZone)) throw new Error(`timeZone ${JSON.stringify(timeZone)} ${TIME_ZONE_RULE}`);
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

const isUtc = (timeZone: string) => timeZone === 'UTC' || timeZone === 'Etc/UTC';

/** Local time minus UTC at instant `at`, in milliseconds. */
export function offsetAt(at: number, timeZone: string): number {
  if (isUtc(timeZone)) return 0;
  let cache = offsets.get(timeZone);
  if (!cache) offsets.set(timeZone, (cache = new Map()));
  const bucket = Math.floor(at / OFFSET_BUCKET);
  const known = cache.get(bucket);
  if (known !== undefined) return known;
  const instant = bucket * OFFSET_BUCKET;
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const offset = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - instant;
  if (cache.size >= OFFSET_CACHE_MAX) cache.clear();
  cache.set(bucket, offset);
  return offset;
}

/** Saturday and Sunday in the zone are the weekend. */
export function dayType(at: number, timeZone: string): DayType {
  const weekday = new Date(at + offsetAt(at, timeZone)).getUTCDay();
  return weekday === 0 || weekday === 6 ? 'weekend' : 'weekday';
}

/**
 * The instant `days` local days before `at` at the same local wall-clock time. A wall time that
 * does not exist that day (skipped by a DST change) maps to the instant an hour later.
 */
export function sameLocalTime(at: number, days: number, timeZone: string): number {
  const wall = at + offsetAt(at, timeZone) - days * DAY;
  const guess = wall - offsetAt(wall, timeZone);
  return wall - offsetAt(guess, timeZone);
}
