/**
 * The audit trail in the running runtime: each change a person makes through the API or the
 * dashboard leaves its record; co-owners and admins read it (GET /v1/groups/:group/audit, and the
 * group's page), plain users do not; retention deletes it with the finished runs. On SQLite and
 * on PostgreSQL (BOTS_TEST_PG_URL).
 */
import { dashboardSession, eventually, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';
import { apiTestStores } from '../../helpers/stores';

const stores = apiTestStores();

describe.each(stores)('audit trail, on %s', (_name, open) => {
  let t: TestFleet;
  let cleanup: () => Promise<void>;
  let first: string;
  let second: string;

  /** A dashboard session: its cookie, and the CSRF token its forms carry. */
  const signIn = (who: string) => dashboardSession(t, who);
  const page = async (path: string, cookie: string) => (await fetch(`${t.fleet.url}${path}`, { headers: { cookie } })).text();

  beforeAll(async () => {
    const opened = await open();
    cleanup = opened.cleanup;
    t = await startTestFleet({ groups: { finance: { access: { users: [USERS.financeClerk], coOwners: [USERS.financeLead] } } } }, opened.store ? { store: opened.store } : {});
    expect((await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead)).status).toBe(200);
    first = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05 } }, USERS.financeClerk)).body.id;
    second = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    expect((await t.api('PATCH', `/v1/runs/${first}`, { priority: 'high' }, USERS.financeLead)).status).toBe(200);
    expect((await t.api('POST', `/v1/runs/${second}/move-to-top`, undefined, USERS.admin)).status).toBe(200);
    expect((await t.api('POST', `/v1/runs/${second}/cancel`, undefined, USERS.financeClerk)).status).toBe(200);
    // The lead resumes the group from the dashboard.
    const lead = await signIn(USERS.financeLead);
    const resumed = await fetch(`${t.fleet.url}/groups/finance/resume`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: lead.cookie },
      body: `_csrf=${encodeURIComponent(lead.csrf)}`,
    });
    expect(resumed.status).toBe(303);
  }, 30_000);
  afterAll(async () => {
    await t?.stop();
    await cleanup?.();
  });

  test('each change leaves its record: who, through what, when, the run, before and after, newest first', async () => {
    const res = await t.api('GET', '/v1/groups/finance/audit', undefined, USERS.financeLead);
    expect(res.status).toBe(200);
    expect(res.body.records.map((r: Record<string, unknown>) => [r.action, r.actor, r.via, r.runId, r.before, r.after])).toEqual([
      ['resume', USERS.financeLead, 'dashboard', null, { paused: true, expired: false }, { paused: false, expired: false }],
      ['cancel', USERS.financeClerk, 'api', second, { state: 'queued', cancelRequested: false }, { state: 'cancelled', cancelRequested: false }],
      ['move-to-top', USERS.admin, 'api', second, { movedToTopAt: null }, { movedToTopAt: expect.any(Number) }],
      ['priority', USERS.financeLead, 'api', first, { priority: 'normal' }, { priority: 'high' }],
      ['pause', USERS.financeLead, 'api', null, { paused: false }, { paused: true }],
    ]);
    for (const record of res.body.records) expect(Number.isNaN(Date.parse(record.at))).toBe(false);
    expect(res.body.next).toBeNull();
  });

  test('an admin reads it too; a plain user of the group gets 403, a user of another group 404, a stranger 401', async () => {
    expect((await t.api('GET', '/v1/groups/finance/audit', undefined, USERS.admin)).body.records).toHaveLength(5);
    const plain = await t.api('GET', '/v1/groups/finance/audit', undefined, USERS.financeClerk);
    expect([plain.status, plain.body.error]).toEqual([403, { code: 'forbidden', message: 'only co-owners of group finance may read its audit trail' }]);
    expect((await t.api('GET', '/v1/groups/finance/audit', undefined, USERS.salesRep)).status).toBe(404);
    expect((await t.api('GET', '/v1/groups/finance/audit', undefined, '', { authorization: '' })).status).toBe(401);
    // Another group's trail holds nothing of this one.
    expect((await t.api('GET', '/v1/groups/sales/audit', undefined, USERS.admin)).body).toEqual({ records: [], next: null });
  });

  test('the trail pages newest first by `before`, and a bad query is refused naming the field', async () => {
    const pageOne = (await t.api('GET', '/v1/groups/finance/audit?limit=2', undefined, USERS.financeLead)).body;
    expect(pageOne.records.map((r: { action: string }) => r.action)).toEqual(['resume', 'cancel']);
    const pageTwo = (await t.api('GET', `/v1/groups/finance/audit?limit=2&before=${pageOne.next}`, undefined, USERS.financeLead)).body;
    expect(pageTwo.records.map((r: { action: string }) => r.action)).toEqual(['move-to-top', 'priority']);
    const pageThree = (await t.api('GET', `/v1/groups/finance/audit?limit=2&before=${pageTwo.next}`, undefined, USERS.financeLead)).body;
    expect([pageThree.records.map((r: { action: string }) => r.action), pageThree.next]).toEqual([['pause'], null]);
    for (const [query, message] of [
      ['limit=0', /^limit: /],
      ['limit=201', /^limit: /],
      ['before=abc', /^before: /],
      ['since=1', /since: unknown field/],
    ] as const) {
      const res = await t.api('GET', `/v1/groups/finance/audit?${query}`, undefined, USERS.financeLead);
      expect([query, res.status, res.body.error.code]).toEqual([query, 400, 'invalid_request']);
      expect(res.body.error.message).toMatch(message);
    }
  });

  test("the group's page lists the changes to a co-owner and an admin, and not to a plain user", async () => {
    for (const who of [USERS.financeLead, USERS.admin]) {
      const body = await page('/groups/finance', (await signIn(who)).cookie);
      expect([who, body.includes('<h2 id="audit-h">Changes by people</h2>')]).toEqual([who, true]);
      expect([...body.matchAll(/<tr data-audit="([a-z-]+)">/g)].map((m) => m[1])).toEqual(['resume', 'cancel', 'move-to-top', 'priority', 'pause']);
      expect(body).toContain('priority normal');
    }
    const plain = await page('/groups/finance', (await signIn(USERS.financeClerk)).cookie);
    expect(plain).toContain('<h1>finance');
    expect(plain).not.toContain('Changes by people');
    expect(plain).not.toContain('data-audit=');
    expect(plain).not.toContain(USERS.financeLead);
  });
});

describe.each(stores)('audit retention in the running runtime, on %s', (_name, open) => {
  test('records are deleted once runRetentionDays have passed, as finished runs are', async () => {
    const opened = await open();
    // 0.00005 days is about 4 s.
    const t = await startTestFleet({ environment: { runRetentionDays: 0.00005 } }, opened.store ? { store: opened.store } : {});
    try {
      await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.admin);
      expect((await t.api('GET', '/v1/groups/finance/audit')).body.records.map((r: { action: string }) => r.action)).toEqual(['pause']);
      await eventually('the record deleted', async () => (await t.api('GET', '/v1/groups/finance/audit')).body.records.length === 0, 20_000);
    } finally {
      await t.stop();
      await opened.cleanup();
    }
  }, 40_000);
});
