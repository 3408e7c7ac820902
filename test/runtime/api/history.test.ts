/**
 * A group's history over the API (GET /v1/groups/:group/runs): keyset pages that follow `next`
 * to the end, and a price that grows with the runs a page reads, so that paging through a long
 * history with a filter that matches little meets 429 long before it costs others their time.
 * On SQLite and on PostgreSQL (BOTS_TEST_PG_URL).
 */
import { HISTORY_SCAN_ROWS } from '../../../runtime/http/limits';
import { newId } from '../../../runtime/store/ids';
import { startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';
import { apiTestStores } from '../../helpers/stores';

describe.each(apiTestStores())('history over the API, on %s', (_name, open) => {
  let t: TestFleet;
  let cleanup: () => Promise<void>;
  const RUNS = 3 * HISTORY_SCAN_ROWS;

  beforeAll(async () => {
    const opened = await open();
    cleanup = opened.cleanup;
    t = await startTestFleet(
      { groups: { finance: { access: { users: [USERS.financeClerk], coOwners: [USERS.financeLead] } } } },
      // A small allowance, so the test reaches it in a few requests: 40 at once, 1 a second after.
      { limits: { userBurst: 40, userPerSecond: 1 }, ...(opened.store ? { store: opened.store } : {}) },
    );
    const store = t.fleet.runtime.store;
    // Paused: the runs stay queued, and no bot takes them.
    await t.fleet.runtime.queue.pause('finance', { id: USERS.financeLead, via: 'api' });
    for (let i = 0; i < RUNS; i++) {
      await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice-entry', inputs: { n: i }, priority: 'normal', createdBy: USERS.financeClerk, timeoutMinutes: 30, now: Date.now() });
    }
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await cleanup?.();
  });

  /** Pages `query` as `who` until the end or a refusal: the pages' sizes, and the refusal's status if any. */
  async function page(who: string, query: string) {
    const sizes: number[] = [];
    let next: string | null = null;
    for (;;) {
      const res = await t.api('GET', `/v1/groups/finance/runs?${query}${next ? `&before=${next}` : ''}`, undefined, who);
      if (res.status !== 200) return { sizes, status: res.status, retryAfter: res.headers.get('retry-after') };
      sizes.push(res.body.runs.length);
      next = res.body.next;
      if (!next) return { sizes, status: 200 };
    }
  }

  test('a filter that matches nothing answers empty pages with a cursor, each reading one window, until the limit answers 429', async () => {
    const result = await page(USERS.financeLead, 'state=failed,expired&limit=50');
    // Each page read HISTORY_SCAN_ROWS runs: 2 for the page and 20 for what it read, of a burst of 40.
    expect(result.status).toBe(429);
    expect(Number(result.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(result.sizes.length).toBeLessThanOrEqual(2);
    expect(result.sizes.every((n) => n === 0)).toBe(true);
  });

  test('pages that read only what they show cost only their page', async () => {
    const result = await page(USERS.financeClerk, 'limit=50');
    // 2 a page from a burst of 40: about 20 pages before the limit, each full.
    expect(result.sizes.length).toBeGreaterThanOrEqual(15);
    expect(result.sizes.every((n) => n === 50)).toBe(true);
  });
});
