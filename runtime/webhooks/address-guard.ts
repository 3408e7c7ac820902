/**
 * Where webhooks may go: public addresses only, over HTTPS, unless an environment admin allows a
 * destination by its host name. A name is resolved here, every address it has is checked (one
 * private answer among public ones is refused too, since the connection could use it), and the
 * connection goes to the address that was checked, so a second resolution (DNS rebinding) cannot
 * switch it. Redirects are never followed (deliver.ts), so a public endpoint cannot bounce a
 * request to an internal one.
 *
 * Refused: unspecified, loopback, private (RFC 1918), carrier-grade NAT (RFC 6598), link-local
 * (which holds the cloud metadata services: 169.254.169.254 on Azure and AWS, fd00:ec2::254 in
 * AWS's unique-local range), unique-local, site-local, multicast, documentation, benchmarking and
 * reserved ranges, Azure's host address 168.63.129.16 (the wireserver, "What is IP address
 * 168.63.129.16?", Microsoft Learn), and IPv4 addresses inside IPv6 (IPv4-mapped, NAT64, 6to4)
 * that would be refused as IPv4.
 */
import { promises as dns, LookupAddress } from 'dns';
import { BlockList, isIP } from 'net';

/** Resolves a host name to every address it has. */
export type Resolver = (host: string) => Promise<readonly LookupAddress[]>;

const systemResolver: Resolver = (host) => dns.lookup(host, { all: true, verbatim: true });

/** The refused ranges, each with the words an error names it by. */
const REFUSED: ReadonlyArray<readonly [family: 'ipv4' | 'ipv6', network: string, prefix: number, what: string]> = [
  ['ipv4', '0.0.0.0', 8, 'unspecified'],
  ['ipv4', '10.0.0.0', 8, 'private'],
  ['ipv4', '100.64.0.0', 10, 'carrier-grade NAT'],
  ['ipv4', '127.0.0.0', 8, 'loopback'],
  ['ipv4', '169.254.169.254', 32, 'cloud metadata'],
  ['ipv4', '169.254.0.0', 16, 'link-local'],
  ['ipv4', '168.63.129.16', 32, 'Azure host (wireserver)'],
  ['ipv4', '172.16.0.0', 12, 'private'],
  ['ipv4', '192.0.0.0', 24, 'IETF protocol assignments'],
  ['ipv4', '192.0.2.0', 24, 'documentation'],
  ['ipv4', '192.168.0.0', 16, 'private'],
  ['ipv4', '198.18.0.0', 15, 'benchmarking'],
  ['ipv4', '198.51.100.0', 24, 'documentation'],
  ['ipv4', '203.0.113.0', 24, 'documentation'],
  ['ipv4', '224.0.0.0', 4, 'multicast'],
  ['ipv4', '240.0.0.0', 4, 'reserved'],
  ['ipv6', '::', 128, 'unspecified'],
  ['ipv6', '::1', 128, 'loopback'],
  ['ipv6', '100::', 64, 'discard'],
  ['ipv6', '2001:db8::', 32, 'documentation'],
  ['ipv6', 'fd00:ec2::254', 128, 'cloud metadata'],
  ['ipv6', 'fc00::', 7, 'unique-local'],
  ['ipv6', 'fe80::', 10, 'link-local'],
  ['ipv6', 'fec0::', 10, 'site-local'],
  ['ipv6', 'ff00::', 8, 'multicast'],
];

const ranges = REFUSED.map(([family, network, prefix, what]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { family, list, what };
});

/** The 16 bytes of an IPv6 address. */
function ipv6Bytes(address: string): Buffer {
  let text = address.split('%')[0];
  // A dotted IPv4 tail (::ffff:127.0.0.1) as two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = text.slice(0, -dotted[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return bytes;
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64, 6to4), if it is one of those. */
function embeddedIpv4(address: string): string | undefined {
  const b = ipv6Bytes(address);
  const v4 = (offset: number) => `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
  const zero = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12); // ::ffff:0:0/96
  if (b.readUInt16BE(0) === 0x64 && b.readUInt16BE(2) === 0xff9b && zero(4, 12)) return v4(12); // 64:ff9b::/96
  if (b.readUInt16BE(0) === 0x2002) return v4(2); // 2002::/16
  return undefined;
}

/** Why an address is refused ("loopback", "private", …), or undefined for a public one. */
export function refusedAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const inner = embeddedIpv4(address);
    if (inner !== undefined) {
      const why = refusedAddress(inner);
      if (why) return `${why} (IPv4 inside IPv6)`;
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return ranges.find((r) => r.family === type && r.list.check(address.split('%')[0], type))?.what;
}

/** A destination the rules refuse: the message says which rule, and what an admin can do. */
export class DestinationRefused extends Error {
  readonly code = 'EWEBHOOKDESTINATION';
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefused';
  }
}

export interface AddressGuardOptions {
  /** Host names an environment admin allows whatever their addresses, over HTTP too. @default none */
  readonly allowedHosts?: readonly string[];
  /** @default the system resolver (getaddrinfo, as every other connection of the runtime) */
  readonly resolve?: Resolver;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** The destination rules of one runtime. */
export class AddressGuard {
  private readonly allowed: ReadonlySet<string>;
  private readonly resolve: Resolver;

  constructor(options: AddressGuardOptions = {}) {
    this.allowed = new Set((options.allowedHosts ?? []).map(normalHost));
    this.resolve = options.resolve ?? systemResolver;
  }

  /** An admin allowed this host by name. */
  allows(host: string): boolean {
    return this.allowed.has(normalHost(host));
  }

  /**
   * The URL's form: absolute http(s), HTTPS unless its host is allowed, no user name or password,
   * and no refused IP literal. Names are resolved only when a delivery connects (see `lookup`).
   */
  checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new DestinationRefused(`url: "${raw}" is not an absolute URL`);
    }
    const host = bareHost(url.hostname);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DestinationRefused(`url: the scheme ${url.protocol} is not allowed; use https`);
    if (url.username || url.password) throw new DestinationRefused('url: must not carry a user name or password; put credentials in the path or query the receiver expects');
    if (this.allows(host)) return url;
    if (url.protocol !== 'https:') throw new DestinationRefused(`url: must use https (an admin can allow ${host} by name for plain http)`);
    if (isIP(host)) this.checkAddress(host, host);
    return url;
  }

  /**
   * Resolves a host and checks every address it has; the addresses, in the resolver's order. An
   * allowed host's addresses are not checked.
   */
  async addresses(host: string): Promise<readonly LookupAddress[]> {
    const bare = bareHost(host);
    if (isIP(bare)) {
      if (!this.allows(bare)) this.checkAddress(bare, bare);
      return [{ address: bare, family: isIP(bare) }];
    }
    const found = await this.resolve(bare);
    if (found.length === 0) throw new DestinationRefused(`${bare} resolves to no address`);
    if (!this.allows(bare)) for (const a of found) this.checkAddress(a.address, bare);
    return found;
  }

  /**
   * A `lookup` for http.request and tls.connect: the connection goes to an address that was just
   * checked, and keeps the name for its Host header and TLS server name.
   */
  readonly lookup = (hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    const all = typeof options === 'object' && options?.all === true;
    this.addresses(hostname).then(
      (found) => (all ? callback(null, [...found]) : callback(null, found[0].address, found[0].family)),
      (err: NodeJS.ErrnoException) => callback(err, all ? [] : '', 0),
    );
  };

  private checkAddress(address: string, host: string): void {
    const why = refusedAddress(address);
    if (!why) return;
    const via = host === address ? address : `${host} (${address})`;
    throw new DestinationRefused(`${via} is a ${why} address; webhooks go to public addresses only, unless an environment admin allows ${host} by name`);
  }
}

/** Host names compare lower-case and without a trailing dot. */
function normalHost(host: string): string {
  return bareHost(host).toLowerCase().replace(/\.$/, '');
}

/** A URL's hostname without the brackets of an IPv6 literal. */
function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
