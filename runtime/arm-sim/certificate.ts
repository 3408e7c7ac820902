/**
 * The TLS certificate arm-sim serves. The Azure SDK's bearer-token policy refuses plain http, so
 * the imitation has to speak HTTPS; the client trusts this self-signed certificate as its CA.
 */
import { generate } from 'selfsigned';

export interface SimCertificate {
  /** PEM certificate; also the CA the client passes as `tlsOptions.ca`. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

/** A fresh self-signed certificate for 127.0.0.1 and localhost, valid for a year. */
async function generateSimCertificate(): Promise<SimCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000); // tolerate small clock skew
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    // EC keys generate in milliseconds; RSA would slow every test file down.
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

let shared: Promise<SimCertificate> | undefined;

/** One certificate per process, so that starting many simulators stays cheap. */
export function sharedSimCertificate(): Promise<SimCertificate> {
  shared ??= generateSimCertificate().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}
