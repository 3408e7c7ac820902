/**
 * Attested data as the runtime verifies it: the PKCS #7 signature, the chain to a configured root,
 * the signer's Azure name, the document's times and subscription. Each refusal names its rule.
 * Microsoft's own example (Learn, "Azure Instance Metadata Service", Attested data) is read too.
 */
import { X509Certificate } from 'crypto';
import {
  AttestationTrust,
  certificatesFromPem,
  claimsProblem,
  openSignedData,
  parseAttestedTime,
  verifyAttestedData,
} from '../../../runtime/api/attested-data';
import { attestedContent, generateSimAttestationChain, signAttestedContent, SimAttestationChain } from '../../../runtime/arm-sim/attestation';

/** The `signature` of the example response on that Learn page, as published. */
const LEARN_EXAMPLE_SIGNATURE =
  'MIIEEgYJKoZIhvcNAQcCoIIEAzCCA/8CAQExDzANBgkqhkiG9w0BAQsFADCBugYJKoZIhvcNAQcBoIGsBIGpeyJub25jZSI6IjEyMzQ1NjY3NjYiLCJwbGFuIjp7Im5hbWUiOiIiLCJwcm9kdWN0IjoiIiwicHVibGlzaGVyIjoiIn0sInRpbWVTdGFtcCI6eyJjcmVhdGVkT24iOiIxMS8yMC8xOCAyMjowNzozOSAtMDAwMCIsImV4cGlyZXNPbiI6IjExLzIwLzE4IDIyOjA4OjI0IC0wMDAwIn0sInZtSWQiOiIifaCCAj8wggI7MIIBpKADAgECAhBnxW5Kh8dslEBA0E2mIBJ0MA0GCSqGSIb3DQEBBAUAMCsxKTAnBgNVBAMTIHRlc3RzdWJkb21haW4ubWV0YWRhdGEuYXp1cmUuY29tMB4XDTE4MTEyMDIxNTc1N1oXDTE4MTIyMDIxNTc1NlowKzEpMCcGA1UEAxMgdGVzdHN1YmRvbWFpbi5tZXRhZGF0YS5henVyZS5jb20wgZ8wDQYJKoZIhvcNAQEBBQADgY0AMIGJAoGBAML/tBo86ENWPzmXZ0kPkX5dY5QZ150mA8lommszE71x2sCLonzv4/UWk4H+jMMWRRwIea2CuQ5RhdWAHvKq6if4okKNt66fxm+YTVz9z0CTfCLmLT+nsdfOAsG1xZppEapC0Cd9vD6NCKyE8aYI1pliaeOnFjG0WvMY04uWz2MdAgMBAAGjYDBeMFwGA1UdAQRVMFOAENnYkHLa04Ut4Mpt7TkJFfyhLTArMSkwJwYDVQQDEyB0ZXN0c3ViZG9tYWluLm1ldGFkYXRhLmF6dXJlLmNvbYIQZ8VuSofHbJRAQNBNpiASdDANBgkqhkiG9w0BAQQFAAOBgQCLSM6aX5Bs1KHCJp4VQtxZPzXF71rVKCocHy3N9PTJQ9Fpnd+bYw2vSpQHg/AiG82WuDFpPReJvr7Pa938mZqW9HUOGjQKK2FYDTg6fXD8pkPdyghlX5boGWAMMrf7bFkup+lsT+n2tRw2wbNknO1tQ0wICtqy2VqzWwLi45RBwTGB6DCB5QIBATA/MCsxKTAnBgNVBAMTIHRlc3RzdWJkb21haW4ubWV0YWRhdGEuYXp1cmUuY29tAhBnxW5Kh8dslEBA0E2mIBJ0MA0GCSqGSIb3DQEBCwUAMA0GCSqGSIb3DQEBAQUABIGAld1BM/yYIqqv8SDE4kjQo3Ul/IKAVR8ETKcve5BAdGSNkTUooUGVniTXeuvDj5NkmazOaKZp9fEtByqqPOyw/nlXaZgOO44HDGiPUJ90xVYmfeK6p9RpJBu6kiKhnnYTelUk5u75phe5ZbMZfBhuPhXmYAdjc7Nmw97nx8NnprQ=';

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';
const VM_ID = '02aab8a4-74ef-476e-8182-f6d2ba4166a6';
const NONCE = '1234567890';
const HOUR = 3_600_000;

let chain: SimAttestationChain;
let stranger: SimAttestationChain;
let now: number;

beforeAll(async () => {
  now = Date.now();
  [chain, stranger] = await Promise.all([generateSimAttestationChain({ now }), generateSimAttestationChain({ now })]);
}, 60_000);

const trustOf = (c: SimAttestationChain, overrides: Partial<AttestationTrust> = {}): AttestationTrust => ({
  roots: certificatesFromPem(c.root.cert, 'root'),
  intermediates: certificatesFromPem(c.issuer.cert, 'issuing CA'),
  ...overrides,
});
const content = (overrides: Partial<Parameters<typeof attestedContent>[0]> = {}) =>
  Buffer.from(JSON.stringify(attestedContent({ vmId: VM_ID, subscriptionId: SUBSCRIPTION, nonce: NONCE, now, ...overrides })));
const verify = (document: { encoding: string; signature: string }, trust = trustOf(chain), at = now, subscriptionId = SUBSCRIPTION) =>
  verifyAttestedData(document, trust, { subscriptionId, now: at });
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  throw new Error('expected a refusal');
};

describe("Microsoft's published example", () => {
  test('parses, and its signature verifies with the certificate it carries', () => {
    const { content: signed, signer } = openSignedData(Buffer.from(LEARN_EXAMPLE_SIGNATURE, 'base64'));
    expect(JSON.parse(signed.toString('utf8'))).toEqual({
      nonce: '1234566766',
      plan: { name: '', product: '', publisher: '' },
      timeStamp: { createdOn: '11/20/18 22:07:39 -0000', expiresOn: '11/20/18 22:08:24 -0000' },
      vmId: '',
    });
    expect(signer.subject).toBe('CN=testsubdomain.metadata.azure.com');
  });

  test('its test certificate, even when trusted as a root, names no DNS name in its SAN: refused by the signer rule', () => {
    const example = openSignedData(Buffer.from(LEARN_EXAMPLE_SIGNATURE, 'base64')).signer;
    const atThatTime = Date.UTC(2018, 10, 20, 22, 8);
    expect(refusal(() => verify({ encoding: 'pkcs7', signature: LEARN_EXAMPLE_SIGNATURE }, { roots: [example], intermediates: [] }, atThatTime))).toEqual({
      code: 'attestation_signer',
      message: 'attested data: the signing certificate names no DNS name in its SAN, not metadata.azure.com or a subdomain',
    });
  });

  test.each([
    ['11/20/18 22:07:39 -0000', Date.UTC(2018, 10, 20, 22, 7, 39)],
    ['11/30/20 21:19:24 -0000', Date.UTC(2020, 10, 30, 21, 19, 24)],
    ['01/02/30 03:04:05 +0100', Date.UTC(2030, 0, 2, 2, 4, 5)],
  ])('its time format %s reads as month/day/year', (text, ms) => {
    expect(parseAttestedTime(text)).toBe(ms);
  });
});

describe('attested data signed by the test chain', () => {
  test('verifies, and gives the vmId, nonce and subscription it carries', () => {
    expect(verify(signAttestedContent(content(), chain.signer))).toEqual({
      vmId: VM_ID,
      nonce: NONCE,
      subscriptionId: SUBSCRIPTION,
      createdOn: Math.floor(now / 1000) * 1000,
      expiresOn: Math.floor(now / 1000) * 1000 + 6 * HOUR,
    });
  });

  test('verifies with signed attributes too (content type and message digest, RFC 5652)', () => {
    expect(verify(signAttestedContent(content(), chain.signer, { signedAttributes: true })).vmId).toBe(VM_ID);
  });

  test('a bad signature (made with a key that is not the carried certificate\'s) is refused as attestation_signature', () => {
    const forged = signAttestedContent(content(), { cert: chain.signer.cert, key: stranger.signer.key });
    expect(refusal(() => verify(forged))).toEqual({
      code: 'attestation_signature',
      message: 'attested data: the signature does not verify with the certificate of CN=northeurope.metadata.azure.com',
    });
  });

  test('a chain to another root is refused as attestation_chain, naming the unknown issuer', () => {
    expect(refusal(() => verify(signAttestedContent(content(), stranger.signer)))).toEqual({
      code: 'attestation_chain',
      message: expect.stringMatching(
        /^attested data: no trusted certificate issued "CN=northeurope\.metadata\.azure\.com": its issuer "CN=arm-sim Test Attestation Issuing CA" is not among the 1 roots and 1 issuing CAs the runtime knows; give the issuing CA's certificate/,
      ),
    });
  });

  test('certificates the document carries do not make a chain trusted: another root and issuer carried along are refused', () => {
    const carried = signAttestedContent(content(), stranger.signer, { extraCertificates: [stranger.issuer.cert, stranger.root.cert] });
    expect(refusal(() => verify(carried)).code).toBe('attestation_chain');
  });

  test('the issuing CA carried in the document may complete a chain to a configured root', () => {
    const carried = signAttestedContent(content(), chain.signer, { extraCertificates: [chain.issuer.cert] });
    expect(verify(carried, trustOf(chain, { intermediates: [] })).vmId).toBe(VM_ID);
  });

  test('without the issuing CA, the chain is refused and the message says which option gives it', () => {
    expect(refusal(() => verify(signAttestedContent(content(), chain.signer), trustOf(chain, { intermediates: [] }))).message).toMatch(/--attestation-intermediates$/);
  });

  test('a signing certificate that is no longer valid is refused as attestation_chain', () => {
    const notAfter = Date.parse(new X509Certificate(chain.signer.cert).validTo);
    const later = notAfter + 2 * 60_000;
    const document = signAttestedContent(content({ now: later }), chain.signer);
    expect(refusal(() => verify(document, trustOf(chain), later))).toEqual({ code: 'attestation_chain', message: expect.stringMatching(/^attested data: certificate "CN=northeurope\.metadata\.azure\.com" is valid from .* not now$/) });
  });

  test('a signer outside the configured domains is refused as attestation_signer', () => {
    expect(refusal(() => verify(signAttestedContent(content(), chain.signer), trustOf(chain, { signerDomains: ['metadata.azure.us'] })))).toEqual({
      code: 'attestation_signer',
      message: 'attested data: the signing certificate names northeurope.metadata.azure.com, metadata.azure.com, not metadata.azure.us or a subdomain',
    });
  });

  test('a document past its expiresOn (beyond the minute of clock skew) is refused as attestation_expired', () => {
    const document = signAttestedContent(content({ lifetimeMs: 5_000 }), chain.signer);
    expect(verify(document, trustOf(chain), now + 60_000).vmId).toBe(VM_ID);
    expect(refusal(() => verify(document, trustOf(chain), now + 5_000 + 62_000))).toEqual({
      code: 'attestation_expired',
      message: expect.stringMatching(/^attested data: the document is valid from .* not now .*; ask the metadata service for a new one$/),
    });
  });

  test('a VM of another subscription is refused as attestation_subscription, naming both', () => {
    const other = '11111111-1111-1111-1111-111111111111';
    expect(refusal(() => verify(signAttestedContent(content({ subscriptionId: other }), chain.signer)))).toEqual({
      code: 'attestation_subscription',
      message: `attested data: the VM is in subscription ${other}, not ${SUBSCRIPTION}, where the group's scale set is`,
    });
  });

  test.each([
    ['a nonce that is not 10 digits', { nonce: 'abc' }, /^attested data: nonce "abc" is not a 10-digit nonce$/],
    ['a vmId that is not a UUID', { vmId: '' }, /^attested data: vmId "" is not a VM ID \(a UUID\)$/],
  ])('%s is refused as attestation_malformed', (_, overrides, message) => {
    expect(refusal(() => verify(signAttestedContent(content(overrides), chain.signer)))).toEqual({ code: 'attestation_malformed', message: expect.stringMatching(message) });
  });

  test.each([
    ['not DER', { encoding: 'pkcs7', signature: Buffer.from('not a signature').toString('base64') }, /^attested data: the signature is not a DER PKCS #7 SignedData/],
    ['not pkcs7', { encoding: 'jws', signature: 'AAAA' }, /^attested data: encoding "jws" is not pkcs7$/],
  ])('an answer that is %s is refused as attestation_malformed', (_, document, message) => {
    expect(refusal(() => verify(document))).toEqual({ code: 'attestation_malformed', message: expect.stringMatching(message) });
  });
});

describe('claimsProblem', () => {
  const claims = { vmId: VM_ID, nonce: NONCE, subscriptionId: SUBSCRIPTION, createdOn: 10 * HOUR, expiresOn: 11 * HOUR };

  test.each([
    ['within its times', 10.5 * HOUR, undefined],
    ['a minute before createdOn (clock skew)', 10 * HOUR - 60_000, undefined],
    ['more than a minute before createdOn', 10 * HOUR - 61_000, 'attestation_expired'],
    ['more than a minute after expiresOn', 11 * HOUR + 61_000, 'attestation_expired'],
  ])('a document checked %s', (_, at, code) => {
    expect(claimsProblem(claims, { subscriptionId: SUBSCRIPTION, now: at })?.code).toBe(code);
  });

  test('the subscription compares without regard to case', () => {
    expect(claimsProblem(claims, { subscriptionId: SUBSCRIPTION.toUpperCase(), now: 10.5 * HOUR })).toBeUndefined();
  });
});
