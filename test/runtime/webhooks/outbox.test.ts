/**
 * The outbox against a real local receiver, on both stores: signatures the reference
 * implementation verifies, retries with backoff on an injected clock, giving up after a day and
 * more, a restart in the middle of a backlog, the defaults README states (a two-minute lease, a
 * catch-up every minute), destinations whose names resolve to refused addresses, the
 * queue-wait alert once per episode, and a rotated secret's grace period (both signatures, then
 * the new one alone).
 *
 * The PostgreSQL half runs when BOTS_TEST_PG_URL is set (e.g.
 * postgresql://postgres@127.0.0.1:5432/test), as the store tests do.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import { SqliteStore } from '../../../runtime/store/sqlite';
import { PostgresStore } from '../../../runtime/store/postgres';
import type { Store } from '../../../runtime/store/types';
import { newId } from '../../../runtime/store/ids';
import type { WebhookEventType } from '../../../runtime/domain/webhook';
import { GIVE_UP_AFTER_MS, SECRET_ROTATION_GRACE_MS } from '../../../runtime/domain/webhook';
import { deliver } from '../../../runtime/webhooks/deliver';
import { AddressGuard } from '../../../runtime/webhooks/address-guard';
import { DEFAULT_CATCH_UP_MS, DEFAULT_LEASE_MS, DeliveryResult, OutboxOptions, WebhookOutbox } from '../../../runtime/webhooks/outbox';
import { newSecret } from '../../../runtime/webhooks/signing';
import { receiverGuard, startReceiver, WebhookReceiver } from '../../helpers/webhook-receiver';
import { queueWaitEventSchema } from '../../../runtime/api/webhook-schemas';

interface StoreHandle {
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

const sqlite = (): StoreHandle => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outbox-'));
  return { open: async () => new SqliteStore({ file: path.join(dir, 'runtime.db') }), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
};

const pgUrl = process.env.BOTS_TEST_PG_URL;
const postgres = (): StoreHandle => {
  const schema = `hb_test_${randomBytes(6).toString('hex')}`;
  return {
    open: () => PostgresStore.open({ connectionString: pgUrl!, schema, poolSize: 4 }),
    cleanup: async () => {
      const admin = new Pool({ connectionString: pgUrl, max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
};

const stores: Array<[string, () => StoreHandle]> = [['sqlite', sqlite]];
if (pgUrl) stores.push(['postgres', postgres]);
else process.stderr.write('outbox tests on PostgreSQL were skipped: set BOTS_TEST_PG_URL, e.g. postgresql://postgres@127.0.0.1:5432/test\n');

const VMSS = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'vmss' };

describe.each(stores)('webhook outbox on %s', (_name, makeHandle) => {
  let handle: StoreHandle;
  let store: Store;
  let receiver: WebhookReceiver;
  /** The injected clock; close to real time, because receivers refuse timestamps more than 5 minutes off. */
  let clock: number;
  let secret: string;
  const results: DeliveryResult[] = [];

  const outbox = (options: Partial<OutboxOptions> = {}) =>
    new WebhookOutbox({ store, guard: receiverGuard(), now: () => clock, random: () => 0.5, observe: (r) => results.push(r), ...options });

  async function subscribe(events: WebhookEventType[] = ['run.succeeded', 'run.failed'], waitAboveMinutes?: number) {
    const id = `wh_${randomBytes(12).toString('hex')}`;
    await store.webhooks.createSubscription({ id, group: 'finance', url: receiver.url(), events, format: 'json', secret, waitAboveMinutes, source: 'api', createdBy: 'lead', createdAt: clock });
    return id;
  }

  /**
   * Checks a received request with the reference implementation, and returns its event. The
   * receiver's clock is the injected one, so its 5-minute timestamp check applies to it.
   */
  const verified = (i: number) => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(clock);
    try {
      return new Webhook(secret).verify(receiver.received[i].body, receiver.received[i].headers) as { type: string; data: { id: string } };
    } finally {
      now.mockRestore();
    }
  };

  /** Whether a receiver holding `key` accepts the i-th request, by the reference implementation, on the injected clock. */
  const accepts = (key: string, i: number) => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(clock);
    try {
      new Webhook(key).verify(receiver.received[i].body, receiver.received[i].headers);
      return true;
    } catch {
      return false;
    } finally {
      now.mockRestore();
    }
  };

  beforeEach(async () => {
    handle = makeHandle();
    store = await handle.open();
    await store.syncGroups([{ name: 'finance', vmss: VMSS }], Date.now());
    receiver = await startReceiver();
    clock = Date.now();
    secret = newSecret();
    results.length = 0;
  });

  afterEach(async () => {
    await store?.close();
    await receiver?.close();
    await handle?.cleanup();
  });

  test('an event reaches the receiver signed as the specification says, and the reference implementation verifies it', async () => {
    await subscribe();
    const o = outbox();
    expect(await o.publish('finance', 'run.succeeded', 'run_1', { id: 'run_1', group: 'finance' })).toBe(1);
    expect(await o.drain()).toBe(1);
    expect(receiver.received).toHaveLength(1);
    expect(verified(0)).toEqual({ type: 'run.succeeded', timestamp: new Date(clock).toISOString(), data: { id: 'run_1', group: 'finance' } });
    expect(receiver.received[0].headers['webhook-id']).toMatch(/^msg_[0-9a-f]{24}$/);
    expect(receiver.received[0].host).toBe(`receiver.test:${receiver.port}`);
    expect(results).toEqual(['delivered']);
  });

  test('only subscriptions of the group that want the event type get it', async () => {
    await subscribe(['run.failed']);
    const o = outbox();
    expect(await o.publish('finance', 'run.succeeded', 'run_1', {})).toBe(0);
    expect(await o.publish('sales', 'run.failed', 'run_2', {})).toBe(0);
    expect(await o.drain()).toBe(0);
    expect(receiver.received).toEqual([]);
  });

  test('a failing receiver gets the same message again after 5 s, then 10 s, until it takes it', async () => {
    await subscribe();
    receiver.failNext(2);
    const o = outbox();
    await o.publish('finance', 'run.failed', 'run_1', { id: 'run_1' });
    await o.drain();
    expect(receiver.received).toHaveLength(1);
    expect(await o.drain()).toBe(0);
    clock += 5_000;
    await o.drain();
    expect(receiver.received).toHaveLength(2);
    clock += 9_999;
    expect(await o.drain()).toBe(0);
    clock += 1;
    await o.drain();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (let i = 0; i < 3; i++) expect(verified(i).data.id).toBe('run_1');
    expect(results).toEqual(['retry', 'retry', 'delivered']);
    const [subscription] = await store.webhooks.subscriptions('finance');
    expect(subscription.health).toEqual({ lastSuccessAt: clock, lastFailureAt: clock - 10_000, failing: 0 });
  });

  describe('a declared webhook whose secret was rotated', () => {
    const id = 'whm_000000000000000000000001';
    let previous: string;

    beforeEach(async () => {
      previous = secret;
      await store.webhooks.syncDeclaredSubscriptions(
        [{ id, group: 'finance', url: receiver.url(), events: ['run.failed'], format: 'json', secret: previous, source: 'manifest', createdBy: 'manifest', createdAt: clock }],
        clock,
      );
      secret = newSecret();
      await store.webhooks.rotateDeclaredSecrets([{ id, secret }], clock);
    });

    test('during the grace period each delivery carries both signatures: receivers holding the old secret and the new one both accept it', async () => {
      const o = outbox();
      clock += SECRET_ROTATION_GRACE_MS - 60_000;
      await o.publish('finance', 'run.failed', 'run_1', { id: 'run_1' });
      expect(await o.drain()).toBe(1);
      expect(receiver.received[0].headers['webhook-signature'].split(' ')).toHaveLength(2);
      expect(accepts(secret, 0)).toBe(true);
      expect(accepts(previous, 0)).toBe(true);
      expect(accepts(newSecret(), 0)).toBe(false);
    });

    test('after the grace period only the new secret signs: a receiver still on the old one rejects the delivery', async () => {
      const o = outbox();
      clock += SECRET_ROTATION_GRACE_MS;
      await o.publish('finance', 'run.failed', 'run_1', { id: 'run_1' });
      expect(await o.drain()).toBe(1);
      expect(receiver.received[0].headers['webhook-signature'].split(' ')).toHaveLength(1);
      expect(accepts(secret, 0)).toBe(true);
      expect(accepts(previous, 0)).toBe(false);
    });

    test('a retry after the grace period ended is signed with the new secret only, though its first attempt carried both', async () => {
      receiver.failNext(1);
      const o = outbox();
      await o.publish('finance', 'run.failed', 'run_1', { id: 'run_1' });
      await o.drain();
      // Checked now: receivers refuse a timestamp more than 5 minutes off their clock.
      expect([accepts(previous, 0), accepts(secret, 0)]).toEqual([true, true]);
      clock += SECRET_ROTATION_GRACE_MS;
      await o.drain();
      expect(receiver.received).toHaveLength(2);
      expect([accepts(previous, 1), accepts(secret, 1)]).toEqual([false, true]);
    });
  });

  test('a secret that cannot sign (a vault value set by hand) fails the attempt, and the delivery is retried', async () => {
    secret = 'not-a-standard-webhooks-secret';
    await subscribe();
    const o = outbox();
    await o.publish('finance', 'run.failed', 'run_1', {});
    expect(await o.drain()).toBe(1);
    expect(receiver.received).toEqual([]);
    expect(results).toEqual(['retry']);
    expect((await store.webhooks.deliveries({ group: 'finance', limit: 1 }))[0]).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/must start with whsec_/) });
  });

  test('a receiver that keeps failing is tried for more than 24 hours, then the delivery is kept as failed', async () => {
    await subscribe();
    receiver.failNext(1_000);
    const o = outbox();
    const start = clock;
    await o.publish('finance', 'run.failed', 'run_1', {});
    for (let step = 0; step < 200 && (await store.webhooks.deliveries({ group: 'finance', states: ['pending'], limit: 1 })).length > 0; step++) {
      await o.drain();
      clock += 15 * 60_000;
    }
    const [failed] = await store.webhooks.deliveries({ group: 'finance', limit: 10 });
    expect(failed).toMatchObject({ state: 'failed', lastError: 'answered 503: try later' });
    expect(failed.finishedAt! - start).toBeGreaterThanOrEqual(Math.max(GIVE_UP_AFTER_MS, 24 * 3_600_000));
    expect(results[results.length - 1]).toBe('failed');
    expect((await store.webhooks.subscriptions('finance'))[0].health.failing).toBe(1);
  });

  test('a restart in the middle of a backlog loses nothing, and sends again only the delivery that was in flight', async () => {
    await subscribe();
    const first = outbox({ holder: 'before-restart', batch: 1, concurrency: 1, leaseMs: 60_000,
      // The receiver gets the first attempt, and the runtime dies before it records the answer.
      send: (request) => deliver(request, { guard: receiverGuard() }).then(() => new Promise(() => undefined)) });
    for (let i = 1; i <= 5; i++) await first.publish('finance', 'run.succeeded', `run_${i}`, { id: `run_${i}` });
    void first.deliverDue();
    while (receiver.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const inFlight = receiver.received[0].headers['webhook-id'];
    const inFlightRun = verified(0).data.id;
    await store.close();

    store = await handle.open();
    const second = outbox({ holder: 'after-restart', leaseMs: 60_000 });
    expect(await second.drain()).toBe(4);
    // The dead runtime's lease runs out, and the delivery it had in flight goes again.
    clock += 60_001;
    expect(await second.drain()).toBe(1);
    expect(await second.drain()).toBe(0);

    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(5);
    expect(ids.filter((id) => id === inFlight)).toHaveLength(2);
    expect(receiver.received.map((_, i) => verified(i).data.id).sort()).toEqual(['run_1', 'run_2', 'run_3', 'run_4', 'run_5', inFlightRun].sort());
  });

  test('a queue waiting longer than the threshold alerts once per episode', async () => {
    await subscribe(['queue.wait_exceeded'], 10);
    const o = outbox();
    const enqueue = () => store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice', inputs: {}, priority: 'normal', createdBy: 'ana', timeoutMinutes: 30, now: clock });
    const run = await enqueue();
    await o.checkWaits();
    clock += 10 * 60_000 + 1;
    await o.checkWaits();
    clock += 60_000;
    await o.checkWaits();
    await o.drain();
    expect(receiver.received).toHaveLength(1);
    expect(verified(0)).toMatchObject({ type: 'queue.wait_exceeded', data: { group: 'finance', queued: 1, thresholdMinutes: 10, waitMinutes: 10 } });
    // As the OpenAPI document describes it.
    expect(queueWaitEventSchema.safeParse(verified(0)).error).toBeUndefined();
    // The run leaves the queue: the episode ends, and the next long wait is a new one.
    await store.cancel((run as { run: { id: string } }).run.id, clock, { id: 'lead', via: 'api' });
    await o.checkWaits();
    await enqueue();
    clock += 10 * 60_000 + 1;
    await o.checkWaits();
    await o.drain();
    expect(receiver.received).toHaveLength(2);
  });

  test('a run that finished without its event queued (the runtime died in between) is caught up once; one from before the subscription is not', async () => {
    const o = outbox({ runData: (run) => ({ id: run.id, state: run.state }) });
    const cancelled = async () => {
      const queued = (await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice', inputs: {}, priority: 'normal', createdBy: 'ana', timeoutMinutes: 30, now: clock })) as { run: { id: string } };
      await store.cancel(queued.run.id, clock, { id: 'ana', via: 'api' });
      return queued.run.id;
    };
    await cancelled();
    clock += 1000;
    await subscribe(['run.cancelled']);
    clock += 1000;
    const missed = await cancelled();
    expect(await o.catchUp()).toBe(1);
    expect(await o.catchUp()).toBe(0);
    await o.drain();
    expect(receiver.received).toHaveLength(1);
    expect(verified(0)).toEqual({ type: 'run.cancelled', timestamp: new Date(clock).toISOString(), data: { id: missed, state: 'cancelled' } });
  });

  test('a run whose event the runtime queued is not queued again by the catch-up', async () => {
    await subscribe(['run.cancelled']);
    const o = outbox({ runData: (run) => ({ id: run.id }) });
    const queued = (await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice', inputs: {}, priority: 'normal', createdBy: 'ana', timeoutMinutes: 30, now: clock })) as { run: { id: string } };
    await store.cancel(queued.run.id, clock, { id: 'ana', via: 'api' });
    expect(await o.publish('finance', 'run.cancelled', queued.run.id, { id: queued.run.id })).toBe(1);
    expect(await o.catchUp()).toBe(0);
  });
  test('by default a delivery held by a sender that died is not sent again before its two-minute lease runs out', async () => {
    expect(DEFAULT_LEASE_MS).toBe(2 * 60_000);
    await subscribe();
    // Built without a lease: it claims with the default, makes the attempt and dies before recording the answer.
    const dead = outbox({ holder: 'dead', send: (request) => deliver(request, { guard: receiverGuard() }).then(() => new Promise(() => undefined)) });
    await dead.publish('finance', 'run.succeeded', 'run_1', { id: 'run_1' });
    void dead.deliverDue();
    while (receiver.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const next = outbox({ holder: 'next' });
    // Held until two minutes after the claim, that moment included.
    clock += 2 * 60_000;
    expect(await next.drain()).toBe(0);
    clock += 1;
    expect(await next.drain()).toBe(1);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([receiver.received[0].headers['webhook-id'], receiver.received[0].headers['webhook-id']]);
  });

  test('by default the loop catches up on runs whose event was not queued once a minute', async () => {
    expect(DEFAULT_CATCH_UP_MS).toBe(60_000);
    await subscribe(['run.cancelled']);
    const o = outbox({ runData: (run) => ({ id: run.id }) });
    await o.tick();
    const queued = (await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice', inputs: {}, priority: 'normal', createdBy: 'ana', timeoutMinutes: 30, now: clock })) as { run: { id: string } };
    // Cancelled without its event queued, as by a runtime that died in between.
    await store.cancel(queued.run.id, clock, { id: 'ana', via: 'api' });
    clock += 60_000 - 1;
    await o.tick();
    expect(receiver.received).toEqual([]);
    clock += 1;
    await o.tick();
    expect(receiver.received).toHaveLength(1);
    expect(verified(0)).toMatchObject({ type: 'run.cancelled', data: { id: queued.run.id } });
  });

  test.each([
    ['169.254.169.254', /hooks\.example\.test \(169\.254\.169\.254\) is a cloud metadata address; webhooks go to public addresses only/],
    ['127.0.0.1', /hooks\.example\.test \(127\.0\.0\.1\) is a loopback address; webhooks go to public addresses only/],
  ])('a destination whose name resolves to %s is never reached: the delivery is retried with backoff and shows as failing', async (address, refusal) => {
    // The name resolves to the refused address, and the receiver listens there (on 127.0.0.1) in case the guard let it through.
    const guard = new AddressGuard({ resolve: async (host) => (host === 'hooks.example.test' ? [{ address, family: 4 }] : []) });
    const id = `wh_${randomBytes(12).toString('hex')}`;
    await store.webhooks.createSubscription({ id, group: 'finance', url: `https://hooks.example.test:${receiver.port}/hook`, events: ['run.failed'], format: 'json', secret, source: 'api', createdBy: 'lead', createdAt: clock });
    const o = outbox({ guard });
    const start = clock;
    await o.publish('finance', 'run.failed', 'run_1', { id: 'run_1' });
    expect(await o.drain()).toBe(1);
    expect((await store.webhooks.deliveries({ group: 'finance', limit: 1 }))[0]).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: start + 5_000, lastError: expect.stringMatching(refusal) });
    clock += 4_999;
    expect(await o.drain()).toBe(0);
    clock += 1;
    expect(await o.drain()).toBe(1);
    expect((await store.webhooks.deliveries({ group: 'finance', limit: 1 }))[0]).toMatchObject({ state: 'pending', attempts: 2, nextAttemptAt: clock + 10_000, lastError: expect.stringMatching(refusal) });
    expect(results).toEqual(['retry', 'retry']);
    expect((await store.webhooks.subscriptions('finance'))[0].health).toEqual({ lastFailureAt: clock, failing: 1 });
    expect(receiver.received).toEqual([]);
  });
});
