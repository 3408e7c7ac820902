/**
 * Run data (inputs, output, error text) is visible to the run's owner, the group's co-owners and
 * environment admins only, and only on the run's own route; other users of the group see where a
 * run stands (position, priority, state, times). Checked on every user-visible answer: the API's
 * group, queue and history views, the run route, and the dashboard's pages.
 */
import { dashboardSession, eventually, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

/** Markers that must never reach anyone but the run's owner, co-owners and admins. */
const mark = (who: string, what: string) => `MARK-${who}-${what}-7f3a`;

describe('run data', () => {
  let t: TestFleet;
  /** Run IDs by owner: one finished, one queued. */
  const runs: Record<string, { finished: string; queued: string }> = {};
  const owners = [USERS.financeClerk, USERS.salesRep, USERS.financeLead];

  beforeAll(async () => {
    t = await startTestFleet({
      groups: { finance: { access: { users: [USERS.financeClerk, USERS.salesRep], coOwners: [USERS.financeLead] } } },
      scaling: { idleMinutes: 10 },
    });
    for (const who of owners) {
      const inputs = { secret: mark(who, 'input'), output: mark(who, 'output'), simulateSeconds: 0.05 };
      runs[who] = { finished: (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs }, who)).body.id, queued: '' };
    }
    await eventually('every first run finished', async () => {
      const all = await Promise.all(owners.map(async (who) => (await t.api('GET', `/v1/runs/${runs[who].finished}`, undefined, who)).body));
      return all.every((r) => r.finishedAt && r.result?.output?.includes('MARK-'));
    }, 20_000);
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    for (const who of owners) {
      runs[who].queued = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { secret: mark(who, 'queued') } }, who)).body.id;
    }
  }, 40_000);
  afterAll(async () => t.stop());

  /** A dashboard session for a principal: the cookie its sign-in sets. */
  const signIn = async (who: string) => (await dashboardSession(t, who)).cookie;
  const page = async (path: string, session: string) => (await fetch(`${t.fleet.url}${path}`, { headers: { cookie: session } })).text();

  /** Every answer a principal can get that lists or shows runs, as text. */
  const answers = async (who: string): Promise<Record<string, string>> => {
    const api = async (route: string) => JSON.stringify((await t.api('GET', route, undefined, who)).body);
    const session = await signIn(who);
    const history: string[] = [];
    for (let cursor: string | null = '', pages = 0; cursor !== null && pages < 10; pages++) {
      const body: { next: string | null } = (await t.api('GET', `/v1/groups/finance/runs?limit=2${cursor ? `&before=${cursor}` : ''}`, undefined, who)).body;
      history.push(JSON.stringify(body));
      cursor = body.next;
    }
    return {
      'GET /v1/groups': await api('/v1/groups'),
      'GET /v1/groups/finance': await api('/v1/groups/finance'),
      'GET /v1/groups/finance/queue': await api('/v1/groups/finance/queue?limit=2') + (await api('/v1/groups/finance/queue?offset=2&limit=2')),
      'GET /v1/groups/finance/runs (every page)': history.join('\n'),
      'dashboard /': await page('/', session),
      'dashboard /groups/finance': await page('/groups/finance', session),
    };
  };

  test('no list or page holds anyone\'s inputs or output; a plain user sees no other user\'s run IDs either', async () => {
    const leaks: string[] = [];
    for (const who of [...owners, USERS.admin]) {
      for (const [where, text] of Object.entries(await answers(who))) {
        for (const owner of owners) {
          for (const what of ['input', 'output', 'queued']) if (text.includes(mark(owner, what))) leaks.push(`${who} sees ${owner}'s ${what} in ${where}`);
          const plain = who === USERS.financeClerk || who === USERS.salesRep;
          if (plain && owner !== who) {
            for (const id of [runs[owner].finished, runs[owner].queued]) if (text.includes(id)) leaks.push(`${who} sees ${owner}'s run ID ${id} in ${where}`);
          }
        }
      }
    }
    expect(leaks).toEqual([]);
  }, 30_000);

  test('the run route gives the data to its owner, a co-owner and an admin, and 404 to another user', async () => {
    const run = runs[USERS.financeClerk].finished;
    for (const who of [USERS.financeClerk, USERS.financeLead, USERS.admin]) {
      const res = await t.api('GET', `/v1/runs/${run}`, undefined, who);
      expect([who, res.status, res.body.inputs.secret, res.body.result.output]).toEqual([who, 200, mark(USERS.financeClerk, 'input'), expect.stringContaining(mark(USERS.financeClerk, 'output'))]);
      expect(res.body.result).toHaveProperty('errorMessage');
    }
    expect((await t.api('GET', `/v1/runs/${run}`, undefined, USERS.salesRep)).status).toBe(404);
  });

  /** The run fields each principal gets, per route: the role matrix, extended to fields. */
  const SUMMARY = ['attempts', 'bot', 'cancelRequested', 'createdBy', 'enqueuedAt', 'finishedAt', 'flow', 'group', 'id', 'movedToTop', 'priority', 'result', 'runMs', 'startedAt', 'state', 'waitMs'];
  const SHADOW = ['enqueuedAt', 'finishedAt', 'mine', 'priority', 'runMs', 'startedAt', 'state', 'waitMs'];
  const FULL = [...SUMMARY, 'inputs'].sort();

  test.each([
    ['queue on the group view, own run', USERS.financeClerk, USERS.financeClerk, [...SUMMARY, 'position', 'waitingBecause'].sort()],
    ['queue on the group view, another user\'s run', USERS.financeClerk, USERS.salesRep, [...SHADOW, 'position', 'waitingBecause'].sort()],
    ['queue on the group view, as co-owner', USERS.financeLead, USERS.salesRep, [...SUMMARY, 'position', 'waitingBecause'].sort()],
    ['queue on the group view, as admin', USERS.admin, USERS.salesRep, [...SUMMARY, 'position', 'waitingBecause'].sort()],
  ])('%s: %s sees the fields of %s\'s run', async (_name, viewer, owner, fields) => {
    const view = (await t.api('GET', '/v1/groups/finance', undefined, viewer)).body;
    const position = view.queue.findIndex((r: { id?: string }) => r.id === runs[owner].queued);
    const entry = position >= 0 ? view.queue[position] : view.queue.find((r: { mine?: boolean }) => r.mine === false);
    expect(Object.keys(entry).sort()).toEqual(fields);
  });

  test('recent runs and the history carry summaries: no inputs, no output, no error text', async () => {
    for (const viewer of [USERS.financeClerk, USERS.financeLead]) {
      const view = (await t.api('GET', '/v1/groups/finance', undefined, viewer)).body;
      const history = (await t.api('GET', '/v1/groups/finance/runs', undefined, viewer)).body;
      for (const entry of [...view.recentRuns, ...history.runs]) {
        expect(entry).not.toHaveProperty('inputs');
        if (entry.result) expect(Object.keys(entry.result).sort()).toEqual(['errorCode', 'exitCode']);
      }
    }
    const own = (await t.api('GET', `/v1/runs/${runs[USERS.financeClerk].finished}`, undefined, USERS.financeClerk)).body;
    expect(Object.keys(own).sort()).toEqual(FULL);
    expect(Object.keys(own.result).sort()).toEqual(['errorCode', 'errorMessage', 'exitCode', 'output']);
  });

  test('a plain user\'s history holds their own runs only, so its cursor never names another user\'s run', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const body: { runs: Array<{ id: string; createdBy: string }>; next: string | null } = (await t.api('GET', `/v1/groups/finance/runs?limit=1${cursor ? `&before=${cursor}` : ''}`, undefined, USERS.salesRep)).body;
      for (const r of body.runs) expect(r.createdBy).toBe(USERS.salesRep);
      if (body.next) expect([runs[USERS.salesRep].finished, runs[USERS.salesRep].queued]).toContain(body.next);
      seen.push(...body.runs.map((r) => r.id));
      cursor = body.next;
    }
    expect(seen.sort()).toEqual([runs[USERS.salesRep].finished, runs[USERS.salesRep].queued].sort());
  });

  test('the queue pages in claim order, with positions, to the end', async () => {
    const first = (await t.api('GET', '/v1/groups/finance/queue?limit=2', undefined, USERS.financeLead)).body;
    expect(first.queue.map((r: { position: number }) => r.position)).toEqual([1, 2]);
    expect(first.next).toBe(2);
    const second = (await t.api('GET', `/v1/groups/finance/queue?offset=${first.next}&limit=2`, undefined, USERS.financeLead)).body;
    expect(second.queue.map((r: { position: number }) => r.position)).toEqual([3]);
    expect(second.next).toBeNull();
    expect([...first.queue, ...second.queue].map((r: { id: string }) => r.id)).toEqual(owners.map((who) => runs[who].queued));
  });
});
