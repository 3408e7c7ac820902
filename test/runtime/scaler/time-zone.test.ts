/** Local days in an IANA time zone, as the forecast reads them. */
import { dayType, offsetAt, sameLocalTime } from '../../../runtime/scaler/time-zone';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

test('the offset follows summer time', () => {
  expect(offsetAt(Date.UTC(2026, 0, 15, 12), 'Europe/Berlin')).toBe(HOUR);
  expect(offsetAt(Date.UTC(2026, 6, 15, 12), 'Europe/Berlin')).toBe(2 * HOUR);
  expect(offsetAt(Date.UTC(2026, 6, 15, 12), 'Asia/Kolkata')).toBe(5.5 * HOUR);
  expect(offsetAt(Date.UTC(2026, 6, 15, 12), 'UTC')).toBe(0);
});

test('a day has its type in the zone: Friday 20:00 UTC is Saturday in Tokyo', () => {
  const friday = Date.UTC(2026, 0, 9, 20);
  expect(dayType(friday, 'UTC')).toBe('weekday');
  expect(dayType(friday, 'Asia/Tokyo')).toBe('weekend');
  expect(dayType(Date.UTC(2026, 0, 12, 3), 'America/New_York')).toBe('weekend');
});

test('the same wall-clock time on a past day, across both changes of summer time', () => {
  // Monday 30 March 2026, 9:00 in Berlin (7:00 UTC); a week earlier 9:00 was 8:00 UTC.
  expect(sameLocalTime(Date.UTC(2026, 2, 30, 7), 7, 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 23, 8));
  // Monday 26 October 2026, 9:00 in Berlin (8:00 UTC); a week earlier 9:00 was 7:00 UTC.
  expect(sameLocalTime(Date.UTC(2026, 9, 26, 8), 7, 'Europe/Berlin')).toBe(Date.UTC(2026, 9, 19, 7));
  // Without a change in between, whole days.
  expect(sameLocalTime(Date.UTC(2026, 2, 30, 7), 1, 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 30, 7) - DAY);
  expect(sameLocalTime(Date.UTC(2026, 2, 30, 7), 3, 'UTC')).toBe(Date.UTC(2026, 2, 27, 7));
});

test('a wall-clock time the change skipped maps to an hour later', () => {
  // 2:30 on Sunday 29 March 2026 does not exist in Berlin: 3:30 CEST (1:30 UTC) stands for it.
  expect(sameLocalTime(Date.UTC(2026, 2, 30, 0, 30), 1, 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 1, 30));
});

test('an unknown zone is refused, naming the value and the rule', () => {
  expect(() => offsetAt(0, 'Mars/Olympus_Mons')).toThrow('timeZone "Mars/Olympus_Mons" must be an IANA time zone name, such as "UTC" or "Europe/Berlin"');
});
