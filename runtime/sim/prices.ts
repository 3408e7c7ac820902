/**
 * What a bot costs: a price per VM-hour for each VM size, by region where it differs, and a
 * month's cost from the bot-hours a simulation counts.
 *
 * A price table is JSON, the built-in one (vm-prices.json, with its date, source and how far it
 * can be trusted) and the user's (`hosted-bots simulate --prices <file>`) alike:
 *
 *   {
 *     "currency": "USD",
 *     "source": "our agreement's price sheet, March 2026",
 *     "prices": [
 *       { "vmSize": "Standard_D2s_v5", "region": "northeurope", "perHour": 0.21 },
 *       { "vmSize": "Standard_D4s_v5", "perHour": 0.42 }
 *     ]
 *   }
 *
 * A row without a region prices the size in every region; a row with one wins in its region. The
 * user's rows win over the built-in ones; built-in rows fill in only when both tables are in the
 * same currency. A bad file is refused with a PriceFileError naming the field, the value and the
 * rule.
 */
import builtIn from './vm-prices.json';

/** Azure's pricing calculator prices a month as 730 hours (8,760 a year over 12 months). */
export const HOURS_PER_MONTH = 730;

export interface PriceRow {
  /** The Azure VM size (ARM SKU name), e.g. Standard_D2s_v5; compared without regard to case. */
  readonly vmSize: string;
  /** The ARM region name, e.g. northeurope. @default every region */
  readonly region?: string;
  /** Price of one VM-hour, in the table's currency. */
  readonly perHour: number;
}

export interface PriceTable {
  /** ISO 4217 code, e.g. USD. */
  readonly currency: string;
  /** Where the prices come from. */
  readonly source?: string;
  /** When they were taken, YYYY-MM-DD. */
  readonly date?: string;
  /** Anything a reader should know, e.g. how far the prices can be trusted. */
  readonly note?: string;
  readonly prices: readonly PriceRow[];
}

/** A group's price, and which table it came from. */
export interface GroupPrice {
  readonly perHour: number;
  readonly currency: string;
  readonly from: 'built-in' | 'user';
}

export class PriceFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field}: ${detail}`);
    this.name = 'PriceFileError';
  }
}

const TABLE_FIELDS = ['currency', 'source', 'date', 'note', 'prices'] as const;
const ROW_FIELDS = ['vmSize', 'region', 'perHour'] as const;
const CURRENCY = /^[A-Z]{3}$/;
const VM_SIZE = /^[A-Za-z][A-Za-z0-9_-]{0,79}$/;
const REGION = /^[a-z][a-z0-9]{1,39}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The table in the repository. Its `note` says how far to trust it. */
export const BUILT_IN_PRICES: PriceTable = parsePriceTable(builtIn, 'runtime/sim/vm-prices.json');

/** Checks a parsed JSON price table; throws a PriceFileError for its first problem. */
export function parsePriceTable(raw: unknown, file: string): PriceTable {
  const fail = (field: string, detail: string): never => {
    throw new PriceFileError(file, field, detail);
  };
  const show = (value: unknown) => {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('(top level)', `${show(raw)} is not a price table: expected an object with "currency" and "prices"`);
  const table = raw as Record<string, unknown>;
  for (const key of Object.keys(table)) {
    if (!(TABLE_FIELDS as readonly string[]).includes(key)) fail(key, `is not a field of a price table (fields: ${TABLE_FIELDS.join(', ')})`);
  }
  if (typeof table.currency !== 'string' || !CURRENCY.test(table.currency)) fail('currency', `${show(table.currency)} is not a currency: it must be an ISO 4217 code of three capital letters, such as "USD" or "EUR"`);
  for (const key of ['source', 'note'] as const) {
    if (table[key] !== undefined && (typeof table[key] !== 'string' || (table[key] as string).length > 2000)) fail(key, `${show(table[key])} must be text of at most 2,000 characters`);
  }
  if (table.date !== undefined && (typeof table.date !== 'string' || !DATE.test(table.date) || Number.isNaN(Date.parse(table.date)))) fail('date', `${show(table.date)} is not a date: write it as YYYY-MM-DD`);
  if (!Array.isArray(table.prices)) fail('prices', `${show(table.prices)} must be a list of rows such as { "vmSize": "Standard_D2s_v5", "region": "northeurope", "perHour": 0.21 }`);
  const seen = new Map<string, number>();
  const prices = (table.prices as unknown[]).map((value, i): PriceRow => {
    const at = `prices[${i}]`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(at, `${show(value)} is not a price row: expected an object with "vmSize" and "perHour"`);
    const row = value as Record<string, unknown>;
    for (const key of Object.keys(row)) {
      if (!(ROW_FIELDS as readonly string[]).includes(key)) fail(`${at}.${key}`, `is not a field of a price row (fields: ${ROW_FIELDS.join(', ')})`);
    }
    if (typeof row.vmSize !== 'string' || !VM_SIZE.test(row.vmSize)) fail(`${at}.vmSize`, `${show(row.vmSize)} is not a VM size: an Azure size name such as "Standard_D2s_v5"`);
    if (row.region !== undefined && (typeof row.region !== 'string' || !REGION.test(row.region))) fail(`${at}.region`, `${show(row.region)} is not a region: an Azure region name in lowercase, such as "northeurope"; leave it out to price the size in every region`);
    if (typeof row.perHour !== 'number' || !Number.isFinite(row.perHour) || row.perHour <= 0 || row.perHour > 1000) fail(`${at}.perHour`, `${show(row.perHour)} is not a price: it must be a number of ${table.currency} per VM-hour, more than 0 and at most 1000`);
    const key = `${(row.vmSize as string).toLowerCase()} ${row.region ?? '*'}`;
    const before = seen.get(key);
    if (before !== undefined) fail(at, `prices ${row.vmSize} ${row.region === undefined ? 'in every region' : `in ${row.region}`} again: prices[${before}] already does`);
    seen.set(key, i);
    return { vmSize: row.vmSize as string, ...(row.region !== undefined ? { region: row.region as string } : {}), perHour: row.perHour as number };
  });
  return {
    currency: table.currency as string,
    ...(table.source !== undefined ? { source: table.source as string } : {}),
    ...(table.date !== undefined ? { date: table.date as string } : {}),
    ...(table.note !== undefined ? { note: table.note as string } : {}),
    prices,
  };
}

/** The price of one VM-hour of `vmSize` in `region` in one table: the region's row, else the size's row for every region. */
function lookup(table: PriceTable, vmSize: string, region: string): number | undefined {
  const size = vmSize.toLowerCase();
  const rows = table.prices.filter((r) => r.vmSize.toLowerCase() === size);
  return (rows.find((r) => r.region === region) ?? rows.find((r) => r.region === undefined))?.perHour;
}

/** The price of a VM size in a region: the user's table first, then the built-in one when in the same currency. */
export function priceOf(vmSize: string, region: string, user?: PriceTable, table: PriceTable = BUILT_IN_PRICES): GroupPrice | undefined {
  const mine = user ? lookup(user, vmSize, region) : undefined;
  if (mine !== undefined) return { perHour: mine, currency: user!.currency, from: 'user' };
  if (user && user.currency !== table.currency) return undefined;
  const theirs = lookup(table, vmSize, region);
  return theirs === undefined ? undefined : { perHour: theirs, currency: table.currency, from: 'built-in' };
}

/** The whole days a trace spans, from `start` (midnight UTC of its first run's day) to the day of its last run. */
export function traceDays(start: number, lastArrival: number): number {
  return Math.max(1, Math.ceil((lastArrival + 1 - start) / (24 * 3600_000)));
}

/** Bot-hours over `days` days times this are bot-hours per month: HOURS_PER_MONTH over the days' hours. */
export function monthFactor(days: number): number {
  return HOURS_PER_MONTH / (days * 24);
}
