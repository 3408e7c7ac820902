/**
 * The built-in self-test flow end to end: a group's user starts it without the group declaring
 * it, the runtime scales out a bot through arm-sim, the bot's real agent runs the self-test (a
 * child process calling the runtime's /healthz over the URL the agent uses), and the run
 * succeeds with the report as its output.
 */
import { SELF_TEST_FLOW } from '../../runtime/config/self-test-flow';
import { eventually, startTestFleet, TestFleet, USERS } from '../helpers/local-fleet';

describe('the built-in self-test flow', () => {
  let t: TestFleet;
  afterEach(async () => t?.stop());

  test('a group user runs hosted-bots-self-test, which no group declares: it succeeds on a bot, with the report as its output', async () => {
    t = await startTestFleet();
    const declared = (await t.api('GET', '/v1/groups/finance', undefined, USERS.financeClerk)).body;
    expect(declared.flows ?? []).not.toContain(SELF_TEST_FLOW);

    const started = await t.api('POST', '/v1/groups/finance/runs', { flow: SELF_TEST_FLOW }, USERS.financeClerk);
    expect(started.status).toBe(202);
    const run = await eventually(
      'the self-test run ended',
      async () => {
        const r = (await t.api('GET', `/v1/runs/${started.body.id}`, undefined, USERS.financeClerk)).body;
        return ['succeeded', 'failed', 'cancelled'].includes(r.state) ? r : undefined;
      },
      30_000,
    );
    expect(run).toMatchObject({ state: 'succeeded', flow: SELF_TEST_FLOW, result: { exitCode: 0 } });
    expect(run.bot.vmName).toMatch(/^vmss-demo-finance/);
    const output: string = run.result.output;
    expect(output).toMatch(new RegExp(`^${SELF_TEST_FLOW} passed: this bot runs commands and reaches the runtime\\n`));
    expect(output).toMatch(new RegExp(`runtime: GET ${t.fleet.url}/healthz answered HTTP 200 in \\d+ ms: \\{"status":"ok"`));
  }, 60_000);

  test('a user of another group may not run it there: the group\'s access still applies', async () => {
    t = await startTestFleet();
    const refused = await t.api('POST', '/v1/groups/finance/runs', { flow: SELF_TEST_FLOW }, USERS.salesRep);
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe('group_not_found');
  });
});
