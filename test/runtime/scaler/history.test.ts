import { DAY_MS, SLOT_MS } from '../../../runtime/domain/history';
import { aimOf, forecast, HistoryRecorder, likelyReuse, percentile, poissonMedian, REUSE_MIN_SLOTS } from '../../../runtime/scaler/history';

/** Monday 5 January 2026, 00:00 UTC. */
const DAY1 = Date.UTC(2026, 0, 5);
const at = (day: number, hh: number, mm: number) => DAY1 + (day - 1) * DAY_MS + (hh * 60 + mm) * 60_000;
const MIN = 60_000;
/** Without the spare bot, `bots` is the busy bots forecast alone. */
const NO_SPARE = { spareBot: false };

/** `count` runs of `minutes` arriving at `start`. */
function runs(h: HistoryRecorder, start: number, count: number, minutes: number): void {
  for (let i = 0; i < count; i++) {
    h.arrival(start);
    h.busy(start, start + minutes * MIN);
  }
}

test('no forecast without a past day to learn from', () => {
  const h = new HistoryRecorder(at(1, 0, 0));
  for (let i = 0; i < 30; i++) h.arrival(at(1, 8, 0));
  h.busy(at(1, 8, 0), at(1, 8, 10));
  expect(forecast(h, at(1, 8, 50), 15).bots).toBe(0);
});

/** Day 1 (Monday): 30 runs of 10 minutes arrive in the 9:00 slot, after a trickle from 7:00. */
function mondayHistory(): HistoryRecorder {
  const h = new HistoryRecorder(at(1, 0, 0));
  for (let m = 7 * 60; m < 9 * 60; m += 10) h.arrival(at(1, 0, m));
  runs(h, at(1, 9, 0), 30, 10);
  return h;
}

test('the next day, the runs in progress at once in the window ahead are forecast as bots', () => {
  const h = mondayHistory();
  // Tuesday runs like Monday so far.
  for (let m = 7 * 60; m < 8 * 60 + 50; m += 10) h.arrival(at(2, 0, m));
  const f = forecast(h, at(2, 8, 50), 15, NO_SPARE);
  expect(f.days).toBe(1);
  expect(f.pace).toBe(1);
  // Mean run length: 30 × 600 s over 53 arrivals (12 + 30 on Monday, 11 today). At the end of the
  // 9:00 slot, the runs of the last mean run length are in progress: 30 spread over 10 minutes.
  const runSeconds = (30 * 600) / 53;
  expect(f.expected).toBeCloseTo((30 * runSeconds) / (SLOT_MS / 1000), 5);
  expect(f.bots).toBe(Math.round(f.expected));
});

test('a history that starts with the burst itself forecasts it the next day', () => {
  // As the store keeps it: since is the first slot with an arrival, 9:00 on Monday.
  const h = new HistoryRecorder(at(1, 9, 0));
  runs(h, at(1, 9, 0), 30, 10);
  const f = forecast(h, at(2, 8, 45), 15, NO_SPARE);
  expect(f.days).toBe(1);
  expect(f.bots).toBe(30);
});

test('outside the lead time, nothing is forecast', () => {
  const h = mondayHistory();
  expect(forecast(h, at(2, 8, 30), 15, NO_SPARE).bots).toBe(0);
});

test('a day much quieter than the days before damps the forecast, spare bot included', () => {
  const h = mondayHistory();
  // Tuesday: no trickle at all before 8:50, as on a holiday.
  const f = forecast(h, at(2, 8, 50), 15);
  expect(f.pace).toBe(0);
  expect(f.spare).toBe(0);
  expect(f.bots).toBe(0);
});

test('slots older than the history keeps are forgotten', () => {
  const h = mondayHistory();
  h.prune(at(9, 9, 10));
  expect([...h.slots.keys()].every((slot) => slot >= at(2, 9, 10))).toBe(true);
  expect(h.slots.size).toBe(0);
});

describe('the calendar', () => {
  /** Since Saturday 3 January; 20 runs of 10 minutes at 9:00 on Monday to Friday 5-9 January. */
  function weekdayBursts(): HistoryRecorder {
    const h = new HistoryRecorder(at(-1, 0, 0));
    for (let day = 1; day <= 5; day++) runs(h, at(day, 9, 0), 20, 10);
    return h;
  }

  test('weekday-only demand predicts nothing on a Saturday and the usual on a Monday', () => {
    const h = weekdayBursts();
    const saturday = forecast(h, at(6, 8, 50), 15);
    expect(saturday).toMatchObject({ dayType: 'weekend', sameDayType: true, days: 2, expected: 0, bots: 0, spare: 0 });
    const monday = forecast(h, at(8, 8, 50), 15, NO_SPARE);
    expect(monday).toMatchObject({ dayType: 'weekday', sameDayType: true, days: 5, expected: 20, bots: 20 });
  });

  test('without a past day of the same type yet, the days of the other type are used', () => {
    const h = new HistoryRecorder(at(1, 0, 0));
    for (let day = 1; day <= 5; day++) runs(h, at(day, 9, 0), 20, 10);
    expect(forecast(h, at(6, 8, 50), 15, NO_SPARE)).toMatchObject({ dayType: 'weekend', sameDayType: false, days: 5, expected: 20 });
  });

  test('days and times of day are those of the time zone: a Saturday morning in Tokyo is still Friday in UTC', () => {
    // 9:00 in Tokyo (UTC+9) is 0:00 UTC: bursts on Monday to Friday mornings, Tokyo time.
    const h = new HistoryRecorder(at(-2, 0, 0));
    for (let day = 1; day <= 5; day++) runs(h, at(day, 0, 0), 20, 10);
    // Saturday 10 January, 8:50 in Tokyo: 23:50 UTC on Friday 9 January.
    const now = at(5, 23, 50);
    const tokyo = forecast(h, now, 15, { timeZone: 'Asia/Tokyo', ...NO_SPARE });
    expect(tokyo).toMatchObject({ dayType: 'weekend', sameDayType: true, days: 2, bots: 0 });
    // In UTC it is a weekday, and 4 of the 5 past weekdays had the burst just after 23:50.
    const utc = forecast(h, now, 15, NO_SPARE);
    expect(utc).toMatchObject({ dayType: 'weekday', days: 5, bots: 20 });
  });

  test('across the change to summer time, past days line up by local time', () => {
    // Europe/Berlin: 9:00 is 8:00 UTC until Sunday 29 March 2026, 7:00 UTC from then on.
    const utc = (month: number, day: number, hh: number, mm: number) => Date.UTC(2026, month - 1, day, hh, mm);
    const h = new HistoryRecorder(utc(3, 21, 0, 0));
    for (let day = 23; day <= 27; day++) runs(h, utc(3, day, 8, 0), 20, 10);
    // Monday 30 March, 8:50 in Berlin (6:50 UTC).
    const berlin = forecast(h, utc(3, 30, 6, 50), 15, { timeZone: 'Europe/Berlin', ...NO_SPARE });
    expect(berlin).toMatchObject({ dayType: 'weekday', days: 5, bots: 20 });
    // Read as UTC, the same history puts the burst an hour later than the window ahead.
    expect(forecast(h, utc(3, 30, 6, 50), 15, NO_SPARE).bots).toBe(0);
  });

  test('a burst that repeats at the same time on 3 of 5 weekdays is aimed at, not averaged', () => {
    const h = new HistoryRecorder(at(-1, 0, 0));
    for (const day of [1, 3, 5]) runs(h, at(day, 9, 0), 20, 10);
    // The other two days have a run of the same length at 9:00 too, so the run length is the same.
    for (const day of [2, 4]) runs(h, at(day, 9, 0), 1, 10);
    const f = forecast(h, at(8, 8, 50), 15, NO_SPARE);
    const mean = (3 * 20 + 2 * 1) / 5;
    expect(f.expected).toBe(20);
    expect(f.bots).toBeGreaterThan(mean);
  });
});

describe('growth', () => {
  /** 6 runs of 10 minutes per 10-minute slot from 7:00 to 10:00, Monday to Friday; today, `perSlot` from 7:00 to 8:50. */
  function steadyWeek(perSlot: number): HistoryRecorder {
    const h = new HistoryRecorder(at(-1, 0, 0));
    for (let day = 1; day <= 5; day++) for (let m = 7 * 60; m < 10 * 60; m += 10) runs(h, at(day, 0, m), 6, 10);
    for (let m = 7 * 60; m < 8 * 60 + 50; m += 10) runs(h, at(8, 0, m), perSlot, 10);
    return h;
  }

  test('a day as busy as the past ones gets their forecast', () => {
    const f = forecast(steadyWeek(6), at(8, 8, 50), 15, NO_SPARE);
    expect(f).toMatchObject({ pace: 1, expected: 6, bots: 6 });
  });

  test('a day 1.5 times busier than the past ones raises the forecast above their mean', () => {
    const f = forecast(steadyWeek(9), at(8, 8, 50), 15, NO_SPARE);
    expect(f.pace).toBeGreaterThan(1.2);
    expect(f.pace).toBeLessThanOrEqual(1.5);
    expect(f.bots).toBeGreaterThan(6);
  });

  test('one burst today is not read as growth', () => {
    const h = steadyWeek(6);
    runs(h, at(8, 8, 30), 60, 1);
    expect(forecast(h, at(8, 8, 50), 15, NO_SPARE).pace).toBe(1);
  });

  test('growth is capped at twice the past pace', () => {
    const f = forecast(steadyWeek(40), at(8, 8, 50), 15, NO_SPARE);
    expect(f.pace).toBe(2);
  });
});

describe('run length', () => {
  /** Runs of `minutes` arriving one per 10 minutes from 9:00 to 12:00, Monday to Friday, and today until `until`. */
  function onePerSlot(minutes: number): HistoryRecorder {
    const h = new HistoryRecorder(at(-1, 0, 0));
    for (const day of [1, 2, 3, 4, 5]) for (let m = 9 * 60; m < 12 * 60; m += 10) runs(h, at(day, 0, m), 1, minutes);
    for (let m = 9 * 60; m < 10 * 60 + 30; m += 10) runs(h, at(8, 0, m), 1, minutes);
    return h;
  }

  test('40-minute runs arriving one per 10 minutes keep about 4 bots busy', () => {
    const f = forecast(onePerSlot(40), at(8, 10, 30), 15, NO_SPARE);
    expect(f.expected).toBeCloseTo(4, 5);
    expect(f.bots).toBe(4);
  });

  test('2-minute runs arriving one per 10 minutes keep no bot busy for long', () => {
    const f = forecast(onePerSlot(2), at(8, 10, 30), 15, NO_SPARE);
    expect(f.expected).toBeCloseTo(0.2, 5);
    expect(f.bots).toBe(0);
  });

  test('one 40-minute run in a slot is one bot, not 4', () => {
    const h = new HistoryRecorder(at(-1, 0, 0));
    for (const day of [1, 2, 3, 4, 5]) runs(h, at(day, 9, 0), 1, 40);
    const f = forecast(h, at(8, 8, 50), 15, NO_SPARE);
    expect(f.expected).toBeCloseTo(1, 5);
    expect(f.bots).toBe(1);
  });
});

describe('the spare bot', () => {
  /** A 4-minute run every `everyMinutes`, at 3 minutes past, all day Monday to Friday and today. */
  function sparse(everyMinutes: number): HistoryRecorder {
    const h = new HistoryRecorder(at(-1, 0, 0));
    for (const day of [1, 2, 3, 4, 5]) for (let m = 3; m < 24 * 60; m += everyMinutes) runs(h, at(day, 0, m), 1, 4);
    for (let m = 3; m < 10 * 60; m += everyMinutes) runs(h, at(8, 0, m), 1, 4);
    return h;
  }

  test('a group with a run every half hour keeps one spare bot, and none when spareBot is off', () => {
    const h = sparse(30);
    // At 10:05 the lead window touches the slots 10:00 to 10:20: one arrival in them on past days.
    const on = forecast(h, at(8, 10, 5), 15);
    expect(on.arrivalChance).toBeCloseTo(1 - Math.exp(-1), 5);
    expect(on).toMatchObject({ spare: 1, bots: 1 });
    // The busy bots alone round to 0: at most 0.4 of a 4-minute run in progress at a slot's end.
    expect(Math.round(on.expected * on.pace)).toBe(0);
    expect(forecast(h, at(8, 10, 5), 15, NO_SPARE)).toMatchObject({ spare: 0, bots: 0 });
  });

  test('a group with a run every 6 hours keeps none', () => {
    const f = forecast(sparse(6 * 60), at(8, 10, 5), 15);
    expect(f.arrivalChance).toBeLessThan(0.5);
    expect(f).toMatchObject({ spare: 0, bots: 0 });
  });

  test('the spare bot comes on top of the busy bots forecast', () => {
    const h = new HistoryRecorder(at(-1, 0, 0));
    for (let day = 1; day <= 5; day++) runs(h, at(day, 9, 0), 20, 10);
    expect(forecast(h, at(8, 8, 50), 15)).toMatchObject({ expected: 20, spare: 1, bots: 21 });
  });
});

test('percentile: interpolated between ranks', () => {
  expect(percentile([], 0.8)).toBe(0);
  expect(percentile([5], 0.8)).toBe(5);
  expect(percentile([0, 10], 0.8)).toBe(8);
  expect(percentile([20, 0, 20, 0, 20], 0.8)).toBe(20);
  expect(percentile([0, 0, 0, 0, 20], 0.8)).toBeCloseTo(4, 10);
});

test.each([
  ['a burst on most days: the high percentile', [20, 0, 20, 20, 0], 20],
  ['steady demand: the high percentile', [4, 5, 6, 5, 4], 5.2],
  ['one day with a burst that did not come back: the median', [0, 0, 30, 0, 1], 0],
  ['a burst on 2 of 5 days: the high percentile', [0, 25, 0, 30, 2], 26],
  ['one day of history: that day', [12], 12],
] as const)('aimOf: %s', (_name, values, aim) => {
  expect(aimOf(values)).toBeCloseTo(aim, 10);
});

describe('likely reuse of idle bots', () => {
  test('poissonMedian is the least count with at least an even chance', () => {
    expect(poissonMedian(0)).toBe(0);
    // P(0) = e^-0.5 ≈ 0.61 and e^-0.7 ≈ 0.50 (just under), so 0 and 1.
    expect(poissonMedian(0.5)).toBe(0);
    expect(poissonMedian(0.7)).toBe(1);
    expect(poissonMedian(1)).toBe(1);
    expect(poissonMedian(6)).toBe(6);
    expect(poissonMedian(1000)).toBe(1000);
    expect(() => poissonMedian(-1)).toThrow('poissonMedian: the mean must be a finite number of at least 0, got -1');
  });

  test('likelyReuse reads the median slot of the trailing window, not its busiest', () => {
    const now = Date.UTC(2026, 0, 12, 12, 0);
    const h = new HistoryRecorder(now - 3 * 3600_000);
    for (let t = now - 2 * 3600_000; t < now; t += 10 * 60_000) h.arrival(t + 60_000, 2);
    expect(likelyReuse(h, now, 10)).toBe(2);
    h.arrival(now - 5 * 60_000 - 10 * 60_000, 40);
    expect(likelyReuse(h, now, 10)).toBe(2);
    // A longer idle time covers more arrivals.
    expect(likelyReuse(h, now, 30)).toBe(6);
  });

  test('likelyReuse judges a group whose day has just begun by its day, not by the quiet hours before it', () => {
    const day = Date.UTC(2026, 0, 12);
    const h = new HistoryRecorder(day - 3 * 24 * 3600_000);
    // Nothing from 07:00; from 09:00, 6 arrivals in each 10-minute slot.
    for (let t = day + 9 * 3600_000; t < day + 9.5 * 3600_000; t += 10 * 60_000) h.arrival(t + 60_000, 6);
    // At 09:35 the 2-hour window holds 9 quiet slots and 3 busy ones; the rate is that of the 3.
    expect(likelyReuse(h, day + 9 * 3600_000 + 35 * 60_000, 10)).toBe(6);
    // At 09:25 only 2 slots of its day are whole: too few to judge by.
    expect(likelyReuse(h, day + 9 * 3600_000 + 25 * 60_000, 10)).toBe(Infinity);
    // A window with no arrival at all is a rate of 0, not a day yet to begin.
    expect(likelyReuse(h, day + 8 * 3600_000, 10)).toBe(0);
  });

  test('without a history, or with under REUSE_MIN_SLOTS slots of it, every idle bot counts as likely used', () => {
    const now = Date.UTC(2026, 0, 12, 12, 0);
    expect(likelyReuse(undefined, now, 10)).toBe(Infinity);
    const young = new HistoryRecorder(now - (REUSE_MIN_SLOTS - 1) * 10 * 60_000);
    expect(likelyReuse(young, now, 10)).toBe(Infinity);
    const old = new HistoryRecorder(now - REUSE_MIN_SLOTS * 10 * 60_000);
    expect(likelyReuse(old, now, 10)).toBe(0);
  });
});
