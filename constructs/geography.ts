/**
 * Geographies and their Azure regions, as in the hosted-bots model.
 *
 * A geography picks the default region of a stack. A stack may override the region with any
 * region of the same geography; the hosted product itself later moved US to `eastus` and UK to
 * `uksouth`, so both old and new regions are accepted there.
 */

/** The geographies where hosted RPA bots are supported. */
export type Geography =
  | 'US'
  | 'Europe'
  | 'Canada'
  | 'Australia'
  | 'Brazil'
  | 'France'
  | 'India'
  | 'Germany'
  | 'Switzerland'
  | 'Japan'
  | 'UK'
  | 'Asia'
  | 'Norway';

interface GeographyRegions {
  /** The region the hosted product uses for this geography. */
  readonly defaultRegion: string;
  /** Every region a stack of this geography may use, the default first. */
  readonly regions: readonly string[];
}

const GEOGRAPHY_REGIONS: Readonly<Record<Geography, GeographyRegions>> = {
  US: {
    defaultRegion: 'westus',
    regions: ['westus', 'eastus', 'eastus2', 'centralus', 'northcentralus', 'southcentralus', 'westus2', 'westus3', 'westcentralus'],
  },
  Europe: { defaultRegion: 'northeurope', regions: ['northeurope', 'westeurope'] },
  Canada: { defaultRegion: 'canadacentral', regions: ['canadacentral', 'canadaeast'] },
  Australia: { defaultRegion: 'australiaeast', regions: ['australiaeast', 'australiasoutheast'] },
  Brazil: { defaultRegion: 'brazilsouth', regions: ['brazilsouth'] },
  France: { defaultRegion: 'francecentral', regions: ['francecentral', 'francesouth'] },
  India: { defaultRegion: 'centralindia', regions: ['centralindia', 'southindia'] },
  Germany: { defaultRegion: 'germanywestcentral', regions: ['germanywestcentral', 'germanynorth'] },
  Switzerland: { defaultRegion: 'switzerlandnorth', regions: ['switzerlandnorth', 'switzerlandwest'] },
  Japan: { defaultRegion: 'japaneast', regions: ['japaneast', 'japanwest'] },
  UK: { defaultRegion: 'ukwest', regions: ['ukwest', 'uksouth'] },
  Asia: { defaultRegion: 'eastasia', regions: ['eastasia', 'southeastasia'] },
  Norway: { defaultRegion: 'norwayeast', regions: ['norwayeast', 'norwaywest'] },
};

/** Every supported geography, in the order of the hosted-bots table. */
export const GEOGRAPHIES: readonly Geography[] = Object.keys(GEOGRAPHY_REGIONS) as Geography[];

/** Geographies and clouds the hosted product names as unsupported, with the reason shown to users. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  uae: 'the UAE geography is not supported by hosted RPA bots',
  korea: 'the Korea geography is not supported by hosted RPA bots',
  usgov: 'sovereign clouds (US Government) are not supported',
  usgovernment: 'sovereign clouds (US Government) are not supported',
  gcc: 'sovereign clouds (GCC) are not supported',
  gcchigh: 'sovereign clouds (GCC High) are not supported',
  dod: 'sovereign clouds (DoD) are not supported',
  china: 'sovereign clouds (Azure China) are not supported',
  azurechina: 'sovereign clouds (Azure China) are not supported',
};

/** Thrown when a geography or region is not supported. */
export class UnsupportedGeographyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedGeographyError';
  }
}

/** True when `value` names a supported geography (exact spelling, as in the table). */
export function isGeography(value: unknown): value is Geography {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(GEOGRAPHY_REGIONS, value);
}

function supportedList(): string {
  return GEOGRAPHIES.join(', ');
}

const BY_LOWER_CASE: ReadonlyMap<string, Geography> = new Map(GEOGRAPHIES.map((g) => [g.toLowerCase(), g]));

/**
 * Checks a geography and returns it typed, in the table's spelling: a name is accepted in any
 * case (`europe`, `EUROPE`), as users type it, and the manifest keeps the canonical `Europe`.
 * Anything else throws an error that lists the supported ones.
 * @param field how the caller names the value in its message, e.g. `HostedBotsStack bots-eu: geography`
 */
export function assertGeography(value: unknown, field = 'geography'): Geography {
  if (isGeography(value)) return value;
  const canonical = typeof value === 'string' ? BY_LOWER_CASE.get(value.trim().toLowerCase()) : undefined;
  if (canonical) return canonical;
  const key = String(value).toLowerCase().replace(/[^a-z]/g, '');
  const reason = UNSUPPORTED[key] ?? 'it is not a hosted-bots geography';
  throw new UnsupportedGeographyError(
    `${field} "${String(value)}" is not supported: ${reason}. Supported geographies: ${supportedList()}.`,
  );
}

/** The default Azure region of a geography, from the hosted-bots table. */
export function regionFor(geography: Geography): string {
  return GEOGRAPHY_REGIONS[assertGeography(geography)].defaultRegion;
}

/** Every region a stack in this geography may use, the default first. */
export function regionsOf(geography: Geography): readonly string[] {
  return GEOGRAPHY_REGIONS[assertGeography(geography)].regions;
}

/** The geography a region belongs to, or undefined for a region outside every supported geography. */
export function geographyOfRegion(region: string): Geography | undefined {
  const normalized = normalizeRegion(region);
  return GEOGRAPHIES.find((g) => GEOGRAPHY_REGIONS[g].regions.includes(normalized));
}

/** Azure accepts "West Europe" and "westeurope" alike; we compare in the short form. */
export function normalizeRegion(region: string): string {
  return region.toLowerCase().replace(/\s+/g, '');
}

/**
 * The region a stack runs in: the override when given (it must belong to the geography),
 * otherwise the geography's default.
 */
export function resolveRegion(geography: Geography, region?: string, field = 'region'): string {
  const geo = assertGeography(geography);
  if (region === undefined) return regionFor(geo);
  const normalized = normalizeRegion(region);
  if (!GEOGRAPHY_REGIONS[geo].regions.includes(normalized)) {
    throw new UnsupportedGeographyError(
      `${field} "${region}" does not belong to geography ${geo}: choose one of ${GEOGRAPHY_REGIONS[geo].regions.join(', ')}.`,
    );
  }
  return normalized;
}
