/** What the instance metadata service proves for the bot: its group's managed identity tokens (cached), and its VM's attested data. */
import * as http from 'http';
import { AddressInfo } from 'net';
import { imdsAttestedData, managedIdentityToken } from '../../../runtime/agent/identity';

/** A local metadata service: it records each request and answers `answer`. */
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

describe('managed identity tokens', () => {
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

describe('attested data', () => {
  test('asks the metadata service for the document with the nonce and the Metadata header, and hands its answer on', async () => {
    answer = { status: 200, body: { encoding: 'pkcs7', signature: 'MIIB' } };
    expect(await imdsAttestedData({ endpoint })('0123456789')).toEqual({ encoding: 'pkcs7', signature: 'MIIB' });
    const [{ url, metadata }] = requests;
    expect(url.pathname).toBe('/metadata/attested/document');
    expect(Object.fromEntries(url.searchParams)).toEqual({ 'api-version': '2020-09-01', nonce: '0123456789' });
    expect(metadata).toBe('true');
  });

  test('an error from the metadata service names the status; an answer without a pkcs7 signature is refused', async () => {
    answer = { status: 429, body: { error: 'Too many requests' } };
    await expect(imdsAttestedData({ endpoint })('0123456789')).rejects.toThrow(/answered 429 for attested data: .*Too many requests/);
    answer = { status: 200, body: { encoding: 'base64' } };
    await expect(imdsAttestedData({ endpoint })('0123456789')).rejects.toThrow('the instance metadata service answered attested data without a pkcs7 signature');
  });
});
