/** scale-out.ts: new bots, round by round, within the free capacity and the caps. */
import { scaleOut, ScaleOutGroup, scaleOutTargets } from '../../../runtime/scaler/scale-out';

const NOW = 1_000_000;
const gap = (name: string, targets: [number, number, number], extra: Partial<ScaleOutGroup> = {}): ScaleOutGroup => ({ name, maxBots: 10, serving: 0, live: 0, targets, ...extra });

describe('scaleOutTargets()', () => {
  test('committed bots within the share, then the share for runs (never below those), then the whole share', () => {
    expect(scaleOutTargets(2, { runs: 3, warm: 1 })).toEqual([2, 3, 4]);
    expect(scaleOutTargets(3, { runs: 1, warm: 2 })).toEqual([3, 3, 3]);
    expect(scaleOutTargets(5, { runs: 1, warm: 1 })).toEqual([2, 2, 2]);
  });
});

describe('scaleOut()', () => {
  test('with room for all, each group gets its whole share less the bots serving', () => {
    expect(scaleOut([gap('a', [0, 3, 5], { serving: 1, live: 1 }), gap('b', [0, 2, 2])], 20, NOW)).toEqual({ a: 4, b: 2 });
  });

  test('runs before standby and warm-up: a short capacity goes to the runs round first', () => {
    expect(scaleOut([gap('a', [0, 0, 4]), gap('b', [0, 3, 3])], 5, NOW)).toEqual({ a: 2, b: 3 });
  });

  test('committed shortfalls before runs', () => {
    expect(scaleOut([gap('a', [0, 5, 5]), gap('b', [2, 2, 2])], 3, NOW)).toEqual({ a: 1, b: 2 });
  });

  test('within a round, the largest gap first', () => {
    expect(scaleOut([gap('a', [0, 2, 2]), gap('b', [0, 6, 6])], 4, NOW)).toEqual({ a: 0, b: 4 });
  });

  test('never beyond maxBots, counting every live bot', () => {
    expect(scaleOut([gap('a', [0, 6, 6], { maxBots: 5, serving: 1, live: 3 })], 10, NOW)).toEqual({ a: 2 });
  });

  test('none for a group backing off, until the back-off ends', () => {
    expect(scaleOut([gap('a', [0, 2, 2], { backoffUntil: NOW + 1 })], 10, NOW)).toEqual({ a: 0 });
    expect(scaleOut([gap('a', [0, 2, 2], { backoffUntil: NOW })], 10, NOW)).toEqual({ a: 2 });
  });

  test('no free capacity, no bots, even when the capacity is exceeded', () => {
    expect(scaleOut([gap('a', [0, 2, 2])], -3, NOW)).toEqual({ a: 0 });
  });
});
