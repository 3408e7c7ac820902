/** Synth fails, with the rule's message, for the faults a user is most likely to make. */
import { Testing } from 'cdktf';
import { HostedBotsStack } from '../../index';
import { fleetStack } from '../helpers/fleet';

describe('synth fails', () => {
  test('for the UAE geography', () => {
    expect(() => new HostedBotsStack(Testing.app(), 'bots-uae', { geography: 'UAE' as never, environment: { name: 'rpa', botCapacity: 1 } })).toThrow(
      /geography "UAE" is not supported.*Supported geographies: US, Europe/,
    );
  });

  test('for 11 groups', () => {
    const stack = fleetStack({ environment: { botCapacity: 11 }, groups: Array.from({ length: 11 }, (_, i) => ({ name: `group-${i}`, maxBots: 1 })) });
    expect(() => Testing.fullSynth(stack)).toThrow(/fleet\/environment: \[HRB-CAP-4\] groups 11 must be at most 10 per environment/);
  });

  test('for committed bots over the capacity', () => {
    const stack = fleetStack({ environment: { botCapacity: 3 }, groups: [{ name: 'finance', committedBots: 2 }, { name: 'sales', committedBots: 2 }] });
    expect(() => Testing.fullSynth(stack)).toThrow(/fleet\/environment: \[HRB-CAP-5\] committedBots 4 \(finance=2, sales=2\) sum over all groups must be at most the bot capacity \(3\)/);
  });
});
