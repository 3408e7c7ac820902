/**
 * The bot's proof of its group without any shared secret: an access token of the group's
 * user-assigned managed identity for the runtime's audience, from the VM's Instance Metadata
 * Service ("How to use managed identities for Azure resources on an Azure VM to acquire an access
 * token", Microsoft Learn: GET /metadata/identity/oauth2/token with `resource`, `client_id` and
 * the `Metadata: true` header). Tokens are kept until five minutes before they expire.
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
