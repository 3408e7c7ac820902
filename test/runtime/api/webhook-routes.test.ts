/**
 * A group's webhooks through the API of a running runtime: who may manage them, what is refused
 * and why, what a listing shows, and a finished run reaching a real receiver, signed.
 */
import { Webhook } from 'standardwebhooks';
import { dashboardSession, eventually, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';
import { RECEIVER_WEBHOOKS, startReceiver, WebhookReceiver } from '../../helpers/webhook-receiver';
import { webhookEventSchema } from '../../../runtime/api/webhook-schemas';

describe('webhook routes', () => {
  let t: TestFleet;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestFleet(
      {
        groups: {
          finance: {
            access: { users: [USERS.financeClerk], coOwners: [USERS.financeLead] },
            webhooks: [{ url: 'https://hooks.example.com/declared', events: ['group.provisioning_error'], format: 'json' }],
          },
        },
      },
      { webhooks: { ...RECEIVER_WEBHOOKS, pollMs: 50 }, metricsToken: 'metrics-token' },
    );
  }, 30_000);
  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
  });

  const create = (body: unknown, as: string = USERS.financeLead) => t.api('POST', '/v1/groups/finance/webhooks', body, as);

  test('a co-owner creates one: 201, its Location, and its secret once', async () => {
    const res = await create({ url: 'https://hooks.example.com/in', events: ['run.failed'], format: 'json' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.stringMatching(/^wh_[0-9a-f]{24}$/), url: 'https://hooks.example.com/in', events: ['run.failed'], format: 'json', secret: expect.stringMatching(/^whsec_/) });
    expect(res.headers.get('location')).toBe(`/v1/groups/finance/webhooks/${res.body.id}`);
  });

  test('the list shows each subscription and its delivery health, never its secret', async () => {
    const created = (await create({ url: 'https://hooks.example.com/list', events: ['queue.wait_exceeded'], format: 'teams', waitAboveMinutes: 15 }, USERS.admin)).body;
    const res = await t.api('GET', '/v1/groups/finance/webhooks', undefined, USERS.financeLead);
    expect(res.status).toBe(200);
    expect(res.body.webhooks).toContainEqual({
      id: created.id, url: 'https://hooks.example.com/list', events: ['queue.wait_exceeded'], format: 'teams', waitAboveMinutes: 15, source: 'api', createdBy: USERS.admin,
      createdAt: expect.any(String), health: { lastSuccessAt: null, lastFailureAt: null, failing: 0 },
    });
    expect(JSON.stringify(res.body)).not.toContain('whsec_');
  });

  test('a co-owner deletes one: 204, and it is gone; a second delete is 404; both changes are in the audit trail', async () => {
    const { id } = (await create({ url: 'https://hooks.example.com/gone', events: ['run.failed'], format: 'json' })).body;
    expect((await t.api('DELETE', `/v1/groups/finance/webhooks/${id}`, undefined, USERS.financeLead)).status).toBe(204);
    const trail = (await t.api('GET', '/v1/groups/finance/audit', undefined, USERS.financeLead)).body.records.filter((r: { before: { id?: string }; after: { id?: string } }) => r.before.id === id || r.after.id === id);
    expect(trail.map((r: { action: string; actor: string }) => [r.action, r.actor])).toEqual([['webhook-delete', USERS.financeLead], ['webhook-create', USERS.financeLead]]);
    expect((await t.api('GET', '/v1/groups/finance/webhooks', undefined, USERS.financeLead)).body.webhooks.map((w: { id: string }) => w.id)).not.toContain(id);
    expect((await t.api('DELETE', `/v1/groups/finance/webhooks/${id}`, undefined, USERS.financeLead)).body.error.code).toBe('webhook_not_found');
  });

  test('a webhook the manifest declares is listed, and can be deleted only there', async () => {
    const declared = (await t.api('GET', '/v1/groups/finance/webhooks', undefined, USERS.admin)).body.webhooks.find((w: { source: string }) => w.source === 'manifest');
    expect(declared).toMatchObject({ id: expect.stringMatching(/^whm_[0-9a-f]{24}$/), url: 'https://hooks.example.com/declared', events: ['group.provisioning_error'], createdBy: 'manifest' });
    const res = await t.api('DELETE', `/v1/groups/finance/webhooks/${declared.id}`, undefined, USERS.admin);
    expect([res.status, res.body.error.code]).toEqual([409, 'declared_in_manifest']);
  });

  test('a plain user of the group gets 403, a user of another group 404', async () => {
    const plain = await create({ url: 'https://hooks.example.com/in', events: ['run.failed'], format: 'json' }, USERS.financeClerk);
    expect([plain.status, plain.body.error]).toEqual([403, { code: 'forbidden', message: 'only co-owners of group finance may manage its webhooks' }]);
    expect((await t.api('GET', '/v1/groups/finance/webhooks', undefined, USERS.financeClerk)).status).toBe(403);
    expect((await create({ url: 'https://hooks.example.com/in', events: ['run.failed'], format: 'json' }, USERS.salesRep)).status).toBe(404);
  });

  describe('rotating a secret', () => {
    const rotate = (id: string, body?: unknown, as: string = USERS.financeLead, group = 'finance') => t.api('POST', `/v1/groups/${group}/webhooks/${id}/rotate-secret`, body, as);

    test('a co-owner rotates one: 200, a new secret shown once, the old one signing for 24 hours more, the same ID', async () => {
      const created = (await create({ url: 'https://hooks.example.com/rotate', events: ['run.failed'], format: 'json' })).body;
      const before = Date.now();
      const res = await rotate(created.id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: created.id, secret: expect.stringMatching(/^whsec_/), previousSecretSignsUntil: expect.any(String) });
      expect(res.body.secret).not.toBe(created.secret);
      expect(Date.parse(res.body.previousSecretSignsUntil)).toBeGreaterThanOrEqual(before + 24 * 3_600_000);
      expect((await t.api('GET', '/v1/groups/finance/webhooks', undefined, USERS.financeLead)).body.webhooks.map((w: { id: string }) => w.id)).toContain(created.id);
    });

    test('revokePreviousNow ends the old secret at once: no time until which it signs', async () => {
      const { id } = (await create({ url: 'https://hooks.example.com/revoke', events: ['run.failed'], format: 'json' })).body;
      const res = await rotate(id, { revokePreviousNow: true });
      expect([res.status, res.body.previousSecretSignsUntil]).toEqual([200, null]);
    });

    test('a body with another field, or revokePreviousNow not a boolean, is refused with 400, naming it', async () => {
      const { id } = (await create({ url: 'https://hooks.example.com/bad-rotate', events: ['run.failed'], format: 'json' })).body;
      expect((await rotate(id, { revoke: true })).body.error.message).toMatch(/^revoke: unknown field/);
      expect((await rotate(id, { revokePreviousNow: 'yes' })).body.error.message).toMatch(/^revokePreviousNow: must be true or false/);
    });

    test('a plain user of the group gets 403, a user of another group 404, a stranger 401', async () => {
      const { id } = (await create({ url: 'https://hooks.example.com/rotate-access', events: ['run.failed'], format: 'json' })).body;
      const plain = await rotate(id, undefined, USERS.financeClerk);
      expect([plain.status, plain.body.error]).toEqual([403, { code: 'forbidden', message: 'only co-owners of group finance may manage its webhooks' }]);
      expect((await rotate(id, undefined, USERS.salesRep)).status).toBe(404);
      expect((await t.api('POST', `/v1/groups/finance/webhooks/${id}/rotate-secret`, undefined, '', { authorization: '' })).status).toBe(401);
    });

    test("another group's subscription, or none, is 404 webhook_not_found", async () => {
      const sales = await t.api('POST', '/v1/groups/sales/webhooks', { url: 'https://hooks.example.com/sales', events: ['run.failed'], format: 'json' }, USERS.admin);
      expect(sales.status).toBe(201);
      for (const id of [sales.body.id, 'wh_000000000000000000000000']) {
        const res = await rotate(id);
        expect([res.status, res.body.error.code, res.body.error.message]).toEqual([404, 'webhook_not_found', `group finance has no webhook ${id}`]);
      }
    });

    test('a webhook the manifest declares is refused with 409: its secret is rotated in Key Vault', async () => {
      const declared = (await t.api('GET', '/v1/groups/finance/webhooks', undefined, USERS.admin)).body.webhooks.find((w: { source: string }) => w.source === 'manifest');
      const res = await rotate(declared.id, undefined, USERS.admin);
      expect([res.status, res.body.error.code]).toEqual([409, 'declared_in_manifest']);
      expect(res.body.error.message).toMatch(/set a new version of that secret there instead \(README, Rotating secrets\)/);
    });

    test('the rotation is in the audit trail by fingerprints, never a secret', async () => {
      const { id } = (await create({ url: 'https://hooks.example.com/rotate-audit', events: ['run.failed'], format: 'json' })).body;
      await rotate(id);
      const trail = (await t.api('GET', '/v1/groups/finance/audit', undefined, USERS.financeLead)).body.records.filter((r: { after: { id?: string } }) => r.after.id === id);
      expect(trail.map((r: { action: string; actor: string; via: string }) => [r.action, r.actor, r.via])).toEqual([['webhook-rotate-secret', USERS.financeLead, 'api'], ['webhook-create', USERS.financeLead, 'api']]);
      expect(trail[0].after).toEqual({ id, url: 'https://hooks.example.com/rotate-audit', secret: expect.stringMatching(/^sha256:[0-9a-f]{12}$/), previousSecret: trail[0].before.secret, secretReplacedAt: expect.any(Number) });
      expect(JSON.stringify(trail)).not.toContain('whsec_');
    });

    /** The next run.succeeded delivery at `path` after a run of the group, as received. */
    async function deliveryAfterARun(path: string) {
      await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05 } }, USERS.financeClerk);
      return eventually(`a delivery at ${path}`, () => receiver.received.find((r) => r.path === path), 30_000);
    }
    const verifies = (secret: string, received: { body: string; headers: Record<string, string> }) => {
      try {
        new Webhook(secret).verify(received.body, received.headers);
        return true;
      } catch {
        return false;
      }
    };

    test('after a rotation a delivery verifies with the new secret and with the old one', async () => {
      const { id, secret: old } = (await create({ url: receiver.url('/rotated'), events: ['run.succeeded'], format: 'json' })).body;
      const { secret } = (await rotate(id)).body;
      const received = await deliveryAfterARun('/rotated');
      expect([verifies(secret, received), verifies(old, received)]).toEqual([true, true]);
    }, 40_000);

    test('after a rotation that revoked the old secret a delivery verifies with the new secret only', async () => {
      const { id, secret: old } = (await create({ url: receiver.url('/revoked'), events: ['run.succeeded'], format: 'json' })).body;
      const { secret } = (await rotate(id, { revokePreviousNow: true })).body;
      const received = await deliveryAfterARun('/revoked');
      expect([verifies(secret, received), verifies(old, received)]).toEqual([true, false]);
    }, 40_000);

    test('a second rotation within the grace period keeps only the latest previous secret: the first one no longer verifies', async () => {
      const { id, secret: first } = (await create({ url: receiver.url('/twice'), events: ['run.succeeded'], format: 'json' })).body;
      const { secret: second } = (await rotate(id)).body;
      const { secret: third } = (await rotate(id)).body;
      const received = await deliveryAfterARun('/twice');
      expect([verifies(third, received), verifies(second, received), verifies(first, received)]).toEqual([true, true, false]);
    }, 40_000);
  });

  test.each([
    [{ events: ['run.failed'], format: 'json' }, 400, /^url: must be an http:\/\/ or https:\/\/ URL/],
    [{ url: 'https://h.example.com', events: [], format: 'json' }, 400, /^events: must name at least one event type/],
    [{ url: 'https://h.example.com', events: ['run.exploded'], format: 'json' }, 400, /^events\.0: must be one of run\.succeeded, /],
    [{ url: 'https://h.example.com', events: ['run.failed', 'run.failed'], format: 'json' }, 400, /^events: must not name an event twice/],
    [{ url: 'https://h.example.com', events: ['run.failed'], format: 'xml' }, 400, /^format: must be one of json, teams/],
    [{ url: 'https://h.example.com', events: ['queue.wait_exceeded'], format: 'json' }, 400, /^waitAboveMinutes: is required with the event queue\.wait_exceeded/],
    [{ url: 'https://h.example.com', events: ['run.failed'], format: 'json', waitAboveMinutes: 5 }, 400, /^waitAboveMinutes: applies to queue\.wait_exceeded only/],
    [{ url: 'https://h.example.com', events: ['queue.wait_exceeded'], format: 'json', waitAboveMinutes: 0 }, 400, /^waitAboveMinutes: must be more than 0/],
    [{ url: 'https://h.example.com', events: ['run.failed'], format: 'json', secret: 'mine' }, 400, /secret: unknown field/],
    [{ url: 'http://hooks.example.com/in', events: ['run.failed'], format: 'json' }, 422, /^url: must use https/],
    [{ url: 'https://127.0.0.1/in', events: ['run.failed'], format: 'json' }, 422, /^url: 127\.0\.0\.1 is a loopback address/],
    [{ url: 'https://169.254.169.254/metadata', events: ['run.failed'], format: 'json' }, 422, /^url: 169\.254\.169\.254 is a cloud metadata address/],
  ])('%j is refused with %i, naming the field', async (body, status, message) => {
    const res = await create(body);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });

  test('a finished run reaches the receiver, signed with the subscription secret, as GET /v1/runs/{id} shows it with inputs and output null', async () => {
    const { secret } = (await create({ url: receiver.url('/runs'), events: ['run.succeeded'], format: 'json' })).body;
    const run = (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05, account: 'private' } }, USERS.financeClerk)).body;
    const received = await eventually('the webhook', () => receiver.received.find((r) => r.path === '/runs'), 30_000);
    const event = new Webhook(secret).verify(received.body, received.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
    const shown = (await t.api('GET', `/v1/runs/${run.id}`, undefined, USERS.financeClerk)).body;
    expect(event).toEqual({ type: 'run.succeeded', timestamp: expect.any(String), data: { ...shown, inputs: null, result: { ...shown.result, output: null } } });
    expect(webhookEventSchema.safeParse(event).success).toBe(true);
    expect(received.body).not.toContain('private');
  }, 40_000);

  test("a failing delivery shows on the group's page for a co-owner, not for a plain user, and in the metrics", async () => {
    const failing = await startReceiver();
    try {
      failing.failNext(1_000);
      await create({ url: failing.url('/failing'), events: ['run.failed', 'run.succeeded'], format: 'teams' });
      await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 0.05 } }, USERS.financeClerk);
      const listed = await eventually('a failure in the list', async () =>
        (await t.api('GET', '/v1/groups/finance/webhooks', undefined, USERS.financeLead)).body.webhooks.find((w: { url: string; health: { failing: number } }) => w.url.endsWith('/failing') && w.health.failing > 0),
      30_000);
      expect(listed.health).toEqual({ lastSuccessAt: null, lastFailureAt: expect.any(String), failing: 1 });

      const page = async (who: string) => (await fetch(`${t.fleet.url}/groups/finance`, { headers: { cookie: (await dashboardSession(t, who)).cookie } })).text();
      const lead = await page(USERS.financeLead);
      expect(lead).toMatch(/<tr data-delivery="msg_[0-9a-f]{24}"><td>run\.succeeded<\/td>.*<td>retrying<\/td>.*answered 503: try later/s);
      expect(await page(USERS.financeClerk)).not.toContain('data-testid="webhooks"');

      const metrics = await (await fetch(`${t.fleet.url}/metrics`, { headers: { authorization: 'Bearer metrics-token' } })).text();
      expect(metrics).toMatch(/^hosted_bots_webhook_deliveries_total\{result="retry"\} [1-9]/m);
      expect(metrics).toMatch(/^hosted_bots_webhook_failing\{group="finance"\} 1$/m);
    } finally {
      await failing.close();
    }
  }, 40_000);
});
