/**
 * Sign-in against a hostile co-worker: no login CSRF, limits per address and per token, sessions
 * evicted per principal; and what pages and answers tell before sign-in or to caches.
 */
import { MAX_SESSIONS_PER_PRINCIPAL, SessionStore } from '../../../runtime/http/sessions';
import { LOGGED_ORIGIN_CHARS, SIGN_IN_LIMITS } from '../../../runtime/dashboard/routes';
import { REFUSAL_LOG_LIMITS } from '../../../runtime/http/refusal-log';
import { startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

describe('sign-in', () => {
  let t: TestFleet;
  beforeEach(async () => {
    t = await startTestFleet();
  });
  afterEach(async () => t.stop());

  const signIn = (token: string, headers: Record<string, string> = { origin: t.fleet.url }) =>
    fetch(`${t.fleet.url}/signin`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: `token=${encodeURIComponent(token)}`,
    });

  test('a form posted from this origin signs in', async () => {
    const res = await signIn(t.tokens[USERS.admin]);
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/^hb_session=/);
  });

  test.each([
    ['another site', { origin: 'https://evil.example' }],
    ['an opaque origin', { origin: 'null' }],
    ['another site, by Referer only', { referer: 'https://evil.example/page' }],
    ['no Origin and no Referer', {}],
  ])('a form posted from %s is refused with 403 and no session (login CSRF)', async (_name, headers) => {
    const res = await signIn(t.tokens[USERS.admin], headers as Record<string, string>);
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  test('a token signs in at most its burst at once, then 429 with Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < SIGN_IN_LIMITS.tokenBurst + 1; i++) statuses.push((await signIn(t.tokens[USERS.financeClerk])).status);
    expect(statuses.slice(0, SIGN_IN_LIMITS.tokenBurst)).toEqual(Array(SIGN_IN_LIMITS.tokenBurst).fill(303));
    const refused = await signIn(t.tokens[USERS.financeClerk]);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another user's token is still welcome.
    expect((await signIn(t.tokens[USERS.financeLead])).status).toBe(303);
  });

  test('one address tries at most its burst of tokens, then 429', async () => {
    const statuses = [];
    for (let i = 0; i < SIGN_IN_LIMITS.addressBurst + 1; i++) statuses.push((await signIn(`guess-${i}`)).status);
    expect(statuses.slice(0, SIGN_IN_LIMITS.addressBurst).every((s) => s === 401)).toBe(true);
    expect(statuses[SIGN_IN_LIMITS.addressBurst]).toBe(429);
  });

  test('an address past its sign-in limit is refused before its Origin is read: 429, not 403', async () => {
    const crafted = { origin: `https://${'a'.repeat(15_000)}` };
    const statuses = [];
    for (let i = 0; i < SIGN_IN_LIMITS.addressBurst + 1; i++) statuses.push((await signIn(`guess-${i}`, crafted)).status);
    expect(statuses).toEqual([...Array(SIGN_IN_LIMITS.addressBurst).fill(403), 429]);
  });

  test('behind a trusted proxy, each client address has its own sign-in limit; untrusted, the header is ignored', async () => {
    const from = (address: string, token: string) => signIn(token, { origin: t.fleet.url, 'x-forwarded-for': address });
    // Untrusted (the default): every X-Forwarded-For is the same socket address.
    for (let i = 0; i < SIGN_IN_LIMITS.addressBurst; i++) await from(`198.51.100.${i}`, `guess-${i}`);
    expect((await from('198.51.100.200', 'guess-x')).status).toBe(429);
    const proxied = await startTestFleet({}, { trustProxy: 1 });
    try {
      const post = (address: string, token: string) =>
        fetch(`${proxied.fleet.url}/signin`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: proxied.fleet.url, 'x-forwarded-for': address },
          body: `token=${encodeURIComponent(token)}`,
        });
      for (let i = 0; i < SIGN_IN_LIMITS.addressBurst; i++) expect((await post('203.0.113.1', `guess-${i}`)).status).toBe(401);
      expect((await post('203.0.113.1', 'guess-x')).status).toBe(429);
      expect((await post('203.0.113.2', 'guess-y')).status).toBe(401);
    } finally {
      await proxied.stop();
    }
  });

  test('the sign-in page and the dashboard\'s 404 page tell a stranger nothing about the environment', async () => {
    for (const path of ['/signin', '/no-such-page']) {
      const text = await (await fetch(`${t.fleet.url}${path}`)).text();
      expect([path, /northeurope|Europe|Bots in use|of 4\b/.test(text)]).toEqual([path, false]);
      expect(text).not.toContain('<dt>Environment</dt>');
    }
  });

  test('API answers are not cached, and every answer asks for HTTPS from now on', async () => {
    const res = await t.api('GET', '/v1/groups');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect((await fetch(`${t.fleet.url}/signin`)).headers.get('strict-transport-security')).toMatch(/max-age=/);
  });
});

describe('sessions', () => {
  const principal = (id: string) => ({ kind: 'user' as const, id, roles: [], admin: false, via: 'entra' as const });
  const signIn = (id: string) => ({ principal: principal(id), proof: { kind: 'entra' as const, oid: id, roles: [], expiresAt: 3_600_000 } });

  test(`one principal holds at most ${MAX_SESSIONS_PER_PRINCIPAL} sessions: its oldest go, no one else's`, () => {
    const store = new SessionStore(() => 0, (proof) => (proof.kind === 'entra' ? principal(proof.oid) : undefined));
    const other = store.create(signIn('bo'));
    const mine = Array.from({ length: 10_050 }, () => store.create(signIn('ana')));
    expect(store.get(other.id)).toBeDefined();
    expect(mine.filter((s) => store.get(s.id)).length).toBe(MAX_SESSIONS_PER_PRINCIPAL);
    expect(store.get(mine[mine.length - 1].id)).toBeDefined();
    expect(store.get(mine[0].id)).toBeUndefined();
  });
});

describe('log lines of refused sign-ins', () => {
  test("a flood of cross-site sign-ins writes a few lines, each with at most 200 characters of its Origin, and counts every refusal", async () => {
    const lines: { event: string; fields?: Record<string, unknown> }[] = [];
    const t = await startTestFleet({}, { log: (event, fields) => void lines.push({ event, fields }) });
    try {
      const origin = `https://${'a'.repeat(15_000)}`;
      for (let i = 0; i < 200; i++) {
        await fetch(`${t.fleet.url}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body: 'token=guess' });
      }
      const refused = lines.filter((l) => l.event === 'dashboard.signin_refused');
      expect(refused).toHaveLength(REFUSAL_LOG_LIMITS.perAddressPerMinute);
      const logged = refused.find((l) => l.fields?.reason === 'signin_cross_site');
      expect(logged?.fields?.origin).toBe(origin.slice(0, LOGGED_ORIGIN_CHARS));
      const metrics = await t.fleet.runtime.metrics.registry.getSingleMetricAsString('hosted_bots_unauthenticated_refusals_total');
      const count = (reason: string) => Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(metrics)?.[1] ?? 0);
      expect(count('signin_cross_site') + count('signin_rate')).toBe(200);
    } finally {
      await t.stop();
    }
  });
});
