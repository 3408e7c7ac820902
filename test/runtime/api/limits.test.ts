import { pageCost, RateLimiter, RefusalDelays } from '../../../runtime/api/limits';

describe('rate limits', () => {
  test('a request takes its cost from the bucket, and waits the seconds its cost needs', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    expect(limiter.take('u', 2, 10, 5)).toBe(0);
    expect(limiter.take('u', 2, 10, 5)).toBe(0);
    expect(limiter.take('u', 2, 10, 5)).toBe(3);
    now += 2500;
    expect(limiter.take('u', 2, 10, 5)).toBe(0);
  });

  test('a cost above the burst counts as the burst, so it can still pass on a full bucket', () => {
    const limiter = new RateLimiter(() => 0);
    expect(limiter.take('u', 1, 4, 100)).toBe(0);
    expect(limiter.take('u', 1, 4, 1)).toBe(1);
  });

  test('a page costs one, plus one per 50 runs asked for', () => {
    expect(pageCost(undefined)).toBe(2);
    expect(pageCost('1')).toBe(2);
    expect(pageCost('100')).toBe(3);
  });

  test('refusals are held back between half and all of the delay, 32 at most per token', () => {
    const delays = new RefusalDelays();
    const held = Array.from({ length: 40 }, () => delays.hold('u', 1000));
    for (const ms of held.slice(0, 32)) expect(ms).toBeGreaterThanOrEqual(500), expect(ms).toBeLessThanOrEqual(1000);
    expect(held.slice(32)).toEqual(Array(8).fill(0));
    delays.release('u');
    expect(delays.hold('u', 1000)).toBeGreaterThan(0);
    expect(delays.hold('v', 1000)).toBeGreaterThan(0);
  });
});
