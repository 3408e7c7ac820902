/**
 * The dashboard's own routes: an action's redirect shows a message the dashboard wrote, by key,
 * and nothing a link chose.
 */
import { doneMessage } from '../../../runtime/dashboard/routes';
import { dashboardSession, startTestFleet, USERS } from '../../helpers/local-fleet';

const RUN = 'run_19ac0b7d2e4a5f3c2b1a9e07';

describe('messages after an action', () => {
  test.each([
    [{ done: 'paused' }, 'Group paused: running flows finish, nothing new starts.'],
    [{ done: 'resumed' }, 'Group resumed.'],
    [{ done: 'cancelled', run: RUN }, `Run ${RUN} cancelled.`],
    [{ done: 'stopping', run: RUN }, `Run ${RUN} is being stopped.`],
    [{ done: 'moved-to-top', run: RUN }, `Run ${RUN} moved to the top.`],
    [{ done: 'priority', run: RUN, priority: 'high' }, `Run ${RUN} is now high priority.`],
  ])('%j shows its message', (query, text) => {
    expect(doneMessage(query)).toBe(text);
  });

  test.each([
    [{ done: 'Your session expired: sign in again at https://evil.example' }],
    [{ done: 'toString' }],
    [{ done: '__proto__' }],
    [{ done: 'cancelled', run: 'run_<script>' }],
    [{ done: 'cancelled' }],
    [{ done: 'priority', run: RUN, priority: 'urgent, call +1 555 0100' }],
    [{ done: ['paused'] }],
  ])('%j shows nothing', (query) => {
    expect(doneMessage(query)).toBeUndefined();
  });

  test('the group page shows a known message and never the text of an unknown one', async () => {
    const t = await startTestFleet();
    try {
      const { cookie } = await dashboardSession(t, USERS.admin);
      const page = async (query: string) => (await fetch(`${t.fleet.url}/groups/finance?${query}`, { headers: { cookie } })).text();
      expect(await page('done=resumed')).toContain('Group resumed.');
      const forged = await page(`done=${encodeURIComponent('Call the help desk at +1 555 0100 now')}`);
      expect(forged).not.toContain('help desk');
    } finally {
      await t.stop();
    }
  });
});
