/** Price tables: their rules, which price a group gets, and a trace's month. */
import { BUILT_IN_PRICES, monthFactor, parsePriceTable, PriceFileError, priceOf, PriceTable, traceDays } from '../../../runtime/sim/prices';

const table = (prices: unknown[], extra: Record<string, unknown> = {}) => ({ currency: 'USD', prices, ...extra });

describe('parsePriceTable', () => {
  test('reads a table with a region row and an every-region row', () => {
    const t = parsePriceTable(table([{ vmSize: 'Standard_D2s_v5', region: 'northeurope', perHour: 0.21 }, { vmSize: 'Standard_D4s_v5', perHour: 0.42 }], { source: 'sheet', date: '2026-03-01' }), 'p.json');
    expect(t).toEqual({ currency: 'USD', source: 'sheet', date: '2026-03-01', prices: [{ vmSize: 'Standard_D2s_v5', region: 'northeurope', perHour: 0.21 }, { vmSize: 'Standard_D4s_v5', perHour: 0.42 }] });
  });

  test.each([
    ['not an object', [], /p\.json: \(top level\): \[\] is not a price table/],
    ['an unknown field', table([], { prices2: [] }), /p\.json: prices2: is not a field of a price table \(fields: currency, source, date, note, prices\)/],
    ['a currency that is not a code', table([], { currency: 'dollars' }), /p\.json: currency: "dollars" is not a currency: it must be an ISO 4217 code/],
    ['a date in another form', table([], { date: '1 March 2026' }), /p\.json: date: "1 March 2026" is not a date: write it as YYYY-MM-DD/],
    ['prices that are not a list', { currency: 'USD', prices: { vmSize: 'x' } }, /p\.json: prices: .* must be a list of rows/],
    ['a row that is not an object', table([3]), /p\.json: prices\[0\]: 3 is not a price row/],
    ['a row with an unknown field', table([{ vmSize: 'Standard_D2s_v5', perHour: 1, os: 'windows' }]), /p\.json: prices\[0\]\.os: is not a field of a price row \(fields: vmSize, region, perHour\)/],
    ['a VM size with a space', table([{ vmSize: 'D2s v5', perHour: 1 }]), /p\.json: prices\[0\]\.vmSize: "D2s v5" is not a VM size/],
    ['a region in display form', table([{ vmSize: 'Standard_D2s_v5', region: 'North Europe', perHour: 1 }]), /p\.json: prices\[0\]\.region: "North Europe" is not a region: an Azure region name in lowercase/],
    ['a negative price', table([{ vmSize: 'Standard_D2s_v5', perHour: -1 }]), /p\.json: prices\[0\]\.perHour: -1 is not a price: it must be a number of USD per VM-hour, more than 0 and at most 1000/],
    ['a price as text', table([{ vmSize: 'Standard_D2s_v5', perHour: '0.2' }]), /p\.json: prices\[0\]\.perHour: "0\.2" is not a price/],
    ['a size priced twice in one region', table([{ vmSize: 'Standard_D2s_v5', region: 'eastus', perHour: 1 }, { vmSize: 'standard_d2s_v5', region: 'eastus', perHour: 2 }]), /p\.json: prices\[1\]: prices standard_d2s_v5 in eastus again: prices\[0\] already does/],
  ])('refuses %s, naming the field, the value and the rule', (_what, raw, message) => {
    expect(() => parsePriceTable(raw, 'p.json')).toThrow(PriceFileError);
    expect(() => parsePriceTable(raw, 'p.json')).toThrow(message);
  });
});

describe('priceOf', () => {
  const builtIn: PriceTable = { currency: 'USD', prices: [{ vmSize: 'Standard_D2s_v5', region: 'eastus', perHour: 0.19 }, { vmSize: 'Standard_D4s_v5', perHour: 0.4 }] };

  test('a region\'s row wins over the size\'s row for every region; sizes compare without case', () => {
    const user: PriceTable = { currency: 'USD', prices: [{ vmSize: 'Standard_D2s_v5', perHour: 0.2 }, { vmSize: 'standard_d2s_v5', region: 'northeurope', perHour: 0.25 }] };
    expect(priceOf('Standard_D2s_v5', 'northeurope', user, builtIn)).toEqual({ perHour: 0.25, currency: 'USD', from: 'user' });
    expect(priceOf('Standard_D2s_v5', 'westus', user, builtIn)).toEqual({ perHour: 0.2, currency: 'USD', from: 'user' });
  });

  test('the user\'s table wins; the built-in one fills in what it leaves out, in the same currency only', () => {
    const user: PriceTable = { currency: 'USD', prices: [{ vmSize: 'Standard_D2s_v5', region: 'eastus', perHour: 0.3 }] };
    expect(priceOf('Standard_D2s_v5', 'eastus', user, builtIn)).toMatchObject({ perHour: 0.3, from: 'user' });
    expect(priceOf('Standard_D4s_v5', 'eastus', user, builtIn)).toEqual({ perHour: 0.4, currency: 'USD', from: 'built-in' });
    expect(priceOf('Standard_D4s_v5', 'eastus', { ...user, currency: 'EUR' }, builtIn)).toBeUndefined();
  });

  test('a size or region no table prices has no price', () => {
    expect(priceOf('Standard_D2s_v5', 'northeurope', undefined, builtIn)).toBeUndefined();
    expect(priceOf('Standard_E8s_v5', 'eastus', undefined, builtIn)).toBeUndefined();
  });
});

test('the built-in table says when and where its prices come from, and that they are unverified', () => {
  expect(BUILT_IN_PRICES.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(BUILT_IN_PRICES.source).toMatch(/Azure Retail Prices API/);
  expect(BUILT_IN_PRICES.note).toMatch(/^UNVERIFIED/);
  for (const row of BUILT_IN_PRICES.prices) expect(row.region).toBeDefined();
});

test('a month is 730 hours, scaled from the whole days the trace spans', () => {
  const monday = Date.UTC(2026, 0, 5);
  expect(traceDays(monday, monday + 6 * 86400_000 + 17 * 3600_000)).toBe(7);
  expect(traceDays(monday, monday)).toBe(1);
  expect(monthFactor(7)).toBeCloseTo(730 / 168, 12);
});
