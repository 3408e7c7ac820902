/**
 * What the VM's Instance Metadata Service proves for the bot.
 * - Its group, without any shared secret: an access token of the group's user-assigned managed
 *   identity for the runtime's audience ("How to use managed identities for Azure resources on an
 *   Azure VM to acquire an access token", Microsoft Learn: GET /metadata/identity/oauth2/token
 *   with `resource`, `client_id` and the `Metadata: true` header). Tokens are kept until five
 *   minutes before they expire. The identity is shared by the group's VMs: it proves the group,
 *   not the VM.
 * - The VM itself: its attested data for a nonce the runtime issued ("Azure Instance Metadata
 *   Service", Microsoft Learn, Attested data: GET /metadata/attested/document with `nonce`), which
 *   Azure signs with the VM's vmId; the runtime registers the bot as that VM only.
 */
import * as http from 'http';

export interface ManagedIdentityOptions {
  /** The user-assigned identity's client ID (a VM may carry several identities). */
  readonly clientId: string;
  /** The runtime's Entra audience, e.g. api://hosted-bots. */
  readonly audience: string;
  /** @default http://169.254.169.254 */
  readonly endpoint?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

const REFRESH_BEFORE_MS = 5 * 60_000;

/** A function that returns a current access token, fetching a new one when needed. */
export function managedIdentityToken(options: ManagedIdentityOptions): () => Promise<string> {
  const now = options.now ?? Date.now;
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async (): Promise<string> => {
    const url = new URL('/metadata/identity/oauth2/token', options.endpoint ?? 'http://169.254.169.254');
    url.searchParams.set('api-version', '2018-02-01');
    url.searchParams.set('resource', options.audience);
    url.searchParams.set('client_id', options.clientId);
    const { status, text } = await get(url, { Metadata: 'true' });
    if (status !== 200) throw new Error(`the instance metadata service answered ${status} for a token of identity ${options.clientId}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { access_token?: string; expires_on?: string | number };
    if (!body.access_token) throw new Error('the instance metadata service answered without an access_token');
    const expiresAt = Number(body.expires_on) * 1000 || now() + 60 * 60_000;
    cached = { token: body.access_token, expiresAt };
    return body.access_token;
  };
  return () => {
    if (cached && cached.expiresAt - REFRESH_BEFORE_MS > now()) return Promise.resolve(cached.token);
    pending ??= fetchToken().finally(() => (pending = undefined));
    return pending;
  };
}

/** The metadata service's answer for attested data: a base64 PKCS #7 SignedData of the VM's document. */
export interface AttestedDocument {
  readonly encoding: 'pkcs7';
  readonly signature: string;
}

/** A function that returns the VM's attested data for a nonce. */
export function imdsAttestedData(options: { readonly endpoint?: string } = {}): (nonce: string) => Promise<AttestedDocument> {
  return async (nonce) => {
    const url = new URL('/metadata/attested/document', options.endpoint ?? 'http://169.254.169.254');
    url.searchParams.set('api-version', '2020-09-01');
    url.searchParams.set('nonce', nonce);
    const { status, text } = await get(url, { Metadata: 'true' });
    if (status !== 200) throw new Error(`the instance metadata service answered ${status} for attested data: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { encoding?: unknown; signature?: unknown };
    if (body.encoding !== 'pkcs7' || typeof body.signature !== 'string') throw new Error('the instance metadata service answered attested data without a pkcs7 signature');
    return { encoding: 'pkcs7', signature: body.signature };
  };
}

function get(url: URL, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('the instance metadata service did not answer in 10 s')));
    req.on('error', reject);
  });
}
