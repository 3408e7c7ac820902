/**
 * Azure's attested data, verified: what binds a bot's registration to the VM it runs on.
 *
 * Microsoft Learn, "Azure Instance Metadata Service", Attested data: `GET
 * /metadata/attested/document` with `nonce`, "A 10-digit string that serves as a cryptographic
 * nonce", answers `{"encoding":"pkcs7","signature":"<base64>"}`; "The signature blob is a pkcs7-signed
 * version of document. It contains the certificate used for signing along with certain
 * VM-specific details", among them `vmId`, `nonce`, `subscriptionId` and `timeStamp` (`createdOn`,
 * `expiresOn`). Signature Validation Guidance: "you should confirm that the signature was created
 * with a certificate from Azure. This is done by validating the certificate Subject Alternative
 * Name (SAN)", `*.metadata.azure.com` in the public cloud (another domain in each sovereign
 * cloud), "the certification validation should accept any subdomain".
 *
 * The SignedData holds the signing certificate only: Microsoft's Linux sample fetches the
 * intermediate from the certificate's "CA Issuers" URL. The runtime fetches nothing a document
 * names (that URL comes from a certificate not yet verified); it builds the chain from the
 * certificates it was given: the issuing CAs (`intermediates`) up to a trusted root (`roots`).
 *
 * Checked here, each refusal with its own code: the PKCS#7 structure, its one signature over the
 * document, the chain to a root at the time of use, the signer's DNS name, the document's times
 * and its subscription. The nonce (issued by the runtime, single use) and the vmId (a VM the scaler
 * created for the group, not registered yet) are the store's to check, in the registration's
 * transaction (Store.register, decideRegister).
 */
import { createHash, verify, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { ContentInfo, id_data, id_messageDigest, id_signedData, SignedData } from '@peculiar/asn1-cms';
import { Certificate } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';

/** The certificates and names the runtime trusts attested data by. */
export interface AttestationTrust {
  /** Trust anchors: a chain must end at one of these (compared whole, by SHA-256 fingerprint). */
  readonly roots: readonly X509Certificate[];
  /** Issuing CAs that may stand between the signing certificate and a root; not trusted on their own. */
  readonly intermediates: readonly X509Certificate[];
  /** DNS names the signing certificate must name in its SAN, or a subdomain of. @default ['metadata.azure.com'] */
  readonly signerDomains?: readonly string[];
  /** Clock skew allowed on the document's times and the certificates' validity. @default 60 s */
  readonly clockToleranceMs?: number;
}

/** What a verified document says. */
export interface AttestedClaims {
  readonly vmId: string;
  readonly nonce: string;
  readonly subscriptionId: string;
  readonly createdOn: number;
  readonly expiresOn: number;
}

export type AttestationFailure =
  | 'attestation_malformed'
  | 'attestation_signature'
  | 'attestation_chain'
  | 'attestation_signer'
  | 'attestation_expired'
  | 'attestation_subscription';

/** A document that proves nothing; `code` names the rule it broke. */
export class AttestationError extends Error {
  constructor(
    readonly code: AttestationFailure,
    message: string,
  ) {
    super(message);
    this.name = 'AttestationError';
  }
}

/** Public Azure; sovereign clouds use metadata.azure.us, metadata.azure.cn (Learn, the table of SAN domains). */
export const AZURE_SIGNER_DOMAINS: readonly string[] = ['metadata.azure.com'];
const DEFAULT_TOLERANCE_MS = 60_000;
/** Longer chains than this are refused rather than walked. */
const MAX_CHAIN = 5;

/** Digest OIDs: SHA-2, and the signature OIDs Azure's example names in their place. */
const DIGESTS: Readonly<Record<string, string>> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
/** Signature OIDs: RSA PKCS #1 v1.5 and ECDSA, which node's verify() tells apart by the key. */
const SIGNATURES = new Set([
  '1.2.840.113549.1.1.1',
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13',
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
]);

/**
 * Opens a PKCS#7 SignedData and checks its one signature with the certificate it carries for the
 * signer. Returns the signed content and the signer's certificate, and the other certificates it
 * carries (which are not trusted for that).
 */
export function openSignedData(der: Buffer): { content: Buffer; signer: X509Certificate; carried: X509Certificate[] } {
  const malformed = (what: string) => new AttestationError('attestation_malformed', `attested data: ${what}; send the metadata service's answer unchanged`);
  let signedData: SignedData;
  try {
    const info = AsnConvert.parse(der, ContentInfo);
    if (info.contentType !== id_signedData) throw malformed(`content type ${info.contentType} is not PKCS #7 signedData`);
    signedData = AsnConvert.parse(info.content, SignedData);
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    throw malformed('the signature is not a DER PKCS #7 SignedData');
  }
  const encapsulated = signedData.encapContentInfo;
  if (encapsulated.eContentType !== id_data || !encapsulated.eContent?.single) throw malformed('it holds no signed data content');
  const content = Buffer.from(encapsulated.eContent.single.buffer);
  if (signedData.signerInfos.length !== 1) throw malformed(`it has ${signedData.signerInfos.length} signers, not one`);
  const [signerInfo] = signedData.signerInfos;
  const certificates = (signedData.certificates ?? []).flatMap((choice) => (choice.certificate ? [choice.certificate] : []));
  const sid = signerInfo.sid.issuerAndSerialNumber;
  if (!sid) throw malformed('its signer is not named by issuer and serial number');
  const issuerDer = Buffer.from(AsnConvert.serialize(sid.issuer));
  const serial = Buffer.from(sid.serialNumber);
  const signerAsn = certificates.find(
    (c) => Buffer.from(c.tbsCertificate.serialNumber).equals(serial) && Buffer.from(AsnConvert.serialize(c.tbsCertificate.issuer)).equals(issuerDer),
  );
  if (!signerAsn) throw malformed('it does not carry the certificate of its signer');
  const toX509 = (c: Certificate) => new X509Certificate(Buffer.from(AsnConvert.serialize(c)));
  const signer = toX509(signerAsn);
  const digest = DIGESTS[signerInfo.digestAlgorithm.algorithm];
  if (!digest) throw new AttestationError('attestation_signature', `attested data: digest algorithm ${signerInfo.digestAlgorithm.algorithm} is not SHA-256, SHA-384 or SHA-512`);
  if (!SIGNATURES.has(signerInfo.signatureAlgorithm.algorithm)) {
    throw new AttestationError('attestation_signature', `attested data: signature algorithm ${signerInfo.signatureAlgorithm.algorithm} is not RSA PKCS #1 v1.5 or ECDSA`);
  }
  let signed = content;
  if (signerInfo.signedAttrs) {
    // RFC 5652, 5.4: the signature covers the attributes (as a SET OF), and they hold the content's digest.
    const messageDigest = signerInfo.signedAttrs.find((a) => a.attrType === id_messageDigest)?.attrValues[0];
    const expected = createHash(digest).update(content).digest();
    // The attribute's value is the DER of an OCTET STRING: tag 0x04, the length, the digest.
    const encoded = Buffer.concat([Buffer.from([0x04, expected.length]), expected]);
    if (!messageDigest || !Buffer.from(messageDigest).equals(encoded)) {
      throw new AttestationError('attestation_signature', 'attested data: the message digest attribute does not match the signed content');
    }
    // Encoded again as they came, in their order: a DER signer's order.
    signed = Buffer.from(new asn1js.Set({ value: signerInfo.signedAttrs.map((a) => asn1js.fromBER(AsnConvert.serialize(a)).result) }).toBER());
  }
  let valid = false;
  try {
    valid = verify(digest, signed, signer.publicKey, Buffer.from(signerInfo.signature.buffer));
  } catch {
    valid = false;
  }
  if (!valid) throw new AttestationError('attestation_signature', `attested data: the signature does not verify with the certificate of ${signer.subject.replace(/\n/g, ', ')}`);
  return { content, signer, carried: certificates.filter((c) => c !== signerAsn).map(toX509) };
}

function validityProblem(cert: X509Certificate, now: number, tolerance: number): string | undefined {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (!(from - tolerance <= now && now <= to + tolerance)) return `certificate ${oneLine(cert.subject)} is valid from ${cert.validFrom} to ${cert.validTo}, not now`;
  return undefined;
}

/**
 * Why `leaf` does not chain to one of `roots` at `now`, or undefined when it does: each step's
 * issuer, a CA certificate among the roots, the configured issuing CAs or the certificates the
 * document carried, must have signed it, and every certificate on the way must be valid now.
 */
export function chainProblem(leaf: X509Certificate, pool: readonly X509Certificate[], roots: readonly X509Certificate[], now: number, toleranceMs = DEFAULT_TOLERANCE_MS): string | undefined {
  const anchors = new Set(roots.map((r) => r.fingerprint256));
  const candidates = [...roots, ...pool];
  let cert = leaf;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const expired = validityProblem(cert, now, toleranceMs);
    if (expired) return expired;
    if (anchors.has(cert.fingerprint256)) return undefined;
    const issuer = candidates.find((c) => c.ca && c.fingerprint256 !== cert.fingerprint256 && cert.checkIssued(c) && cert.verify(c.publicKey));
    if (!issuer) {
      return (
        `no trusted certificate issued ${oneLine(cert.subject)}: its issuer ${oneLine(cert.issuer)} is not among the ${roots.length} roots and ${pool.length} ` +
        'issuing CAs the runtime knows; give the issuing CA\'s certificate ("Azure Certificate Authority details", Microsoft Learn) with --attestation-intermediates'
      );
    }
    cert = issuer;
  }
  return `the chain from ${oneLine(leaf.subject)} is longer than ${MAX_CHAIN} certificates`;
}

/** Why the signer's certificate is not one of Azure's metadata service, or undefined. */
export function signerProblem(cert: X509Certificate, domains: readonly string[]): string | undefined {
  const names = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4).toLowerCase());
  const ok = names.some((name) => domains.some((d) => name === d.toLowerCase() || name.endsWith(`.${d.toLowerCase()}`)));
  if (ok) return undefined;
  return `the signing certificate names ${names.length ? names.join(', ') : 'no DNS name in its SAN'}, not ${domains.map((d) => `${d} or a subdomain`).join(', ')}`;
}

const ATTESTED_TIME = /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** `11/30/20 21:19:19 -0000` (month/day/year, as in Microsoft's example document) in ms, or NaN. */
export function parseAttestedTime(text: string): number {
  const m = ATTESTED_TIME.exec(text);
  if (!m) return Number.NaN;
  const [, month, day, year, hours, minutes, seconds, sign, offsetHours, offsetMinutes] = m;
  const utc = Date.UTC(2000 + Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes), Number(seconds));
  const offset = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 * (sign === '-' ? -1 : 1);
  return utc - offset;
}

/** The claims of a document's JSON, or the field that is missing or malformed. */
export function parseAttestedDocument(content: Buffer): AttestedClaims {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(content.toString('utf8'));
  } catch {
    throw new AttestationError('attestation_malformed', 'attested data: the signed document is not JSON');
  }
  const text = (value: unknown, field: string, pattern: RegExp, rule: string): string => {
    if (typeof value !== 'string' || !pattern.test(value)) throw new AttestationError('attestation_malformed', `attested data: ${field} ${JSON.stringify(value)} is not ${rule}`);
    return value;
  };
  const stamp = (doc.timeStamp ?? {}) as Record<string, unknown>;
  const time = (field: 'createdOn' | 'expiresOn') => parseAttestedTime(text(stamp[field], `timeStamp.${field}`, ATTESTED_TIME, 'a time as MM/DD/YY hh:mm:ss +0000'));
  return {
    vmId: text(doc.vmId, 'vmId', /^[0-9A-Fa-f-]{36}$/, 'a VM ID (a UUID)').toLowerCase(),
    nonce: text(doc.nonce, 'nonce', /^[0-9]{10}$/, 'a 10-digit nonce'),
    subscriptionId: text(doc.subscriptionId, 'subscriptionId', /^[0-9A-Fa-f-]{36}$/, 'a subscription ID (a UUID)').toLowerCase(),
    createdOn: time('createdOn'),
    expiresOn: time('expiresOn'),
  };
}

/** Why the claims do not hold for this group now, or undefined: the document's times, then its subscription. */
export function claimsProblem(
  claims: AttestedClaims,
  expected: { readonly subscriptionId: string; readonly now: number; readonly toleranceMs?: number },
): { readonly code: AttestationFailure; readonly message: string } | undefined {
  const tolerance = expected.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  if (claims.createdOn - tolerance > expected.now || claims.expiresOn + tolerance < expected.now) {
    return {
      code: 'attestation_expired',
      message: `attested data: the document is valid from ${new Date(claims.createdOn).toISOString()} to ${new Date(claims.expiresOn).toISOString()}, not now (${new Date(expected.now).toISOString()}); ask the metadata service for a new one`,
    };
  }
  if (claims.subscriptionId !== expected.subscriptionId.toLowerCase()) {
    return {
      code: 'attestation_subscription',
      message: `attested data: the VM is in subscription ${claims.subscriptionId}, not ${expected.subscriptionId}, where the group's scale set is`,
    };
  }
  return undefined;
}

/**
 * Verifies the metadata service's answer for the group's subscription at `now`, and returns its
 * claims; throws an AttestationError that names the rule broken.
 */
export function verifyAttestedData(
  document: { readonly encoding: string; readonly signature: string },
  trust: AttestationTrust,
  expected: { readonly subscriptionId: string; readonly now: number },
): AttestedClaims {
  if (document.encoding !== 'pkcs7') throw new AttestationError('attestation_malformed', `attested data: encoding "${document.encoding}" is not pkcs7`);
  const { content, signer, carried } = openSignedData(Buffer.from(document.signature, 'base64'));
  const tolerance = trust.clockToleranceMs ?? DEFAULT_TOLERANCE_MS;
  const chain = chainProblem(signer, [...trust.intermediates, ...carried], trust.roots, expected.now, tolerance);
  if (chain) throw new AttestationError('attestation_chain', `attested data: ${chain}`);
  const name = signerProblem(signer, trust.signerDomains ?? AZURE_SIGNER_DOMAINS);
  if (name) throw new AttestationError('attestation_signer', `attested data: ${name}`);
  const claims = parseAttestedDocument(content);
  const problem = claimsProblem(claims, { ...expected, toleranceMs: tolerance });
  if (problem) throw new AttestationError(problem.code, problem.message);
  return claims;
}

/** Certificates from PEM text (one or more `BEGIN CERTIFICATE` blocks). */
export function certificatesFromPem(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM certificate (-----BEGIN CERTIFICATE-----) found`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new Error(`${source}: certificate ${i + 1} cannot be read: ${(error as Error).message}`);
    }
  });
}

function oneLine(name: string): string {
  return `"${name.split('\n').filter(Boolean).join(', ')}"`;
}
