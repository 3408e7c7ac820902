import { busyBySlot, DAY_MS, historyKeepFrom, historyReadFrom, SLOT_MS, slotOf } from '../../../runtime/domain/history';

const DAY1 = Date.UTC(2026, 0, 5);
const at = (day: number, hh: number, mm: number) => DAY1 + (day - 1) * DAY_MS + (hh * 60 + mm) * 60_000;

test('a time belongs to the 10-minute slot it falls in', () => {
  expect(slotOf(at(1, 9, 19) + 59_999)).toBe(at(1, 9, 10));
});

test('busy time is split over the slots a run spans', () => {
  expect(busyBySlot(at(1, 9, 5), at(1, 9, 25))).toEqual([
    { slot: at(1, 9, 0), seconds: 300 },
    { slot: at(1, 9, 10), seconds: 600 },
    { slot: at(1, 9, 20), seconds: 300 },
  ]);
});

test('a run that ends where a slot starts adds nothing to that slot', () => {
  expect(busyBySlot(at(1, 9, 5), at(1, 9, 10))).toEqual([{ slot: at(1, 9, 0), seconds: 300 }]);
});

test('the forecast reads 7 days back and the 2 hours before that day', () => {
  expect(historyReadFrom(at(8, 9, 15))).toBe(at(1, 7, 10));
});

test('the store keeps one day more than is read', () => {
  expect(historyKeepFrom(at(9, 9, 15))).toBe(at(1, 9, 10));
  expect(historyKeepFrom(at(9, 9, 15))).toBeLessThan(historyReadFrom(at(9, 9, 15)) - SLOT_MS);
});
