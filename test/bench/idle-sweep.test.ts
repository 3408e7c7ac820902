import { SWEEP_IDLE_MINUTES, sweepPolicies } from '../../bench/idle-sweep';
import { DEFAULTS } from '../../runtime/config/fleet-schema';

describe('sweepPolicies', () => {
  test('compares hosted-default with "ours" at every idle time-out, predictive on and off', () => {
    const names = sweepPolicies().map((p) => p.name);
    expect(names[0]).toBe('hosted-default');
    expect(names).toHaveLength(1 + 2 * SWEEP_IDLE_MINUTES.length);
    for (const idle of SWEEP_IDLE_MINUTES) expect(names).toEqual(expect.arrayContaining([`ours, idle ${idle} min`, `ours, idle ${idle} min, predictive off`]));
  });

  test('starts from the default idle time-out, so the first "ours" row is the policy comparison\'s defaults', () => {
    expect(SWEEP_IDLE_MINUTES[0]).toBe(DEFAULTS.scaling.idleMinutes);
  });
});
