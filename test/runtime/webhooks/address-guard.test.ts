import type { LookupAddress } from 'dns';
import { AddressGuard, DestinationRefused, refusedAddress } from '../../../runtime/webhooks/address-guard';

/** A resolver that answers from a table, as DNS would for these names. */
const resolver = (table: Record<string, string[]>) => async (host: string): Promise<LookupAddress[]> =>
  (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('refusedAddress', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.10.20', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['fd12:3456::1', 'unique-local'],
    ['168.63.129.16', 'Azure host (wireserver)'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback (IPv4 inside IPv6)'],
    ['::ffff:a9fe:a9fe', 'cloud metadata (IPv4 inside IPv6)'],
    ['64:ff9b::10.0.0.1', 'private (IPv4 inside IPv6)'],
    ['2002:c0a8:0101::1', 'private (IPv4 inside IPv6)'],
  ])('%s is refused as %s', (address, why) => {
    expect(refusedAddress(address)).toBe(why);
  });

  test.each(['8.8.8.8', '20.50.2.1', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(refusedAddress(address)).toBeUndefined();
  });
});

describe('AddressGuard.checkUrl', () => {
  const guard = new AddressGuard({ allowedHosts: ['Hooks.Internal.Example.'] });

  test('an https URL to a name passes; its addresses are checked when a delivery connects', () => {
    expect(guard.checkUrl('https://hooks.example.com/in?sig=abc').hostname).toBe('hooks.example.com');
  });

  test.each([
    ['http://hooks.example.com/in', /url: must use https/],
    ['ftp://hooks.example.com/in', /url: the scheme ftp: is not allowed/],
    ['https://user:pw@hooks.example.com/in', /url: must not carry a user name or password/],
    ['not a url', /url: "not a url" is not an absolute URL/],
    ['https://127.0.0.1/in', /127\.0\.0\.1 is a loopback address/],
    ['https://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a cloud metadata address/],
    ['https://[::1]:8443/in', /::1 is a loopback address/],
  ])('%s is refused', (url, message) => {
    expect(() => guard.checkUrl(url)).toThrow(DestinationRefused);
    expect(() => guard.checkUrl(url)).toThrow(message);
  });

  test('a host an admin allows by name may use plain http (names compare without case and trailing dot)', () => {
    expect(guard.checkUrl('http://hooks.internal.example:8080/in').port).toBe('8080');
  });
});

describe('AddressGuard.addresses', () => {
  const guard = new AddressGuard({
    allowedHosts: ['receiver.test'],
    resolve: resolver({
      'loopback.example.com': ['127.0.0.1'],
      'private.example.com': ['10.0.0.7'],
      'linklocal.example.com': ['169.254.3.4'],
      'metadata.example.com': ['169.254.169.254'],
      'mixed.example.com': ['93.184.215.14', '192.168.0.10'],
      'public.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
      'receiver.test': ['127.0.0.1'],
    }),
  });

  test.each([
    ['loopback.example.com', /loopback\.example\.com \(127\.0\.0\.1\) is a loopback address/],
    ['private.example.com', /\(10\.0\.0\.7\) is a private address/],
    ['linklocal.example.com', /\(169\.254\.3\.4\) is a link-local address/],
    ['metadata.example.com', /\(169\.254\.169\.254\) is a cloud metadata address/],
    ['mixed.example.com', /\(192\.168\.0\.10\) is a private address/],
    ['nowhere.example.com', /resolves to no address/],
  ])('%s is refused after resolution', async (host, message) => {
    await expect(guard.addresses(host)).rejects.toThrow(message);
  });

  test('a name whose every address is public resolves to them all', async () => {
    expect((await guard.addresses('public.example.com')).map((a) => a.address)).toEqual(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']);
  });

  test('an allowed name resolves whatever its addresses', async () => {
    expect(await guard.addresses('receiver.test')).toEqual([{ address: '127.0.0.1', family: 4 }]);
  });

  test('the lookup hands the connection the checked address, or the refusal', async () => {
    const lookup = (host: string) => new Promise((resolve) => guard.lookup(host, {}, (err, address, family) => resolve(err ? err.message : [address, family])));
    expect(await lookup('public.example.com')).toEqual(['93.184.215.14', 4]);
    expect(await lookup('metadata.example.com')).toMatch(/cloud metadata address/);
  });
});
