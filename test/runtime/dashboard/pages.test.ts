import { Chrome, groupListPage, groupPage, GroupPageData, signInPage } from '../../../runtime/dashboard/pages';

const chrome = (overrides: Partial<Chrome['environment']> = {}, user = { id: 'ops@contoso.com', csrf: 'csrf-token-1' }): Chrome => ({
  title: 'Groups',
  environment: { name: 'demo', geography: 'Europe', region: 'northeurope', plan: 'standard', enabled: true, botCapacity: 4, botsInUse: 1, ...overrides },
  user,
});

const group = (overrides: Partial<GroupPageData> = {}): GroupPageData => ({
  name: 'finance',
  description: 'Invoice entry',
  state: 'active',
  access: 'co-owner',
  maxBots: 3,
  committedBots: 0,
  canManage: true,
  bots: [],
  queue: [{ id: 'run_000000000000000000000001', position: 1, flow: 'invoice-entry', priority: 'normal', createdBy: 'clerk', waitMs: 5_000, movedToTop: false, waitingBecause: 'group paused' }],
  waitingBecause: ['group paused'],
  recent: [],
  errors: [],
  ...overrides,
});

describe('dashboard pages', () => {
  test('a disabled environment gets a banner on every page', () => {
    expect(groupListPage(chrome({ enabled: false }), [])).toMatch(/<div class="banner" role="alert">This environment is disabled/);
    expect(groupListPage(chrome(), [])).not.toMatch(/class="banner"/);
  });

  test('values from users and from Azure are escaped', () => {
    const body = groupPage(
      chrome(),
      group({
        description: '<img src=x onerror=alert(1)>',
        errors: [{ at: null, code: 'QuotaExceeded', message: '<script>alert("x")</script>', operation: 'create' }],
      }),
    );
    expect(body).not.toMatch(/<img src=x|<script>alert/);
    expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  test('a co-owner gets action forms, each with the CSRF token; a user gets none', () => {
    const owner = groupPage(chrome(), group());
    const forms = owner.match(/<form[^>]*method="post"[^>]*>/g) ?? [];
    // signout, pause, then cancel, move to top and priority for the run.
    expect(forms).toHaveLength(5);
    expect(owner.match(/name="_csrf" value="csrf-token-1"/g)).toHaveLength(5);
    const user = groupPage(chrome(), group({ canManage: false, access: 'user' }));
    expect(user.match(/<form[^>]*method="post"[^>]*>/g)).toEqual(['<form class="signout" method="post" action="/signout">']);
  });

  test('each queued run shows its position and why it waits', () => {
    const body = groupPage(chrome(), group());
    expect(body).toMatch(/<tr data-run="run_000000000000000000000001">\s*<td>1<\/td>/);
    expect(body).toContain('<td data-testid="why">group paused</td>');
  });

  test('the group line says when predictive warm-up planned bots, with or without runs waiting', () => {
    const message = 'predictive warm-up: 3 bots planned ahead of the usual demand at this hour';
    expect(groupPage(chrome(), group())).not.toContain('data-testid="predictive-warm-up"');
    expect(groupPage(chrome(), group({ predictiveWarmUp: null }))).not.toContain('data-testid="predictive-warm-up"');
    for (const queue of [[], group().queue]) {
      const body = groupPage(chrome(), group({ queue, waitingBecause: [], predictiveWarmUp: { message } }));
      expect(body).toContain('<p class="why" data-testid="predictive-warm-up">Predictive warm-up: 3 bots planned ahead of the usual demand at this hour.</p>');
    }
  });

  test("the group line gives the warm-up account when there is one", () => {
    expect(groupPage(chrome(), group())).not.toContain('data-testid="warm-up-account"');
    const body = groupPage(chrome(), group({ warmUpAccount: { message: 'warm-up: 12 of 40 warmed bots used this week; paused since Tuesday: most warmed bots went unused' } }));
    expect(body).toContain('<p class="why" data-testid="warm-up-account">Warm-up: 12 of 40 warmed bots used this week; paused since Tuesday: most warmed bots went unused.</p>');
  });

  test("on a replica that does not lead, the page says as of when the leader published why runs wait, and says when the leader has gone quiet", () => {
    expect(groupPage(chrome(), group())).not.toMatch(/data-testid="(published-at|leader-stale)"/);
    expect(groupPage(chrome(), group({ publishedAt: null, leaderStale: false }))).not.toMatch(/data-testid="(published-at|leader-stale)"/);
    expect(groupPage(chrome(), group({ publishedAt: '2026-01-05T09:00:00.000Z', leaderStale: false }))).toContain(
      '<p class="why" data-testid="published-at">Why runs wait, the warm-up and the scale-ins as of 2026-01-05T09:00:00.000Z, from the scaler\'s leader.</p>',
    );
    const stale = groupPage(chrome(), group({ publishedAt: '2026-01-05T09:00:00.000Z', leaderStale: true }));
    expect(stale).toContain('data-testid="leader-stale"');
    expect(stale).not.toContain('data-testid="published-at"');
  });

  test('recent scale-ins are listed with their reasons, escaped, and left out when there are none', () => {
    expect(groupPage(chrome(), group())).not.toContain('data-testid="scale-ins"');
    const body = groupPage(
      chrome(),
      group({ scaleIns: [{ at: '2026-01-05T09:00:00.000Z', bots: 1, reason: 'rebalance', message: '1 idle bot released: rebalance to group <sales>: group finance is held to its share of 3 bots' }] }),
    );
    expect(body).toContain('<li data-reason="rebalance">2026-01-05T09:00:00.000Z: 1 idle bot released: rebalance to group &lt;sales&gt;: group finance is held to its share of 3 bots</li>');
  });

  test('the audit trail is listed when the page has one (co-owners and admins), escaped, times and empty fields in words', () => {
    const record = { at: '2026-01-05T09:00:00.000Z', actor: '<b>lead</b>', via: 'dashboard', runId: 'run_000000000000000000000001' };
    const body = groupPage(
      chrome(),
      group({
        audit: [
          { ...record, action: 'move-to-top', before: { movedToTopAt: null }, after: { movedToTopAt: Date.UTC(2026, 0, 5, 9) } },
          { ...record, action: 'priority', before: { priority: 'normal' }, after: { priority: 'high' } },
        ],
      }),
    );
    expect(body).toContain('<h2 id="audit-h">Changes by people</h2>');
    expect(body).toContain('<td>&lt;b&gt;lead&lt;/b&gt; <span class="muted">(dashboard)</span></td>');
    expect(body).toContain('<td>movedToTopAt none</td><td>movedToTopAt 2026-01-05T09:00:00.000Z</td>');
    expect(body).toContain('<td>priority normal</td><td>priority high</td>');
    expect(groupPage(chrome(), group({ audit: [] }))).toContain('No one has changed the queue or the group yet.');
    expect(groupPage(chrome(), group({ canManage: false, access: 'user' }))).not.toContain('Changes by people');
  });

  test('the pages have landmarks, a skip link and labelled inputs', () => {
    const body = signInPage(chrome({}, undefined as never));
    expect(body).toMatch(/<html lang="en">/);
    expect(body).toMatch(/<a class="skip" href="#main">/);
    expect(body).toMatch(/<header[^>]*>[\s\S]*<main id="main"/);
    expect(body).toMatch(/<label for="token">API token<\/label>\s*<input id="token"/);
    const withPriority = groupPage(chrome(), group());
    expect(withPriority).toMatch(/<label class="sr-only" for="priority-run_000000000000000000000001">/);
  });
  describe('webhooks', () => {
    const webhooks = {
      subscriptions: [{ id: 'wh_1', url: 'https://hooks.example.com/<b>in</b>', events: ['run.failed'], format: 'json', source: 'api', health: { lastSuccessAt: null, lastFailureAt: '2026-12-07T02:00:00.000Z', failing: 1 } }],
      failing: [{ id: 'msg_1', event: 'run.failed', createdAt: '2026-12-07T01:59:00.000Z', state: 'pending', attempts: 2, lastError: 'answered 500: <script>alert(1)</script>', nextAttemptAt: '2026-12-07T02:00:10.000Z' }],
    };

    test("the group's webhooks and failing deliveries are listed, their text escaped", () => {
      const body = groupPage(chrome(), group({ webhooks }));
      expect(body).toContain('data-testid="webhooks"');
      expect(body).toMatch(/<tr data-webhook="wh_1">.*run\.failed.*<td>never<\/td><td>2026-12-07T02:00:00\.000Z<\/td><td>1<\/td>/s);
      expect(body).toMatch(/<tr data-delivery="msg_1"><td>run\.failed<\/td>.*<td>retrying<\/td><td>2<\/td>/s);
      expect(body).not.toMatch(/<b>in<\/b>|<script>alert/);
      expect(body).toContain('answered 500: &lt;script&gt;alert(1)&lt;/script&gt;');
    });

    test('a page without them (a plain user) has no webhook section', () => {
      expect(groupPage(chrome(), group({ canManage: false, access: 'user' }))).not.toContain('data-testid="webhooks"');
    });
  });
});
