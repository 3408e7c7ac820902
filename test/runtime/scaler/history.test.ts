import { DAY_MS, SLOT_MS } from '../../../runtime/domain/history';
import { forecast, HistoryRecorder } from '../../../runtime/scaler/history';

const DAY1 = Date.UTC(2026, 0, 5);
const at = (day: number, hh: number, mm: number) => DAY1 + (day - 1) * DAY_MS + (hh * 60 + mm) * 60_000;

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
  for (let i = 0; i < 30; i++) {
    h.arrival(at(1, 9, 0));
    h.busy(at(1, 9, 0), at(1, 9, 10));
  }
  return h;
}

test('the next day, the busy slot ahead is forecast as concurrent bots', () => {
  const h = mondayHistory();
  // Tuesday runs like Monday so far.
  for (let m = 7 * 60; m < 8 * 60 + 50; m += 10) h.arrival(at(2, 0, m));
  const f = forecast(h, at(2, 8, 50), 15);
  expect(f.days).toBe(1);
  expect(f.pace).toBe(1);
  // Busy seconds per arrival: 30 × 600 s over 53 arrivals (12 + 30 on Monday, 11 today); the
  // 9:00 slot had 30 arrivals.
  expect(f.expected).toBeCloseTo(((30 * 600) / 53 / (SLOT_MS / 1000)) * 30, 5);
  expect(f.bots).toBe(Math.round(f.expected));
});

test('a history that starts with the burst itself forecasts it the next day', () => {
  // As the store keeps it: since is the first slot with an arrival, 9:00 on Monday.
  const h = new HistoryRecorder(at(1, 9, 0));
  for (let i = 0; i < 30; i++) {
    h.arrival(at(1, 9, 0));
    h.busy(at(1, 9, 0), at(1, 9, 10));
  }
  const f = forecast(h, at(2, 8, 45), 15);
  expect(f.days).toBe(1);
  expect(f.bots).toBe(30);
});

test('outside the lead time, nothing is forecast', () => {
  const h = mondayHistory();
  expect(forecast(h, at(2, 8, 30), 15).bots).toBe(0);
});

test('a day much quieter than the days before damps the forecast', () => {
  const h = mondayHistory();
  // Tuesday: no trickle at all before 8:50, as on a holiday.
  const f = forecast(h, at(2, 8, 50), 15);
  expect(f.pace).toBe(0);
  expect(f.bots).toBe(0);
});

test('slots older than the history keeps are forgotten', () => {
  const h = mondayHistory();
  h.prune(at(9, 9, 10));
  expect([...h.slots.keys()].every((slot) => slot >= at(2, 9, 10))).toBe(true);
  expect(h.slots.size).toBe(0);
});
