/**
 * The attested data of arm-sim's VMs: what the instance metadata service of an Azure VM answers
 * at `GET /metadata/attested/document?api-version=2020-09-01&nonce=<nonce>`, signed by a test
 * certificate chain made here (a root, an issuing CA, and a signing certificate named like
 * Azure's, `<region>.metadata.azure.com`), so that registration by attested data runs whole in the
 * tests and the demo. The runtime trusts the chain only when told to (`trust`); nothing trusts it
 * by default.
 *
 * The shape follows Microsoft Learn, "Azure Instance Metadata Service", Attested data: the answer
 * is `{"encoding":"pkcs7","signature":"<base64>"}`, "a pkcs7-signed version of document. It
 * contains the certificate used for signing along with certain VM-specific details"; the document
 * holds `nonce`, `plan`, `sku`, `subscriptionId`, `timeStamp` (`createdOn`, `expiresOn`, as
 * `11/30/20 21:19:19 -0000`) and `vmId`. Like the example signature there, the SignedData carries
 * only the signing certificate, no signed attributes, and names the digest by the OID of
 * sha256WithRSAEncryption.
 */
import { createHash, sign, X509Certificate } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  Attribute,
  CertificateChoices,
  CertificateSet,
  CMSVersion,
  ContentInfo,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  id_contentType,
  id_data,
  id_messageDigest,
  id_signedData,
  IssuerAndSerialNumber,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
} from '@peculiar/asn1-cms';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { generate } from 'selfsigned';
import type { AttestedDocument } from '../agent/identity';


/** A certificate and its private key, PEM. */
export interface SimKeyPair {
  readonly cert: string;
  readonly key: string;
}

/** The test chain arm-sim signs attested data with. */
export interface SimAttestationChain {
  readonly root: SimKeyPair;
  readonly issuer: SimKeyPair;
  readonly signer: SimKeyPair;
}

/** What a runtime must be told to accept arm-sim's attested data. */
export interface SimAttestationTrust {
  readonly roots: readonly string[];
  readonly intermediates: readonly string[];
}

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const SHA256 = '2.16.840.1.101.3.4.2.1';
const DAY_MS = 24 * 3_600_000;

/** A fresh chain: a root, an issuing CA it signed, and a signing certificate the issuing CA signed. */
export async function generateSimAttestationChain(options: { region?: string; now?: number } = {}): Promise<SimAttestationChain> {
  const notBeforeDate = new Date((options.now ?? Date.now()) - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 365 * DAY_MS);
  const ca = [
    { name: 'basicConstraints' as const, cA: true, critical: true },
    { name: 'keyUsage' as const, keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
  ];
  const common = { keyType: 'rsa' as const, keySize: 2048, algorithm: 'sha256', notBeforeDate, notAfterDate };
  const pair = (pems: { cert: string; private: string }): SimKeyPair => ({ cert: pems.cert, key: pems.private });
  const root = pair(await generate([{ name: 'commonName', value: 'arm-sim Test Attestation Root' }], { ...common, extensions: ca }));
  const issuer = pair(await generate([{ name: 'commonName', value: 'arm-sim Test Attestation Issuing CA' }], { ...common, extensions: ca, ca: root }));
  const region = options.region ?? 'northeurope';
  const signer = pair(
    await generate([{ name: 'commonName', value: `${region}.metadata.azure.com` }], {
      ...common,
      ca: issuer,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: `${region}.metadata.azure.com` }, { type: 2, value: 'metadata.azure.com' }] },
      ],
    }),
  );
  return { root, issuer, signer };
}

let shared: Promise<SimAttestationChain> | undefined;

/** One chain per process: RSA keys take a while to make, and every simulator may share them. */
export function sharedSimAttestationChain(): Promise<SimAttestationChain> {
  shared ??= generateSimAttestationChain().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/** The roots and issuing CAs a runtime must be given to accept data signed by this chain. */
export function simAttestationTrust(chain: SimAttestationChain): SimAttestationTrust {
  return { roots: [chain.root.cert], intermediates: [chain.issuer.cert] };
}

/** `11/30/20 21:19:19 -0000`: the time format of the document's timeStamp. */
export function attestedTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} -0000`;
}

/** The document of one VM, as the metadata service fills it in. */
export function attestedContent(input: { vmId: string; subscriptionId: string; nonce: string; now: number; lifetimeMs?: number; sku?: string }): Record<string, unknown> {
  return {
    nonce: input.nonce,
    plan: { name: '', product: '', publisher: '' },
    sku: input.sku ?? 'win11-24h2-avd',
    subscriptionId: input.subscriptionId,
    timeStamp: { createdOn: attestedTime(input.now), expiresOn: attestedTime(input.now + (input.lifetimeMs ?? 6 * 3_600_000)) },
    vmId: input.vmId,
  };
}

/**
 * Signs `content` (the document's JSON) with `signer` as a PKCS#7 SignedData carrying the signer's
 * certificate. `signedAttributes` adds the content-type and message-digest attributes, which CMS
 * allows and Azure's example does not use, so that a verifier can be tested on both forms.
 */
export function signAttestedContent(content: Buffer, signer: SimKeyPair, options: { signedAttributes?: boolean; extraCertificates?: readonly string[] } = {}): AttestedDocument {
  const certificate = AsnConvert.parse(new X509Certificate(signer.cert).raw, Certificate);
  const algorithm = (oid: string) => new AlgorithmIdentifier({ algorithm: oid, parameters: null });
  const signerInfo = new SignerInfo({
    version: CMSVersion.v1,
    sid: new SignerIdentifier({
      issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer: certificate.tbsCertificate.issuer, serialNumber: certificate.tbsCertificate.serialNumber }),
    }),
    digestAlgorithm: algorithm(options.signedAttributes ? SHA256 : SHA256_WITH_RSA),
    signatureAlgorithm: algorithm(RSA_ENCRYPTION),
    signature: new OctetString(0),
  });
  let signed: Buffer = content;
  if (options.signedAttributes) {
    signerInfo.signedAttrs = [
      new Attribute({ attrType: id_contentType, attrValues: [new asn1js.ObjectIdentifier({ value: id_data }).toBER()] }),
      new Attribute({ attrType: id_messageDigest, attrValues: [new asn1js.OctetString({ valueHex: createHash('sha256').update(content).digest() }).toBER()] }),
    ];
    // What is signed is the attributes' DER as a SET OF (RFC 5652, 5.4), not the [0] IMPLICIT form.
    const attributes = signerInfo.signedAttrs.map((a) => asn1js.fromBER(AsnConvert.serialize(a)).result);
    signed = Buffer.from(new asn1js.Set({ value: attributes }).toBER());
  }
  signerInfo.signature = new OctetString(sign('sha256', signed, signer.key));
  const extra = (options.extraCertificates ?? []).map((pem) => new CertificateChoices({ certificate: AsnConvert.parse(new X509Certificate(pem).raw, Certificate) }));
  const signedData = new SignedData({
    version: CMSVersion.v1,
    digestAlgorithms: new DigestAlgorithmIdentifiers([signerInfo.digestAlgorithm]),
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: id_data, eContent: new EncapsulatedContent({ single: new OctetString(content) }) }),
    certificates: new CertificateSet([new CertificateChoices({ certificate }), ...extra]),
    signerInfos: new SignerInfos([signerInfo]),
  });
  const der = AsnConvert.serialize(new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signedData) }));
  return { encoding: 'pkcs7', signature: Buffer.from(der).toString('base64') };
}
