/** Bad input gets a 4xx that names the field, and nothing is enqueued. */
import { startTestFleet, TestFleet, USERS } from '../helpers/local-fleet';

describe('bad input', () => {
  let t: TestFleet;
  beforeAll(async () => {
    t = await startTestFleet();
    // Paused, so a run that slipped through would stay visible in the queue.
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
  });
  afterAll(async () => t.stop());
  afterEach(async () => {
    expect(await t.fleet.store.queueCounts()).toEqual([]);
  });

  test('an unknown flow: 422 naming the flow field and the declared flows', async () => {
    const res = await t.api('POST', '/v1/groups/finance/runs', { flow: 'payroll' });
    expect(res.status).toBe(422);
    expect(res.body.error).toEqual({ code: 'unknown_flow', message: expect.stringMatching(/^flow: "payroll" is not in group finance's flow catalogue; declared flows: invoice-entry; every group also runs the built-in hosted-bots-self-test$/) });
  });

  test('malformed JSON: 400 invalid_json', async () => {
    const res = await t.api('POST', '/v1/groups/finance/runs', '{"flow": "invoice-entry",');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  test('an oversized body: 413', async () => {
    const res = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { blob: 'x'.repeat(200_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('body_too_large');
  });

  test('inputs over 32 KiB: 422 naming inputs', async () => {
    const res = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { blob: 'x'.repeat(40_000) } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/^inputs: /);
  });

  test.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('a flow named like an Object.prototype member (%s): 422 unknown_flow', async (flow) => {
    const res = await t.api('POST', '/v1/groups/finance/runs', `{"flow": ${JSON.stringify(flow)}}`);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('unknown_flow');
  });

  test.each([40, 5_000, 60_000])('inputs nested %i levels deep: 422 inputs_too_deep, or 400 when JSON cannot hold them', async (depth) => {
    const body = `{"flow":"invoice-entry","inputs":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const res = await t.api('POST', '/v1/groups/finance/runs', body);
    expect([400, 413, 422]).toContain(res.status);
    if (res.status === 422) expect(res.body.error).toEqual({ code: 'inputs_too_deep', message: expect.stringMatching(/^inputs: nested more than 32 levels deep/) });
  });

  test('a bad priority: 400 naming the priority field', async () => {
    const res = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', priority: 'urgent' });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'invalid_request', message: 'priority: must be one of high, normal' });
  });

  test('wrong types and unknown fields: 400 naming each field', async () => {
    const res = await t.api('POST', '/v1/groups/finance/runs', { flow: 42, inputs: 'x', extra: true });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/flow: /);
    expect(res.body.error.message).toMatch(/inputs: must be a JSON object/);
    expect(res.body.error.message).toMatch(/extra: unknown field/);
  });

  test('an unknown group: 404 naming the group', async () => {
    const res = await t.api('POST', '/v1/groups/payroll/runs', { flow: 'invoice-entry' });
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual({ code: 'group_not_found', message: 'group "payroll" does not exist or you have no access to it' });
  });

  test('a group the caller may not use looks like an unknown group', async () => {
    const res = await t.api('POST', '/v1/groups/sales/runs', { flow: 'lead-sync' }, USERS.financeClerk);
    expect(res.status).toBe(404);
  });

  test('no token, or a wrong one: 401', async () => {
    expect((await fetch(`${t.fleet.url}/v1/groups`)).status).toBe(401);
    expect((await t.api('GET', '/v1/groups', undefined, 'not-a-token')).status).toBe(401);
  });

  test('a bot token cannot enqueue', async () => {
    const res = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, t.botTokens.finance);
    expect(res.status).toBe(403);
  });

  test('a bad idempotency key: 400', async () => {
    const res = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.admin, { 'idempotency-key': 'x'.repeat(201) });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('Idempotency-Key: must be 1-200 printable ASCII characters');
  });

  test('an unknown route: 404 in the error shape', async () => {
    const res = await t.api('GET', '/v1/nothing');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('route_not_found');
  });
});

describe('idempotent retries', () => {
  let t: TestFleet;
  beforeAll(async () => {
    t = await startTestFleet();
    await t.api('POST', '/v1/groups/finance/pause', undefined, USERS.financeLead);
  });
  afterAll(async () => t.stop());

  test('the same Idempotency-Key returns the same run, once', async () => {
    const headers = { 'idempotency-key': 'invoice-2026-11-26-001' };
    const first = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk, headers);
    const retry = await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry' }, USERS.financeClerk, headers);
    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(first.body.id);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await t.api('GET', '/v1/groups/finance')).body.queued).toBe(1);
  });
});
