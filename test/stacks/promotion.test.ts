import { declarePromotionOrder } from '../../index';
import { fleetStack } from '../helpers/fleet';

describe('promotion order', () => {
  test('is recorded in every listed stack’s manifest', () => {
    const eu = fleetStack({ id: 'bots-europe' });
    const us = fleetStack({ id: 'bots-us', geography: 'US' });
    expect(declarePromotionOrder([eu, us])).toEqual(['bots-europe', 'bots-us']);
    expect(eu.fleetManifest.promotion).toEqual({ order: ['bots-europe', 'bots-us'] });
    expect(us.fleetManifest.promotion).toEqual({ order: ['bots-europe', 'bots-us'] });
  });

  test('a stack listed twice is refused', () => {
    const eu = fleetStack({ id: 'bots-europe' });
    expect(() => declarePromotionOrder([eu, eu])).toThrow('promotion order: stack "bots-europe" is listed twice; list each stack once');
  });
});
