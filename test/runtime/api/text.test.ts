/**
 * Text the API admits. JSON's escapes carry a NUL (`\u0000`) and lone surrogates (`\ud800`) into
 * a run's output and error text; the completion is taken, the run ends, and the text reads back
 * as both stores keep it (U+FFFD in their place), on SQLite and, with BOTS_TEST_PG_URL, on
 * PostgreSQL, which refuses U+0000 in TEXT. A raw NUL inside a JSON string is not JSON: 400.
 */
import { BOT_CREDENTIAL_HEADER } from '../../../runtime/agent/agent';
import { eventually, startTestFleet, TestFleet } from '../../helpers/local-fleet';
import { apiTestStores } from '../../helpers/stores';

describe.each(apiTestStores())('text the API admits, on %s', (_name, open) => {
  let t: TestFleet;
  let cleanup: () => Promise<void>;
  let credential: string;
  /** The run that made the fleet scale out, claimed by the first test. */
  let first: string | undefined;

  beforeAll(async () => {
    const opened = await open();
    cleanup = opened.cleanup;
    t = await startTestFleet({ scaling: { heartbeatSeconds: 30, idleMinutes: 10, bootTimeoutMinutes: 5 } }, opened.store ? { store: opened.store } : {});
    // A VM arm-sim creates whose agent never starts: the test plays its agent.
    t.fleet.sim.neverRegister(1);
    first = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' })).body.id;
    const vm = await eventually('a silent VM bound to a finance bot', async () => (await t.fleet.store.bots('finance')).find((b) => b.vmName)?.vmName, 20_000);
    const registered = await t.api('POST', '/v1/agent/register', { vmName: vm }, t.botTokens.finance);
    expect(registered.status).toBe(201);
    credential = registered.body.credential;
  }, 40_000);
  afterAll(async () => {
    await t?.stop();
    await cleanup?.();
  });

  const asBot = (method: string, route: string, body: unknown) => t.api(method, route, body, t.botTokens.finance, { [BOT_CREDENTIAL_HEADER]: credential });

  /** A run claimed by the test's bot. */
  async function running(inputs?: Record<string, unknown>): Promise<{ id: string; inputs: unknown }> {
    const id = first ?? (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs })).body.id;
    first = undefined;
    const claim = await asBot('POST', '/v1/agent/claim', { waitSeconds: 5 });
    expect([claim.status, claim.body?.run?.runId]).toEqual([200, id]);
    return { id, inputs: claim.body.run.inputs };
  }

  test('a completion whose output and error hold a NUL and lone surrogates is taken, and the run ends with them as U+FFFD', async () => {
    const { id } = await running();
    // The JSON text as an agent sends it: escapes, as JSON.stringify writes them.
    const report = '{"attempt":1,"status":"failed","exitCode":1,"output":"nul \\u0000 high \\ud800 low \\udc00 end","error":{"code":"E\\u0000","message":"why \\u0000 \\udbff"}}';
    const done = await asBot('POST', `/v1/agent/runs/${id}/complete`, report);
    expect([done.status, done.body.run?.state]).toEqual([200, 'failed']);
    const read = await t.api('GET', `/v1/runs/${id}`);
    expect(read.body.result).toEqual({ exitCode: 1, output: 'nul \ufffd high \ufffd low \ufffd end', errorCode: 'E\ufffd', errorMessage: 'why \ufffd \ufffd' });
    // The agent's retry of the same report is answered as a duplicate, not with an error.
    expect((await asBot('POST', `/v1/agent/runs/${id}/complete`, report)).body.duplicate).toBe(true);
  });

  test('a raw NUL inside a JSON string is not JSON: 400 invalid_json, and the run goes on', async () => {
    const { id } = await running();
    const refused = await asBot('POST', `/v1/agent/runs/${id}/complete`, '{"attempt":1,"status":"succeeded","output":"a\u0000b"}');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({ code: 'invalid_json', message: 'the request body is not valid JSON' });
    expect((await t.api('GET', `/v1/runs/${id}`)).body.state).toBe('running');
    expect((await asBot('POST', `/v1/agent/runs/${id}/complete`, { attempt: 1, status: 'succeeded', output: 'a\u0000b' })).status).toBe(200);
    expect((await t.api('GET', `/v1/runs/${id}`)).body.result.output).toBe('a\ufffdb');
  });

  test('inputs with a NUL and lone surrogates reach the flow exactly as given', async () => {
    const given = { 'key\u0000': 'nul \u0000 high \ud800 low \udc00', pair: '😀' };
    const { id, inputs } = await running(given);
    expect(inputs).toEqual(given);
    expect((await asBot('POST', `/v1/agent/runs/${id}/complete`, { attempt: 1, status: 'succeeded' })).status).toBe(200);
  });
});
