/** One attempt against real local receivers: what counts as delivered, and what does not. */
import * as http from 'http';
import * as https from 'https';
import { generate } from 'selfsigned';
import { AddressInfo } from 'net';
import { AddressGuard } from '../../../runtime/webhooks/address-guard';
import { DEFAULT_TIMEOUT_MS, deliver } from '../../../runtime/webhooks/deliver';

interface Received {
  readonly host?: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A receiver on 127.0.0.1 that answers with `answer`; it records what it receives. */
async function receiver(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ host: req.headers.host, headers: req.headers, body });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** receiver.test resolves to 127.0.0.1, allowed by name; evil.test too, not allowed. */
const guard = new AddressGuard({
  allowedHosts: ['receiver.test'],
  resolve: async (host) => (host === 'receiver.test' || host === 'evil.test' ? [{ address: '127.0.0.1', family: 4 }] : []),
});

const request = (url: string) => ({ url, headers: { 'webhook-id': 'msg_1' }, body: '{"type":"run.succeeded"}' });

test('a 2xx answer is a delivery; the request goes to the checked address with the name as Host', async () => {
  const r = await receiver((_req, res) => res.writeHead(204).end());
  try {
    expect(await deliver(request(`http://receiver.test:${r.port}/hook`), { guard })).toEqual({ ok: true, status: 204 });
    expect(r.received).toEqual([
      { host: `receiver.test:${r.port}`, headers: expect.objectContaining({ 'webhook-id': 'msg_1', 'content-type': 'application/json' }), body: '{"type":"run.succeeded"}' },
    ]);
  } finally {
    await r.close();
  }
});

test('a 5xx answer is a failure that names the status and the start of the answer', async () => {
  const r = await receiver((_req, res) => res.writeHead(503).end('  busy,\n try later '));
  try {
    expect(await deliver(request(`http://receiver.test:${r.port}/hook`), { guard })).toEqual({ ok: false, status: 503, error: 'answered 503: busy, try later' });
  } finally {
    await r.close();
  }
});

test('a redirect is not followed, and counts as a failure', async () => {
  const target = await receiver((_req, res) => res.writeHead(200).end());
  const r = await receiver((_req, res) => res.writeHead(307, { location: `http://receiver.test:${target.port}/elsewhere` }).end());
  try {
    const result = await deliver(request(`http://receiver.test:${r.port}/hook`), { guard });
    expect(result).toEqual({ ok: false, status: 307, error: expect.stringMatching(/^answered 307, a redirect to .*\/elsewhere; redirects are not followed/) });
    expect(target.received).toEqual([]);
  } finally {
    await r.close();
    await target.close();
  }
});

test('a name that resolves to loopback is refused before any request is made', async () => {
  const r = await receiver((_req, res) => res.writeHead(200).end());
  try {
    // https: evil.test is not allowed, so plain http would be refused before its address is looked at.
    const result = await deliver(request(`https://evil.test:${r.port}/hook`), { guard });
    expect(result).toEqual({ ok: false, refused: true, error: expect.stringMatching(/evil\.test \(127\.0\.0\.1\) is a loopback address; webhooks go to public addresses only/) });
    expect(r.received).toEqual([]);
  } finally {
    await r.close();
  }
});

test('a loopback or metadata IP literal is refused before any connection', async () => {
  const strict = new AddressGuard();
  expect(await deliver(request('https://127.0.0.1:9/hook'), { guard: strict })).toEqual({ ok: false, refused: true, error: expect.stringMatching(/127\.0\.0\.1 is a loopback address/) });
  expect(await deliver(request('https://169.254.169.254/metadata'), { guard: strict })).toEqual({ ok: false, refused: true, error: expect.stringMatching(/cloud metadata address/) });
});

test('a receiver that does not answer in time is a failure', async () => {
  const r = await receiver(() => undefined);
  try {
    expect(await deliver(request(`http://receiver.test:${r.port}/hook`), { guard, timeoutMs: 100 })).toEqual({ ok: false, error: 'no answer within 100 ms' });
  } finally {
    await r.close();
  }
});

test('by default an attempt waits 10 s for an answer, then fails', async () => {
  expect(DEFAULT_TIMEOUT_MS).toBe(10_000);
  // Only the timers are faked: the request and the receiver use real sockets.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const r = await receiver(() => arrived());
  try {
    let result: unknown;
    const attempt = deliver(request(`http://receiver.test:${r.port}/hook`), { guard }).then((x) => (result = x));
    await reached;
    jest.advanceTimersByTime(9_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(result).toBeUndefined();
    jest.advanceTimersByTime(1);
    await attempt;
    expect(result).toEqual({ ok: false, error: 'no answer within 10000 ms' });
  } finally {
    jest.useRealTimers();
    await r.close();
  }
});

describe('over https', () => {
  /** A self-signed certificate for `name`. */
  const certificateFor = async (name: string) => {
    const pems = await generate([{ name: 'commonName', value: name }], {
      keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: name }] }],
    });
    return { cert: pems.cert, key: pems.private };
  };

  async function tlsReceiver(name: string) {
    const tls = await certificateFor(name);
    const hosts: Array<string | undefined> = [];
    const server = https.createServer(tls, (req, res) => {
      hosts.push(req.headers.host);
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { ca: tls.cert, hosts, port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  test('the connection goes to the checked address, and the certificate is checked against the name', async () => {
    const r = await tlsReceiver('receiver.test');
    try {
      expect(await deliver(request(`https://receiver.test:${r.port}/hook`), { guard, ca: r.ca })).toEqual({ ok: true, status: 200 });
      expect(r.hosts).toEqual([`receiver.test:${r.port}`]);
    } finally {
      await r.close();
    }
  });

  test("a certificate for another name fails the attempt", async () => {
    const r = await tlsReceiver('other.test');
    try {
      expect(await deliver(request(`https://receiver.test:${r.port}/hook`), { guard, ca: r.ca })).toEqual({ ok: false, error: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID/) });
      expect(r.hosts).toEqual([]);
    } finally {
      await r.close();
    }
  });
});
