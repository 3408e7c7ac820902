/**
 * Who may do what: each access policy's gate in front of a spy handler, every route against every
 * kind of principal, the router walk that keeps new routes from shipping without their policy
 * applied, and Entra ID token checks.
 */
import { createHash } from 'crypto';
import type { AddressInfo } from 'net';
import express, { NextFunction, Request, Response } from 'express';
import { exportJWK, generateKeyPair, SignJWT, createLocalJWKSet, JWK } from 'jose';
import { BOT_CREDENTIAL_HEADER } from '../../../runtime/agent/agent';
import { AccessPolicy, createRouteTable, credentialHash, Gate, ResourcePolicy, RouteOptions } from '../../../runtime/http/access';
import { Authenticator } from '../../../runtime/http/auth';
import { localManifest } from '../../../runtime/cli/local-fleet';
import { SESSION_COOKIE, SessionStore } from '../../../runtime/http/sessions';
import { RuntimeError } from '../../../runtime/errors';
import type { Bot } from '../../../runtime/domain/bot';
import type { Run } from '../../../runtime/domain/run';
import { eventually, startTestFleet, synthesizedFleetJson, TestFleet, USERS } from '../../helpers/local-fleet';

const TENANT = '11111111-2222-3333-4444-555555555555';
const AUDIENCE = 'api://hosted-bots-test';
const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;

describe('access', () => {
  let t: TestFleet;
  let sign: (claims: Record<string, unknown>, options?: { alg?: string; expiresIn?: string | number; issuer?: string; audience?: string }) => Promise<string>;
  let financeBot: string;
  let salesBot: string;
  let runByLead: string;
  let runByClerk: string;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
    sign = async (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: 'test-key' })
        .setIssuer(options.issuer ?? ISSUER)
        .setAudience(options.audience ?? AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '10m')
        .sign(privateKey);
    t = await startTestFleet(
      { groups: { finance: { access: { users: [USERS.financeClerk, 'FinanceUsers'], coOwners: [USERS.financeLead] } } }, scaling: { idleMinutes: 10 } },
      { entra: { tenantId: TENANT, audience: AUDIENCE, jwks: createLocalJWKSet({ keys: [jwk] }) } },
    );
    // Warm bots in both groups, so the agent routes have real bot IDs.
    await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05 } });
    await t.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync', inputs: { simulateSeconds: 0.05 } });
    await eventually('bots in both groups', async () => {
      const bots = await t.fleet.store.bots();
      const f = bots.find((b) => b.group === 'finance' && b.state === 'idle');
      const s = bots.find((b) => b.group === 'sales' && b.state === 'idle');
      if (f && s) [financeBot, salesBot] = [f.id, s.id];
      return f && s;
    });
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    runByLead = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeLead)).body.id;
    runByClerk = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
  }, 30_000);
  afterAll(async () => t.stop());

  const ANON = 'anonymous';
  const principals = () => ({
    [ANON]: undefined,
    user: USERS.financeClerk,
    'co-owner': USERS.financeLead,
    admin: USERS.admin,
    'bot of finance': t.botTokens.finance,
    'bot of sales': t.botTokens.sales,
  });

  let vmCounter = 0;
  type Row = [string, string, () => unknown, Record<string, number>];
  const rows = (): Row[] => [
    ['GET', '/healthz', () => undefined, { anonymous: 200, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 200, 'bot of sales': 200 }],
    ['GET', '/v1/environment', () => undefined, { anonymous: 401, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/groups', () => undefined, { anonymous: 401, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/groups/finance', () => undefined, { anonymous: 401, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/groups/sales', () => undefined, { anonymous: 401, user: 404, 'co-owner': 404, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['POST', '/v1/groups/finance/runs', () => ({ flow: 'invoice-entry' }), { anonymous: 401, user: 202, 'co-owner': 202, admin: 202, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/groups/finance/runs', () => undefined, { anonymous: 401, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', `/v1/runs/${runByLead}`, () => undefined, { anonymous: 401, user: 404, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['PATCH', `/v1/runs/${runByLead}`, () => ({ priority: 'high' }), { anonymous: 401, user: 404, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    // High priority is for co-owners and admins (queue.highPriority co-owners, the default); normal is for the owner too.
    ['PATCH', `/v1/runs/${runByClerk}`, () => ({ priority: 'high' }), { anonymous: 401, user: 403, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['PATCH', `/v1/runs/${runByClerk}`, () => ({ priority: 'normal' }), { anonymous: 401, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/openapi.json', () => undefined, { anonymous: 200, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 200, 'bot of sales': 200 }],
    ['GET', '/v1/groups/finance/flows', () => undefined, { anonymous: 401, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/groups/sales/flows', () => undefined, { anonymous: 401, user: 404, 'co-owner': 404, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/groups/finance/queue', () => undefined, { anonymous: 401, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/groups/finance/audit', () => undefined, { anonymous: 401, user: 403, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['GET', '/v1/groups/sales/audit', () => undefined, { anonymous: 401, user: 404, 'co-owner': 404, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['POST', `/v1/runs/${runByClerk}/move-to-top`, () => undefined, { anonymous: 401, user: 403, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['POST', '/v1/agent/register/nonce', () => ({}), { anonymous: 401, user: 403, 'co-owner': 403, admin: 403, 'bot of finance': 201, 'bot of sales': 201 }],
    // Past the gate, a name no scale-out created is the handler's to refuse (test/e2e/hijack.test.ts).
    ['POST', '/v1/agent/register', () => ({ vmName: `vm-matrix-${vmCounter++}` }), { anonymous: 401, user: 403, 'co-owner': 403, admin: 403, 'bot of finance': 403, 'bot of sales': 403 }],
    ['POST', '/v1/agent/register', () => ({}), { anonymous: 401, user: 403, 'co-owner': 403, admin: 403, 'bot of finance': 400, 'bot of sales': 400 }],
    // A group's token alone proves the group, not a bot: the routes of a bot want its own credential (bot-identity.test.ts).
    ['POST', '/v1/agent/claim', () => ({ botId: financeBot, waitSeconds: 0 }), { anonymous: 401, user: 403, 'co-owner': 403, admin: 403, 'bot of finance': 401, 'bot of sales': 401 }],
    ['POST', `/v1/agent/runs/${runByClerk}/heartbeat`, () => ({ botId: financeBot, attempt: 1 }), { anonymous: 401, user: 403, 'co-owner': 403, admin: 403, 'bot of finance': 401, 'bot of sales': 401 }],
    ['POST', `/v1/agent/runs/${runByClerk}/complete`, () => ({ botId: financeBot, attempt: 1, status: 'succeeded' }), { anonymous: 401, user: 403, 'co-owner': 403, admin: 403, 'bot of finance': 401, 'bot of sales': 401 }],
    // Last: a resume lets the group's bots take its queued runs.
    ['POST', '/v1/groups/finance/pause', () => undefined, { anonymous: 401, user: 403, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['POST', '/v1/groups/finance/resume', () => undefined, { anonymous: 401, user: 403, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
  ];

  test('every route answers every kind of principal as the role matrix says', async () => {
    const failures: string[] = [];
    for (const [method, route, body, expected] of rows()) {
      for (const [who, token] of Object.entries(principals())) {
        const res = await t.api(method, route, body(), token ?? '', token ? {} : { authorization: '' });
        if (res.status !== expected[who]) failures.push(`${method} ${route} as ${who}: ${res.status}, expected ${expected[who]}`);
        if (route.endsWith('/resume') && res.status === 200) await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
      }
    }
    expect(failures).toEqual([]);
  }, 60_000);

  test('a user cannot cancel another user\'s run; its owner and a co-owner can', async () => {
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    const leads = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeLead)).body.id;
    const clerks = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    const other = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    expect((await t.api('POST', `/v1/runs/${leads}/cancel`, undefined, USERS.financeClerk)).status).toBe(404);
    expect((await t.api('POST', `/v1/runs/${clerks}/cancel`, undefined, USERS.financeClerk)).status).toBe(200);
    expect((await t.api('POST', `/v1/runs/${other}/cancel`, undefined, USERS.financeLead)).status).toBe(200);
  });

  test('a bot cannot enqueue anything', async () => {
    expect((await t.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync' }, t.botTokens.sales)).status).toBe(403);
  });

  test('every route of the router has a declared access policy, and its gate applies that policy before any handler', () => {
    const app = t.fleet.runtime.app as unknown as
      | {
          router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean>; stack: Array<{ handle: Partial<Gate> }> } }> };
          accessPolicies: ReadonlyMap<string, string>;
        }
      | undefined;
    expect(app).toBeDefined();
    const undeclared: string[] = [];
    const ungated: string[] = [];
    let routes = 0;
    for (const layer of app!.router.stack) {
      if (!layer.route) continue;
      for (const method of Object.keys(layer.route.methods)) {
        routes++;
        const key = `${method.toUpperCase()} ${layer.route.path}`;
        if (!app!.accessPolicies.has(key)) undeclared.push(key);
        // The first handler is the gate, and it enforces the policy the registry shows.
        const gate = layer.route.stack[0]?.handle;
        if (layer.route.stack.length < 2 || gate?.policy !== app!.accessPolicies.get(key)) ungated.push(`${key}: gate ${String(gate?.policy)}`);
      }
    }
    expect(routes).toBeGreaterThanOrEqual(16);
    expect(routes).toBe(app!.accessPolicies.size);
    expect(undeclared).toEqual([]);
    expect(ungated).toEqual([]);
  });

  describe('Entra ID tokens', () => {
    const call = (token: string) => t.api('GET', '/v1/groups', undefined, token);

    test('a valid token signs in as its oid, with its app roles as principals', async () => {
      const res = await call(await sign({ oid: 'user-oid-1', roles: ['FinanceUsers'] }));
      expect(res.status).toBe(200);
      expect(res.body.groups.map((g: { name: string; access: string }) => [g.name, g.access])).toEqual([['finance', 'user']]);
    });

    test('an admin oid sees every group', async () => {
      const res = await call(await sign({ oid: USERS.admin }));
      expect(res.body.groups).toHaveLength(2);
    });

    test.each([
      ['expired', () => sign({ oid: 'u' }, { expiresIn: Math.floor(Date.now() / 1000) - 3600 })],
      ['wrong audience', () => sign({ oid: 'u' }, { audience: 'api://someone-else' })],
      ['wrong issuer', () => sign({ oid: 'u' }, { issuer: 'https://login.microsoftonline.com/other/v2.0' })],
      ['without an oid', () => sign({ sub: 'u' })],
    ])('a token %s is refused', async (_name, make) => {
      expect((await call(await make())).status).toBe(401);
    });

    test('a dashboard session signed in with a token ends when the token expires, though it is in use', async () => {
      const token = await sign({ oid: USERS.admin }, { expiresIn: Math.floor(Date.now() / 1000) + 3 });
      const signedIn = await fetch(`${t.fleet.url}/signin`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.fleet.url },
        body: `token=${encodeURIComponent(token)}`,
      });
      const setCookie = signedIn.headers.get('set-cookie') ?? '';
      // The cookie itself lasts no longer than the token.
      expect(Number(/Max-Age=(\d+)/.exec(setCookie)?.[1])).toBeLessThanOrEqual(3);
      const cookie = /hb_session=[^;]+/.exec(setCookie)![0];
      const home = () => fetch(`${t.fleet.url}/`, { headers: { cookie }, redirect: 'manual' });
      expect((await home()).status).toBe(200);
      const ended = await eventually('the session to end with its token', async () => {
        const res = await home();
        return res.status === 200 ? undefined : res;
      });
      expect([ended.status, ended.headers.get('location')]).toEqual([303, '/signin']);
    });

    test('alg:none is refused', async () => {
      const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ oid: USERS.admin, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
      expect((await call(unsigned)).status).toBe(401);
    });

    test('a token signed with HS256 using the public key as secret is refused', async () => {
      const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const forged = `${encode({ alg: 'HS256', kid: 'test-key' })}.${encode({ oid: USERS.admin, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })}.c2lnbmF0dXJl`;
      expect((await call(forged)).status).toBe(401);
    });
  });

  describe('limits', () => {
    test('a token over its rate limit gets 429 with Retry-After, held back a while; another token is not affected', async () => {
      const limited = await startTestFleet({}, { limits: { userPerSecond: 2, userBurst: 3 } });
      try {
        const started = Date.now();
        const answers = await Promise.all(Array.from({ length: 6 }, () => limited.api('GET', '/v1/environment')));
        const statuses = answers.map((a) => a.status).sort();
        expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
        for (const refused of answers.filter((a) => a.status === 429)) expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        // The refusals wait (half a second at least) rather than inviting the next request at once.
        expect(Date.now() - started).toBeGreaterThanOrEqual(450);
        expect((await limited.api('GET', '/v1/environment', undefined, USERS.financeClerk)).status).toBe(200);
      } finally {
        await limited.stop();
      }
    });

    test('a group view costs five requests against the limit, a run one', async () => {
      const limited = await startTestFleet({}, { limits: { userPerSecond: 0.01, userBurst: 10 } });
      try {
        expect((await limited.api('GET', '/v1/groups/finance')).status).toBe(200);
        expect((await limited.api('GET', '/v1/groups/finance')).status).toBe(200);
        // 10 spent: even a cheap request waits now.
        expect((await limited.api('GET', '/v1/environment')).status).toBe(429);
      } finally {
        await limited.stop();
      }
    });

    test('a client too slow to send its headers, or its body, is cut off with 408', async () => {
      const slow = await startTestFleet({}, { timeouts: { headersMs: 500, requestMs: 1000 } });
      try {
        const { port } = new URL(slow.fleet.url);
        const answer = (first: string) =>
          new Promise<{ text: string; ms: number }>((resolve) => {
            const started = Date.now();
            const socket = require('net').connect(Number(port), '127.0.0.1', () => socket.write(first));
            let text = '';
            socket.on('data', (c: Buffer) => (text += c.toString()));
            socket.on('close', () => resolve({ text, ms: Date.now() - started }));
          });
        const headers = await answer('GET /v1/groups HTTP/1.1\r\nHost: x\r\n');
        expect(headers.text).toMatch(/^HTTP\/1\.1 408/);
        expect(headers.ms).toBeLessThan(3000);
        const body = await answer('POST /v1/groups/finance/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"flow":');
        expect(body.text).toMatch(/^HTTP\/1\.1 408/);
        expect(body.ms).toBeLessThan(4000);
      } finally {
        await slow.stop();
      }
    });

    test('a URL longer than 2,048 characters gets 414; headers over 16 KiB get 431', async () => {
      expect((await t.api('GET', `/v1/groups/${'x'.repeat(2100)}`)).status).toBe(414);
      expect((await t.api('GET', '/v1/groups', undefined, USERS.admin, { 'x-padding': 'y'.repeat(17 * 1024) })).status).toBe(431);
    });
  });
});

/**
 * Each policy's gate in front of a spy, registered through the route table the API uses: a caller
 * the policy refuses never reaches the handler, and an allowed one reaches it with what the policy
 * names already resolved.
 */
describe('the gate of each access policy', () => {
  const METRICS_TOKEN = 'metrics-secret-token';
  const FINANCE_BOT_CREDENTIAL = 'finance-bot-credential-0001';
  const SALES_BOT_CREDENTIAL = 'sales-bot-credential-00001';
  const id = (n: number) => `run_${String(n).padStart(24, '0')}`;
  const runs = new Map<string, Run>(
    [
      { id: id(1), group: 'finance', createdBy: USERS.financeClerk },
      { id: id(2), group: 'finance', createdBy: USERS.financeLead },
      { id: id(3), group: 'sales', createdBy: USERS.salesRep },
    ].map((r) => [r.id, { ...r, state: 'queued' } as Run]),
  );
  const bots = new Map<string, Bot>([
    [credentialHash(FINANCE_BOT_CREDENTIAL), { id: `bot_${'f'.repeat(24)}`, group: 'finance', state: 'idle' } as Bot],
    [credentialHash(SALES_BOT_CREDENTIAL), { id: `bot_${'5'.repeat(24)}`, group: 'sales', state: 'idle' } as Bot],
  ]);

  let base: string;
  let server: import('http').Server;
  let tokens: Record<string, string>;
  let botTokens: Record<string, string>;
  let sessions: SessionStore;
  let auth: Authenticator;
  let table: ReturnType<typeof createRouteTable>;
  /** What each spy saw, by route. */
  const seen = new Map<string, Array<{ group?: string; access?: string; run?: string; bot?: string; principal?: string }>>();

  const spy = (name: string) => (req: Request, res: Response) => {
    const calls = seen.get(name) ?? [];
    calls.push({
      group: req.group?.name,
      access: req.access,
      run: req.run?.id,
      bot: req.bot?.id,
      principal: req.principal?.kind === 'user' ? req.principal.id : req.principal?.kind,
    });
    seen.set(name, calls);
    res.json({ reached: name });
  };

  const routes: Array<[method: 'get' | 'post', path: string, policy: AccessPolicy, options?: RouteOptions]> = [
    ['get', '/anyone', 'anyone'],
    ['get', '/any-user', 'any-user'],
    ['get', '/groups/:group', 'group-user'],
    ['post', '/groups/:group/act', 'group-co-owner', { coOwnersMay: 'act on it' }],
    ['post', '/runs/:id/top', 'group-co-owner'],
    ['get', '/runs/:id', 'run-owner-or-co-owner'],
    ['get', '/agent/group', 'group-bot'],
    ['post', '/agent/bot', 'bot'],
    ['get', '/metrics', 'metrics-token'],
    ['get', '/session', 'session-user'],
    ['get', '/session/groups/:group', 'session-user', { resource: 'group-co-owner' }],
    ['get', '/session/runs/:id', 'session-user', { resource: 'run-owner-or-co-owner' }],
  ];

  beforeAll(async () => {
    const { manifest, botTokens: generated } = localManifest(synthesizedFleetJson(), {
      groups: {
        finance: { access: { users: [USERS.financeClerk], coOwners: [USERS.financeLead] } },
        sales: { access: { users: [USERS.salesRep], coOwners: [] } },
      },
    });
    botTokens = generated;
    tokens = Object.fromEntries(Object.values(USERS).map((u) => [u, `token-of-${u}`]));
    auth = new Authenticator(
      manifest,
      Object.entries(tokens).map(([principal, secret]) => ({ principal, sha256: createHash('sha256').update(secret).digest('hex'), admin: principal === USERS.admin })),
    );
    sessions = new SessionStore(Date.now, (proof, now) => auth.principalOf(proof, now));
    const app = express();
    app.use(express.json());
    table = createRouteTable(app, {
      manifest,
      store: { getRun: async (runId) => runs.get(runId), botByCredential: async (hash) => bots.get(hash) },
      auth,
      sessions,
      limits: { userPerSecond: 1000, userBurst: 1000, botPerSecond: 1000, botBurst: 1000 },
      now: Date.now,
      metricsToken: METRICS_TOKEN,
    });
    for (const [method, path, policy, options] of routes) table.route(method, path, policy, spy(`${method.toUpperCase()} ${path}`), options);
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const e = err instanceof RuntimeError ? err : new RuntimeError(500, 'internal', String(err));
      res.status(e.status).json({ error: { code: e.code, message: e.message } });
    });
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => seen.clear());

  type Caller = { token?: string; credential?: string; cookie?: string };
  const call = async (method: string, path: string, as: Caller = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (as.token) headers.authorization = `Bearer ${as.token}`;
    if (as.credential) headers[BOT_CREDENTIAL_HEADER] = as.credential;
    if (as.cookie) headers.cookie = as.cookie;
    const res = await fetch(`${base}${path}`, { method, headers, body: method === 'GET' ? undefined : '{}' });
    return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
  };
  const user = (name: string): Caller => ({ token: tokens[name] });
  const sessionOf = (name: string): Caller => {
    const session = sessions.create({
      principal: { kind: 'user', id: name, roles: [], admin: name === USERS.admin, via: 'token' },
      proof: { kind: 'token', sha256: createHash('sha256').update(tokens[name]).digest() },
    });
    return { cookie: `${SESSION_COOKIE}=${session.id}` };
  };

  describe.each<[AccessPolicy, string, string, () => Caller, number, string]>([
    ['any-user', 'GET', '/any-user', () => ({}), 401, 'unauthorized'],
    ['any-user', 'GET', '/any-user', () => ({ token: botTokens.finance }), 403, 'forbidden'],
    ['group-user', 'GET', '/groups/finance', () => ({}), 401, 'unauthorized'],
    ['group-user', 'GET', '/groups/sales', () => user(USERS.financeClerk), 404, 'group_not_found'],
    ['group-user', 'GET', '/groups/payroll', () => user(USERS.admin), 404, 'group_not_found'],
    ['group-user', 'GET', '/groups/finance', () => ({ token: botTokens.finance }), 403, 'forbidden'],
    ['group-co-owner', 'POST', '/groups/finance/act', () => user(USERS.financeClerk), 403, 'forbidden'],
    ['group-co-owner', 'POST', '/groups/sales/act', () => user(USERS.financeLead), 404, 'group_not_found'],
    ['group-co-owner', 'POST', `/runs/${id(1)}/top`, () => user(USERS.financeClerk), 403, 'forbidden'],
    ['group-co-owner', 'POST', `/runs/${id(2)}/top`, () => user(USERS.financeClerk), 404, 'run_not_found'],
    ['run-owner-or-co-owner', 'GET', `/runs/${id(2)}`, () => user(USERS.financeClerk), 404, 'run_not_found'],
    ['run-owner-or-co-owner', 'GET', `/runs/${id(3)}`, () => user(USERS.financeLead), 404, 'run_not_found'],
    ['run-owner-or-co-owner', 'GET', `/runs/${id(9)}`, () => user(USERS.admin), 404, 'run_not_found'],
    ['run-owner-or-co-owner', 'GET', '/runs/not-a-run', () => user(USERS.admin), 400, 'invalid_request'],
    ['group-bot', 'GET', '/agent/group', () => user(USERS.admin), 403, 'forbidden'],
    ['group-bot', 'GET', '/agent/group', () => ({}), 401, 'unauthorized'],
    ['bot', 'POST', '/agent/bot', () => ({ token: botTokens.finance, credential: SALES_BOT_CREDENTIAL }), 401, 'unauthorized'],
    ['bot', 'POST', '/agent/bot', () => ({ token: botTokens.finance }), 401, 'unauthorized'],
    ['bot', 'POST', '/agent/bot', () => ({ ...user(USERS.admin), credential: FINANCE_BOT_CREDENTIAL }), 403, 'forbidden'],
    ['metrics-token', 'GET', '/metrics', () => ({ token: 'not-the-metrics-token' }), 401, 'unauthorized'],
    ['metrics-token', 'GET', '/metrics', () => user(USERS.admin), 401, 'unauthorized'],
    ['session-user', 'GET', '/session', () => ({}), 401, 'unauthorized'],
    ['session-user', 'GET', '/session', () => user(USERS.admin), 401, 'unauthorized'],
    ['session-user', 'GET', '/session/groups/finance', () => sessionOf(USERS.financeClerk), 403, 'forbidden'],
    ['session-user', 'GET', `/session/runs/${id(2)}`, () => sessionOf(USERS.financeClerk), 404, 'run_not_found'],
  ])('%s refuses %s %s', (_policy, method, path, caller, status, code) => {
    test(`with ${status} ${code}, and the handler never runs`, async () => {
      const res = await call(method, path, caller());
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect([...seen.keys()]).toEqual([]);
    });
  });

  test('refusals keep the API\'s messages', async () => {
    expect((await call('GET', '/groups/sales', user(USERS.financeClerk))).body.error.message).toBe('group "sales" does not exist or you have no access to it');
    expect((await call('POST', '/groups/finance/act', user(USERS.financeClerk))).body.error.message).toBe('only co-owners of group finance may act on it');
    expect((await call('POST', `/runs/${id(1)}/top`, user(USERS.financeClerk))).body.error.message).toBe('only co-owners of group finance may do this');
    expect((await call('GET', `/runs/${id(2)}`, user(USERS.financeClerk))).body.error.message).toBe(`run ${id(2)} does not exist or you have no access to it`);
    expect((await call('GET', '/any-user', { token: botTokens.finance })).body.error.message).toBe('bots may only call /v1/agent routes');
    expect((await call('GET', '/agent/group', user(USERS.admin))).body.error.message).toBe('only bots may call /v1/agent routes');
    expect([...seen.keys()]).toEqual([]);
  });

  test.each<[AccessPolicy, string, string, () => Caller, Record<string, string | undefined>]>([
    ['anyone', 'GET', '/anyone', () => ({}), { principal: undefined }],
    ['any-user', 'GET', '/any-user', () => user(USERS.salesRep), { principal: USERS.salesRep, group: undefined }],
    ['group-user', 'GET', '/groups/finance', () => user(USERS.financeClerk), { principal: USERS.financeClerk, group: 'finance', access: 'user' }],
    ['group-user', 'GET', '/groups/sales', () => user(USERS.admin), { group: 'sales', access: 'admin' }],
    ['group-co-owner', 'POST', '/groups/finance/act', () => user(USERS.financeLead), { group: 'finance', access: 'co-owner', run: undefined }],
    ['group-co-owner', 'POST', `/runs/${id(1)}/top`, () => user(USERS.financeLead), { group: 'finance', access: 'co-owner', run: id(1) }],
    ['run-owner-or-co-owner', 'GET', `/runs/${id(1)}`, () => user(USERS.financeClerk), { group: 'finance', access: 'user', run: id(1) }],
    ['run-owner-or-co-owner', 'GET', `/runs/${id(1)}`, () => user(USERS.financeLead), { access: 'co-owner', run: id(1) }],
    ['run-owner-or-co-owner', 'GET', `/runs/${id(3)}`, () => user(USERS.admin), { group: 'sales', access: 'admin', run: id(3) }],
    ['group-bot', 'GET', '/agent/group', () => ({ token: botTokens.sales }), { principal: 'bot', group: 'sales', bot: undefined }],
    ['bot', 'POST', '/agent/bot', () => ({ token: botTokens.finance, credential: FINANCE_BOT_CREDENTIAL }), { group: 'finance', bot: `bot_${'f'.repeat(24)}` }],
    ['metrics-token', 'GET', '/metrics', () => ({ token: METRICS_TOKEN }), { principal: undefined }],
    ['session-user', 'GET', '/session', () => sessionOf(USERS.salesRep), { principal: USERS.salesRep }],
    ['session-user', 'GET', '/session/groups/finance', () => sessionOf(USERS.financeLead), { group: 'finance', access: 'co-owner' }],
    ['session-user', 'GET', `/session/runs/${id(1)}`, () => sessionOf(USERS.financeClerk), { group: 'finance', run: id(1) }],
  ])('%s lets %s %s through with what it names resolved', async (_policy, method, path, caller, expected) => {
    const res = await call(method, path, caller());
    expect(res.status).toBe(200);
    expect([...seen.values()].flat()).toEqual([expect.objectContaining(expected)]);
  });

  test('metrics-token routes answer 404 when the runtime has no metrics token', async () => {
    const app = express();
    const bare = createRouteTable(app, {
      manifest: localManifest(synthesizedFleetJson()).manifest,
      store: { getRun: async () => undefined, botByCredential: async () => undefined },
      auth,
      sessions,
      limits: { userPerSecond: 10, userBurst: 10, botPerSecond: 10, botBurst: 10 },
      now: Date.now,
    });
    const reached = jest.fn((_req: Request, res: Response) => res.json({}));
    bare.route('get', '/metrics', 'metrics-token', reached);
    app.use((err: RuntimeError, _req: Request, res: Response, _next: NextFunction) => res.status(err.status).json({ error: { code: err.code } }));
    const other = await new Promise<import('http').Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const res = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { code: 'metrics_off' } });
      expect(reached).not.toHaveBeenCalled();
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  describe('a route whose path cannot satisfy its policy is refused when it is registered', () => {
    test.each<[string, AccessPolicy, RouteOptions | undefined, RegExp]>([
      ['/groups', 'group-user', undefined, /route GET \/groups: policy group-user needs :group in the path/],
      ['/runs', 'run-owner-or-co-owner', undefined, /route GET \/runs: policy run-owner-or-co-owner needs :id in the path/],
      ['/groups/:groupName', 'group-co-owner', undefined, /route GET \/groups\/:groupName: policy group-co-owner needs :group or :id in the path/],
      ['/session', 'session-user', { resource: 'group-user' }, /route GET \/session: policy group-user needs :group in the path/],
      ['/groups/:group', 'any-user', { resource: 'group-user' as ResourcePolicy }, /resource group-user is for session-user routes; use policy group-user/],
      ['/anyone', 'anyone', undefined, /route GET \/anyone is registered twice/],
    ])('%s with %s', (path, policy, options, message) => {
      expect(() => table.route('get', path, policy, spy('never'), options)).toThrow(message);
    });
  });
});
