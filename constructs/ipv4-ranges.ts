/**
 * IPv4 ranges in CIDR notation (`10.80.0.0/16`): parsing, and the arithmetic the network layout
 * and its rule need. Pure: no constructs, no tokens.
 */

export interface Ipv4Range {
  /** The first address of the range as an unsigned 32-bit number (the address with its host bits cleared). */
  readonly start: number;
  /** The prefix length, 0 to 32. */
  readonly prefixLength: number;
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const CIDR = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}/(3[0-2]|[12]?\\d)$`);

/** The range a CIDR text names, or undefined when it is not IPv4 CIDR notation. */
export function parseIpv4Range(text: string): Ipv4Range | undefined {
  const match = CIDR.exec(text.trim());
  if (!match) return undefined;
  const prefixLength = Number(match[5]);
  const address = match.slice(1, 5).reduce((acc, octet) => acc * 256 + Number(octet), 0);
  return { start: address - (address % size(prefixLength)), prefixLength };
}

/** How many addresses a prefix length spans. */
export function size(prefixLength: number): number {
  return 2 ** (32 - prefixLength);
}

/** The last address of a range. */
function end(range: Ipv4Range): number {
  return range.start + size(range.prefixLength) - 1;
}

/** Whether `inner` lies wholly inside `outer`. */
export function contains(outer: Ipv4Range, inner: Ipv4Range): boolean {
  return inner.start >= outer.start && end(inner) <= end(outer);
}

/** Whether two ranges share an address. */
export function overlaps(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.start <= end(b) && b.start <= end(a);
}

/** The range of `prefixLength` that starts `offset` addresses into `base`, in CIDR notation. */
export function rangeAt(base: Ipv4Range, offset: number, prefixLength: number): string {
  return formatIpv4Range({ start: base.start + offset, prefixLength });
}

export function formatIpv4Range({ start, prefixLength }: Ipv4Range): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256);
  return `${octets.join('.')}/${prefixLength}`;
}
