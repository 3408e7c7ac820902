/**
 * Who may do what: every route against every kind of principal, the router walk that keeps
 * new routes from shipping without a declared policy, and Entra ID token checks.
 */
import { exportJWK, generateKeyPair, SignJWT, createLocalJWKSet, JWK } from 'jose';
import { eventually, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

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
    ['GET', '/v1/groups/finance/queue', () => undefined, { anonymous: 401, user: 200, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['POST', `/v1/runs/${runByClerk}/move-to-top`, () => undefined, { anonymous: 401, user: 403, 'co-owner': 200, admin: 200, 'bot of finance': 403, 'bot of sales': 403 }],
    ['POST', '/v1/agent/register', () => ({ vmName: `vm-matrix-${vmCounter++}` }), { anonymous: 401, user: 403, 'co-owner': 403, admin: 403, 'bot of finance': 201, 'bot of sales': 201 }],
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

  test('every route of the router has a declared access policy', () => {
    const app = t.fleet.runtime.app as unknown as
      | { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> }; accessPolicies: ReadonlyMap<string, string> }
      | undefined;
    expect(app).toBeDefined();
    const undeclared: string[] = [];
    let routes = 0;
    for (const layer of app!.router.stack) {
      if (!layer.route) continue;
      for (const method of Object.keys(layer.route.methods)) {
        routes++;
        if (!app!.accessPolicies.has(`${method.toUpperCase()} ${layer.route.path}`)) undeclared.push(`${method.toUpperCase()} ${layer.route.path}`);
      }
    }
    expect(routes).toBeGreaterThanOrEqual(16);
    expect(undeclared).toEqual([]);
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
