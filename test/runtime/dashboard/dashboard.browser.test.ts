/**
 * The dashboard in a real browser: Debian's chromium, driven by playwright-core, against a live
 * runtime with arm-sim. Screenshots of the pages go to test-artifacts/.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { eventually, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';
import { ARTIFACTS, CHROMIUM, describeWithBrowser } from '../../helpers/browser';
import { SLOT_MS } from '../../../runtime/domain/history';

const describeBrowser = describeWithBrowser('dashboard browser tests');

describeBrowser('the dashboard in a browser', () => {
  let t: TestFleet;
  let browser: Browser;

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestFleet({ scaling: { idleMinutes: 0.1 } }, { bootSeconds: 1.5 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  const signIn = async (who: string): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${t.fleet.url}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    await page.getByLabel('API token').fill(t.tokens[who]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${t.fleet.url}/`);
    return page;
  };

  test('sign in, see both groups, and the header', async () => {
    const page = await signIn(USERS.admin);
    await expect(page.getByRole('heading', { name: 'Bot groups' }).isVisible()).resolves.toBe(true);
    await expect(page.locator('tr[data-group]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group')))).resolves.toEqual(['finance', 'sales']);
    const header = await page.getByRole('banner').innerText();
    expect(header).toMatch(/demo/);
    expect(header).toMatch(/Europe \(northeurope\)/);
    expect(header).toMatch(/0 of 4/);
    expect(header).toMatch(/standard/);
    // The session cookie is HttpOnly and SameSite=Strict.
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: 'hb_session', httpOnly: true, sameSite: 'Strict' });
    await page.context().close();
  });

  test('runs enqueued through the API show up: why they wait, then busy, then done', async () => {
    const page = await signIn(USERS.admin);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 1.5 } })).body.id);
    await page.goto(`${t.fleet.url}/groups/finance`);
    // While bots boot, the page says why the runs wait.
    await eventually('why it waits: provisioning', async () => /bots? provisioning, about \d+ seconds?/.test(await page.locator('[data-testid="waiting-because"]').innerText().catch(() => '')), 10_000, 200);
    // Each row says why that run waits: the first ones for the bots that are booting.
    await eventually('why the first run waits', async () => /provisioning, about \d+ seconds?/.test(await page.locator('[data-testid="why"]').first().innerText().catch(() => '')), 10_000, 200);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-group-waiting.png'), fullPage: true });
    // The live refresh brings busy bots, then an empty queue and succeeded runs.
    await eventually('busy bots on the page', async () => (await page.locator('.state.busy').count()) > 0, 15_000, 200);
    await eventually('every run done on the page', async () => {
      const text = await page.locator('main').innerText();
      return (text.match(/succeeded/g) ?? []).length >= 4 && /No run is waiting/.test(text);
    }, 30_000, 300);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-group.png'), fullPage: true });
    await page.goto(`${t.fleet.url}/`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-groups.png'), fullPage: true });
    for (const id of ids) expect((await t.api('GET', `/v1/runs/${id}`)).body.state).toBe('succeeded');
    await page.context().close();
  }, 60_000);

  test('the group page draws the last 24 hours of queued runs and bots by state, within the CSP', async () => {
    const page = await signIn(USERS.admin);
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    // A day of earlier samples, through the store's API, so the screenshot shows a day's shape:
    // a morning queue that bots catch up with. The last two slots are left to the live scaler.
    const slotNow = Math.floor(Date.now() / SLOT_MS) * SLOT_MS;
    for (let back = 143; back >= 2; back--) {
      const wave = Math.max(0, Math.sin(((143 - back) / 143) * Math.PI * 2 - 1));
      const queued = Math.round(9 * wave * wave);
      const busy = Math.min(4, Math.round(5 * wave));
      await t.fleet.store.recordGroupSamples(
        [{ group: 'finance', queued, running: busy, bots: { provisioning: queued > busy ? 1 : 0, idle: busy > 0 ? 1 : 0, busy, deleting: back % 37 === 0 ? 1 : 0, failed: 0 } }],
        slotNow - back * SLOT_MS,
      );
    }
    await page.goto(`${t.fleet.url}/groups/finance`);
    await page.waitForSelector('#history-chart[data-drawn="true"] canvas', { timeout: 10_000 });
    const legend = await page.locator('#history-chart .u-legend').innerText();
    for (const name of ['queued runs (most)', 'provisioning bots (most)', 'idle bots (most)', 'busy bots (most)', 'deleting bots (most)', 'failed bots (most)', 'runs arrived']) {
      expect(legend).toContain(name);
    }
    await expect(page.locator('figure.history figcaption').innerText()).resolves.toMatch(/queued runs \(most\), the longest the queue was/);
    // The 4 runs of the test before waited in the queue while bots booted, and the scaler
    // (ticking every 200 ms here) sampled them: the latest slots show them queued, then busy bots.
    // The last two slots, in case a 10-minute boundary passed between the tests.
    const data = JSON.parse((await page.locator('#history-chart').getAttribute('data-chart'))!);
    expect(data.t).toHaveLength(144);
    const recent = (series: Array<number | null>) => Math.max(...series.slice(-2).map((n) => n ?? 0));
    expect(recent(data.queued)).toBeGreaterThanOrEqual(4);
    expect(recent(data.bots.busy)).toBeGreaterThanOrEqual(1);
    expect(recent(data.arrivals)).toBeGreaterThanOrEqual(4);
    // The live refresh keeps the drawn chart rather than wiping it: one refresh, then a frame later.
    await page.waitForResponse((r) => r.url().includes('partial=main'), { timeout: 10_000 });
    await page.evaluate(() => new Promise((done) => setTimeout(done, 0)).then(() => new Promise((done) => (globalThis as any).requestAnimationFrame(done))));
    await expect(page.locator('#history-chart canvas').count()).resolves.toBe(1);
    expect(problems).toEqual([]);
    await page.locator('section[aria-labelledby="history-h"]').screenshot({ path: path.join(ARTIFACTS, 'dashboard-24h.png') });
    await page.context().close();
  }, 30_000);

  test('a co-owner cancels a queued run from the page', async () => {
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    const id = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk)).body.id;
    const page = await signIn(USERS.financeLead);
    await page.goto(`${t.fleet.url}/groups/finance`);
    await expect(page.locator('[data-testid="why"]').first().innerText()).resolves.toBe('group paused');
    await page.locator(`tr[data-run="${id}"]`).getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(/\/groups\/finance\?done=/);
    await expect(page.getByRole('status').innerText()).resolves.toMatch(new RegExp(`Run ${id} cancelled`));
    expect((await t.api('GET', `/v1/runs/${id}`)).body.state).toBe('cancelled');
    await t.api('POST', '/v1/groups/finance/resume', undefined, USERS.financeLead);
    await page.context().close();
  });

  test('a plain user sees no action buttons, and is refused when posting the form anyway', async () => {
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    const queued = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeLead)).body.id;
    const page = await signIn(USERS.financeClerk);
    await page.goto(`${t.fleet.url}/groups/finance`);
    await expect(page.getByRole('button', { name: /Cancel|Move to top|Pause|Resume|Set priority/ }).count()).resolves.toBe(0);
    await expect(page.locator('tr[data-group]').count()).resolves.toBe(0);
    // The user's own CSRF token, from the sign-out form: a well-formed post from this session.
    const csrf = await page.locator('form.signout input[name="_csrf"]').getAttribute('value');
    for (const action of ['/groups/finance/resume', `/runs/${queued}/move-to-top`, `/runs/${queued}/cancel`]) {
      const res = await page.request.post(`${t.fleet.url}${action}`, { form: { _csrf: csrf! }, maxRedirects: 0 });
      // As the API answers: the group action is forbidden; another user's run does not exist for them.
      expect([action, res.status()]).toEqual([action, action.startsWith('/groups') ? 403 : 404]);
    }
    // Nothing changed.
    expect((await t.api('GET', `/v1/runs/${queued}`)).body.state).toBe('queued');
    expect((await t.api('GET', '/v1/groups/finance')).body.state).toBe('paused');
    // And a form without the session's CSRF token is refused too.
    const forged = await page.request.post(`${t.fleet.url}/signout`, { form: { _csrf: 'forged' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    await t.api('POST', '/v1/groups/finance/resume', undefined, USERS.financeLead);
    await page.context().close();
  });

  test('the keyboard alone signs in and reaches a group', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${t.fleet.url}/signin`);
    // Tab: the skip link first, then on to the token field.
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Skip to content');
    for (let i = 0; i < 5 && (await page.evaluate('document.activeElement?.id')) !== 'token'; i++) await page.keyboard.press('Tab');
    await page.keyboard.type(t.tokens[USERS.admin]);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.fleet.url}/`);
    await page.locator('a[href="/groups/finance"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.fleet.url}/groups/finance`);
    await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toMatch(/^finance/);
    await context.close();
  });

  test('signing out ends the session', async () => {
    const page = await signIn(USERS.admin);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${t.fleet.url}/signin`);
    await page.goto(`${t.fleet.url}/`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    await page.context().close();
  });
});
