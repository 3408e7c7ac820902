import {
  assertGeography,
  GEOGRAPHIES,
  geographyOfRegion,
  regionFor,
  regionsOf,
  resolveRegion,
} from '../../constructs/geography';

describe('geography', () => {
  test('maps the 13 geographies to the hosted-bots default regions', () => {
    expect(Object.fromEntries(GEOGRAPHIES.map((g) => [g, regionFor(g)]))).toEqual({
      US: 'westus',
      Europe: 'northeurope',
      Canada: 'canadacentral',
      Australia: 'australiaeast',
      Brazil: 'brazilsouth',
      France: 'francecentral',
      India: 'centralindia',
      Germany: 'germanywestcentral',
      Switzerland: 'switzerlandnorth',
      Japan: 'japaneast',
      UK: 'ukwest',
      Asia: 'eastasia',
      Norway: 'norwayeast',
    });
  });

  test('US accepts westus and eastus, and UK accepts ukwest and uksouth', () => {
    expect(regionsOf('US')).toEqual(expect.arrayContaining(['westus', 'eastus']));
    expect(regionsOf('UK')).toEqual(expect.arrayContaining(['ukwest', 'uksouth']));
    expect(resolveRegion('US', 'eastus')).toBe('eastus');
    expect(resolveRegion('UK', 'uksouth')).toBe('uksouth');
  });

  test('every region belongs to exactly one geography', () => {
    const all = GEOGRAPHIES.flatMap((g) => regionsOf(g));
    expect(new Set(all).size).toBe(all.length);
    for (const g of GEOGRAPHIES) for (const r of regionsOf(g)) expect(geographyOfRegion(r)).toBe(g);
  });

  test('the region defaults to the geography region', () => {
    expect(resolveRegion('Japan')).toBe('japaneast');
  });

  test('a region outside the geography is refused, naming the allowed regions', () => {
    expect(() => resolveRegion('Europe', 'westus', 'bots-eu: region')).toThrow(
      'bots-eu: region "westus" does not belong to geography Europe: choose one of northeurope, westeurope.',
    );
  });

  test('display names of regions are accepted', () => {
    expect(resolveRegion('Europe', 'West Europe')).toBe('westeurope');
  });

  test.each([
    ['UAE', /the UAE geography is not supported/],
    ['Korea', /the Korea geography is not supported/],
    ['USGov', /sovereign clouds \(US Government\) are not supported/],
    ['China', /sovereign clouds \(Azure China\) are not supported/],
    ['Mars', /it is not a hosted-bots geography/],
    ['Euro pe', /it is not a hosted-bots geography/],
  ])('%s is refused with the list of supported geographies', (geo, reason) => {
    expect(() => assertGeography(geo)).toThrow(reason);
    expect(() => assertGeography(geo)).toThrow(
      'Supported geographies: US, Europe, Canada, Australia, Brazil, France, India, Germany, Switzerland, Japan, UK, Asia, Norway.',
    );
  });

  test.each([
    ['europe', 'Europe'],
    ['EUROPE', 'Europe'],
    ['uk', 'UK'],
    [' Us ', 'US'],
    ['SWITZERLAND', 'Switzerland'],
  ])('%j is accepted in any case and returned as the table spells it, %s', (typed, canonical) => {
    expect(assertGeography(typed)).toBe(canonical);
  });

  test('regionFor refuses an unsupported geography at run time too', () => {
    expect(() => regionFor('UAE' as never)).toThrow(/geography "UAE" is not supported/);
  });
});
