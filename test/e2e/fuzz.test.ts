/**
 * A fuzz run: 20,000 generated hostile requests (random JSON, wrong types, huge strings, deep
 * nesting, bad UTF-8, odd headers, path tricks) against a live runtime in its own process. The
 * only answers are 4xx, the process stays up, and the store is unchanged.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { sharedSimCertificate } from '../../runtime/arm-sim';
import { ArmSim } from '../../runtime/arm-sim';
import { localManifest, randomToken } from '../../runtime/cli/local-fleet';
import { freePort, startRuntimeProcess } from '../../runtime/cli/processes';
import { sha256Hex } from '../../runtime/config/manifest';
import { SqliteStore } from '../../runtime/store/sqlite';
import { runtimeArgs, synthesizedFleetJson } from '../helpers/local-fleet';

const REQUESTS = 20_000;

/** A small seeded PRNG, so a failing request can be reproduced from the seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}

interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  /** Sent as raw bytes on a socket instead (malformed HTTP). */
  readonly raw?: Buffer;
}

function generator(seed: number, tokens: { admin: string; bot: string; botId: string }) {
  const r = prng(seed);
  const strings = ['', 'x', 'high', 'invoice-entry ', '🙂', '\u0000', '../../etc/passwd', '%00', "' OR 1=1 --", '<script>', 'a'.repeat(5000), '\\u0000'];
  const randomValue = (depth = 0): unknown => {
    switch (r.int(depth > 3 ? 5 : 8)) {
      case 0: return r.int(2) === 0 ? r.int(1e9) : -r.next() * 1e300;
      case 1: return r.pick(strings);
      case 2: return r.int(2) === 0;
      case 3: return null;
      case 4: return r.pick([Number.MAX_SAFE_INTEGER, 1e308, -0, 0.5]);
      case 5: return Array.from({ length: r.int(4) }, () => randomValue(depth + 1));
      default: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(['flow', 'inputs', 'priority', 'botId', 'attempt', 'status', 'vmName', '__proto__', 'constructor', 'x']), randomValue(depth + 1)]));
    }
  };
  /** A body that can never be valid: an unknown field is always present. */
  const invalidObject = () => ({ ...(randomValue(1) as object), [`unknown_${r.int(1000)}`]: randomValue(2) });
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const auth = (): Record<string, string> =>
    r.pick<Record<string, string>>([
      {},
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${randomToken()}` },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { authorization: 'Bearer a.b.c' },
      { authorization: `Bearer ${'x'.repeat(600)}` },
      { authorization: `Bearer ${tokens.admin}` },
      { authorization: `Bearer ${tokens.admin}` },
      { authorization: `Bearer ${tokens.bot}` },
    ]);
  const userRoutes = ['/v1/groups/finance/runs', '/v1/runs/run_000000000000000000000000/cancel', '/v1/runs/not-an-id', '/v1/groups/finance/pause', '/v1/runs/run_1/move-to-top'];
  const agentRoutes = ['/v1/agent/register', '/v1/agent/register/nonce', '/v1/agent/claim', '/v1/agent/runs/run_000000000000000000000000/heartbeat', '/v1/agent/runs/xx/complete'];
  const trickPaths = [
    '/v1/groups/..%2f..%2fetc%2fpasswd', '/v1/groups/finance%00', '//v1//groups', '/v1/groups/finance/runs/../../../environment', '/v1/%ZZ',
    '/v1/groups/%F0%9F%99%82', `/v1/groups/${'a'.repeat(3000)}`, '/v1/agent/../groups', '/V1/GROUPS', '/v1/runs/', '/v1/groups/finance/runs?state=bogus',
    '/v1/groups/finance/runs?limit=-1', '/v1/groups/finance/runs?limit=1e9', '/v1/groups/finance/runs?before=zzz', '/v1/groups/finance/runs?state=queued&state=running',
    '/v1/groups/finance/runs?unknown=1', '/metrics/../v1/groups', '/v1/environment%2f', '/.env', '/v1/groups/finance/runs;x',
  ];
  const badUtf8 = () => Buffer.concat([Buffer.from('{"flow":"'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]), Buffer.from('", "x": 1}')]);
  const rawRequests = [
    'POST /v1/groups/finance/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'GET /v1/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n',
    'POST /v1/agent/claim HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"short":',
    'GET /v1/groups HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n',
    'GET /v1/groups HTTP/9.9\r\nHost: x\r\n\r\n',
    'GET /v1/groups HTTP/1.1\r\nHost: x\r\n' + 'X-Pad: ' + 'p'.repeat(20_000) + '\r\n\r\n',
  ];

  return (): FuzzRequest => {
    const kind = r.int(10);
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    switch (kind) {
      case 0:
        return { method: r.pick(['POST', 'PATCH']), path: r.pick(userRoutes), headers: { 'content-type': 'application/json', ...auth() }, body: json(invalidObject()) };
      case 1:
        return { method: 'POST', path: r.pick(agentRoutes), headers: { 'content-type': 'application/json', ...auth() }, body: json(invalidObject()) };
      case 2:
        return { method: 'POST', path: '/v1/groups/finance/runs', headers: { 'content-type': 'application/json', ...auth() }, body: Buffer.from(`{"flow":"invoice-entry","inputs":{"blob":"${'z'.repeat(150_000 + r.int(50_000))}"}}`) };
      case 3:
        return { method: 'POST', path: r.pick([...userRoutes, ...agentRoutes]), headers: { 'content-type': 'application/json', ...auth() }, body: Buffer.from(deep(500 + r.int(20_000))) };
      case 4:
        return { method: 'POST', path: r.pick(userRoutes), headers: { 'content-type': r.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']), ...auth() }, body: badUtf8() };
      case 5:
        return { method: r.pick(['GET', 'POST', 'DELETE', 'PUT', 'OPTIONS', 'PATCH']), path: r.pick(trickPaths), headers: auth() };
      case 6:
        return { method: r.pick(['PUT', 'DELETE']), path: r.pick([...userRoutes, '/v1/groups', '/v1/environment', '/healthz']), headers: auth() };
      case 7:
        return { method: 'POST', path: '/v1/groups/finance/runs', headers: { 'content-type': 'application/json', ...auth(), 'idempotency-key': r.pick(['', 'with space', 'x'.repeat(300), 'tab\there']) }, body: json({ flow: 'invoice-entry' }) };
      case 8:
        return { method: 'POST', path: '/v1/groups/finance/runs', headers: { 'content-type': 'application/json', ...auth() }, body: Buffer.from(r.pick(['{', '{"flow":', 'null', '[]', '"string"', '1', '{"flow":"invoice-entry",}', '\u0000', '{"flow":"invoice-entry"}{"flow":"x"}', '{"flow":"payroll"}', '{"flow":"../invoice-entry"}'])) };
      default:
        return { method: 'POST', path: '/', headers: {}, raw: Buffer.from(r.pick(rawRequests), 'latin1') };
    }
  };
}

function send(port: number, req: FuzzRequest, agent: http.Agent): Promise<number> {
  if (req.raw) {
    return new Promise((resolve) => {
      const raw = req.raw;
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end(raw!);
      });
      let data = '';
      socket.on('data', (c) => (data += c.toString('latin1')));
      socket.on('close', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0)));
      socket.on('error', () => resolve(0));
      socket.setTimeout(5000, () => socket.destroy());
    });
  }
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = { ...req.headers, ...(req.body ? { 'content-length': req.body.length } : {}) };
    const r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', () => resolve(0));
    r.end(req.body);
  });
}

async function fingerprint(file: string): Promise<string> {
  const store = new SqliteStore({ file });
  try {
    const groups = (await store.groups()).map((g) => ({ ...g, claimLimit: undefined }));
    const runs = await Promise.all(['finance', 'sales'].map((g) => store.runs({ group: g, limit: 1000 })));
    return JSON.stringify({ groups, runs, bots: await store.bots(), errors: await store.provisioningErrors('finance', 100) });
  } finally {
    await store.close();
  }
}

describe('a fuzz run', () => {
  let runtime: ChildProcess | undefined;
  let sim: ArmSim | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-'));
  afterAll(async () => {
    runtime?.kill('SIGKILL');
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`${REQUESTS} hostile requests: only 4xx, the runtime stays up, the store is unchanged`, async () => {
    const { manifest, botTokens } = localManifest(synthesizedFleetJson());
    const admin = randomToken();
    fs.writeFileSync(path.join(dir, 'fleet.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(dir, 'tokens.json'), JSON.stringify([{ principal: 'ops-admin', sha256: sha256Hex(admin) }]));
    sim = new ArmSim({ bootSeconds: 0.2 });
    for (const g of manifest.groups) sim.addScaleSet(g.vmss);
    const { url: armUrl } = await sim.start();
    fs.writeFileSync(path.join(dir, 'ca.pem'), (await sharedSimCertificate()).cert);
    const port = await freePort();
    const db = path.join(dir, 'runtime.db');
    runtime = await startRuntimeProcess([
      ...runtimeArgs(dir, { store: db, port, armUrl }),
      '--tick-seconds', '0.5', '--rate-limit-user', '1000000', '--rate-limit-bot', '1000000',
    ]);
    const before = await fingerprint(db);

    const next = generator(20261126, { admin, bot: botTokens.finance, botId: 'bot_000000000000000000000000' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const statuses = new Map<number, number>();
    const bad: string[] = [];
    let sent = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (sent < REQUESTS) {
          const i = sent++;
          const req = next();
          const status = await send(port, req, agent);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status < 400 || status >= 500) bad.push(`#${i} ${req.method} ${req.path.slice(0, 80)} → ${status}`);
        }
      }),
    );
    agent.destroy();

    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    expect(bad.slice(0, 20)).toEqual([]);
    expect(runtime.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(await fingerprint(db)).toBe(before);
    // The mix reached the validators, not only the front door.
    const missing = [400, 401, 403, 404, 413, 414, 422, 431].filter((status) => !statuses.has(status));
    expect(missing).toEqual([]);
  }, 240_000);
});
