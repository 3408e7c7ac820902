/**
 * The users' routes that other tests do not cover: a group's flow list, which the connector's
 * "Start a run" offers its flows from. Who may call it is in access.test.ts's role matrix.
 */
import { startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

describe("a group's flows", () => {
  let t: TestFleet;

  beforeAll(async () => {
    t = await startTestFleet({
      groups: {
        finance: {
          flows: {
            'invoice-entry': { command: 'invoice.cmd', timeoutMinutes: 30, description: 'Enter the invoices of the day' },
            'month-end': { command: 'month-end.cmd', timeoutMinutes: 120 },
          },
        },
      },
    });
  }, 30_000);
  afterAll(async () => t.stop());

  test('lists the flows of the catalogue in the order the manifest declares them, with their description (null without one) and time-out, and not their command', async () => {
    const res = await t.api('GET', '/v1/groups/finance/flows', undefined, USERS.financeClerk);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      flows: [
        { name: 'invoice-entry', description: 'Enter the invoices of the day', timeoutMinutes: 30 },
        { name: 'month-end', description: null, timeoutMinutes: 120 },
      ],
    });
  });

  test('a flow it lists is one a run may name', async () => {
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
    const flows: Array<{ name: string }> = (await t.api('GET', '/v1/groups/finance/flows', undefined, USERS.financeClerk)).body.flows;
    for (const { name } of flows) expect([name, (await t.api('POST', '/v1/groups/finance/runs', { flow: name }, USERS.financeClerk)).status]).toEqual([name, 202]);
  });
});
