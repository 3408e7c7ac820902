/** The bot's group proof by managed identity: tokens from the instance metadata service, cached. */
import * as http from 'http';
import { AddressInfo } from 'net';
import { managedIdentityToken } from '../../../runtime/agent/identity';

describe('managed identity tokens', () => {
  let server: http.Server;
  let endpoint: string;
  const requests: Array<{ url: URL; metadata: string | undefined }> = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push({ url: new URL(req.url!, 'http://imds'), metadata: req.headers.metadata as string | undefined });
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (requests.length = 0));

  test('asks for the audience with the identity\'s client ID and the Metadata header, and keeps the token until near its expiry', async () => {
    let now = 1_000_000_000_000;
    answer = { status: 200, body: { access_token: 'token-1', expires_on: String(now / 1000 + 3600) } };
    const token = managedIdentityToken({ clientId: 'client-1', audience: 'api://hosted-bots', endpoint, now: () => now });
    expect(await token()).toBe('token-1');
    expect(await token()).toBe('token-1');
    expect(requests).toHaveLength(1);
    const [{ url, metadata }] = requests;
    expect(url.pathname).toBe('/metadata/identity/oauth2/token');
    expect(Object.fromEntries(url.searchParams)).toEqual({ 'api-version': '2018-02-01', resource: 'api://hosted-bots', client_id: 'client-1' });
    expect(metadata).toBe('true');
    // Five minutes before expiry, a new token is fetched.
    now += 56 * 60_000;
    answer = { status: 200, body: { access_token: 'token-2', expires_on: String(now / 1000 + 3600) } };
    expect(await token()).toBe('token-2');
    expect(requests).toHaveLength(2);
  });

  test('an error from the metadata service names the identity and the status', async () => {
    answer = { status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } };
    const token = managedIdentityToken({ clientId: 'client-x', audience: 'api://hosted-bots', endpoint });
    await expect(token()).rejects.toThrow(/answered 400 for a token of identity client-x: .*Identity not found/);
  });
});
