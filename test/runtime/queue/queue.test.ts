/**
 * RunQueue.register: an agent's registration goes through the queue, which records it as the VM
 * the scaler created and wakes the group's waiting claims; a refused one changes nothing and wakes
 * no one. RunQueue.issueNonce hands out the nonces of attested data, bounded per group. The queue
 * announces what happened to runs and bots through its events.
 */
import { parseManifest } from '../../../runtime/config/manifest';
import { QueueEventHub } from '../../../runtime/queue/events';
import { QueueNotifier } from '../../../runtime/queue/notifier';
import { MAX_REGISTRATION_NONCES, REGISTRATION_NONCE_TTL_MS, RunQueue } from '../../../runtime/queue/queue';
import { botModelKeyOf } from '../../../runtime/domain/bot';
import { SqliteStore } from '../../../runtime/store/sqlite';
import { testCredential } from '../../helpers/credentials';
import { FINANCE_VMSS, oneGroupManifest } from '../../helpers/manifest';

const NOW = Date.UTC(2026, 2, 10, 9, 0);
const VMSS = FINANCE_VMSS;
const manifest = parseManifest(oneGroupManifest({ maxBots: 1 }));

/** A store that knows the manifest's one group, finance. */
async function financeStore(): Promise<SqliteStore> {
  const store = new SqliteStore({ file: ':memory:' });
  await store.syncGroups([{ name: 'finance', vmss: VMSS }], NOW);
  return store;
}

/** What the scaler does when it lists a new VM of the group. */
const listed = (store: SqliteStore, name: string) => store.bindVms('finance', [{ name }], botModelKeyOf(manifest.groups[0]), { maxBots: 1, capacity: 10 }, NOW);

describe('RunQueue.register', () => {
  let store: SqliteStore;
  let notifier: QueueNotifier;
  let changed: string[];
  let queue: RunQueue;

  beforeEach(async () => {
    store = await financeStore();
    notifier = new QueueNotifier();
    changed = [];
    queue = new RunQueue({ store, manifest, notifier, now: () => NOW, events: { groupChanged: (group) => changed.push(group) } });
  });
  afterEach(async () => store.close());

  test('records the bot with the group\'s image and the credential\'s hash, wakes waiting claims and re-plans', async () => {
    await listed(store, 'finance-vm-1');
    const waiting = notifier.waitForChange('finance', notifier.version('finance'), 5_000);
    const credential = testCredential();
    const result = await queue.register('finance', { vmName: 'finance-vm-1' }, credential);
    expect(result.kind).toBe('registered');
    await expect(waiting).resolves.toBe(true);
    expect(changed).toEqual(['finance']);
    const bot = await store.botByCredential(credential);
    expect(bot).toMatchObject({ id: result.bot!.id, group: 'finance', vmName: 'finance-vm-1', imageKey: botModelKeyOf(manifest.groups[0]) });
  });

  test('a refused registration (a VM no scale-out created) wakes no one and re-plans nothing', async () => {
    await listed(store, 'finance-vm-1');
    await queue.register('finance', { vmName: 'finance-vm-1' }, testCredential());
    const version = notifier.version('finance');
    changed = [];
    const result = await queue.register('finance', { vmName: 'finance-vm-2' }, testCredential());
    expect(result).toMatchObject({ kind: 'refused', refusal: 'vm_not_created' });
    expect(notifier.version('finance')).toBe(version);
    expect(changed).toEqual([]);
    expect(await store.bots('finance')).toHaveLength(1);
  });

  test('an undeclared group is refused with a 404 naming it', async () => {
    await expect(queue.register('payroll', { vmName: 'payroll-vm-1' }, testCredential())).rejects.toMatchObject({
      status: 404,
      code: 'group_not_found',
      message: expect.stringMatching(/group "payroll" does not exist/),
    });
  });
});

describe('RunQueue.issueNonce', () => {
  let store: SqliteStore;
  let queue: RunQueue;

  beforeEach(async () => {
    store = await financeStore();
    queue = new RunQueue({ store, manifest, notifier: new QueueNotifier(), now: () => NOW });
  });
  afterEach(async () => store.close());

  test('a nonce is 10 digits, as the metadata service takes it, and void after REGISTRATION_NONCE_TTL_MS', async () => {
    const { nonce, expiresAt } = await queue.issueNonce('finance');
    expect(nonce).toMatch(/^[0-9]{10}$/);
    expect(expiresAt).toBe(NOW + REGISTRATION_NONCE_TTL_MS);
    expect((await queue.issueNonce('finance')).nonce).not.toBe(nonce);
  });

  test('beyond MAX_REGISTRATION_NONCES unused ones, the group gets a 429 that says when to retry', async () => {
    for (let i = 0; i < MAX_REGISTRATION_NONCES; i++) await queue.issueNonce('finance');
    await expect(queue.issueNonce('finance')).rejects.toMatchObject({
      status: 429,
      code: 'too_many_nonces',
      message: `group finance holds ${MAX_REGISTRATION_NONCES} unused registration nonces, the most it may (${MAX_REGISTRATION_NONCES}); each is void ${REGISTRATION_NONCE_TTL_MS / 1000} s after it was issued: retry then`,
    });
  });
});

/** A queue over a fresh store whose one subscriber writes down what it hears, on a clock the test moves. */
async function listeningQueue() {
  const heard: string[] = [];
  const clock = { now: NOW };
  const events = new QueueEventHub();
  events.subscribe({
    runQueued: (run) => heard.push(`runQueued ${run.id}`),
    runClaimed: (run) => heard.push(`runClaimed ${run.id}`),
    runFinished: (run) => heard.push(`runFinished ${run.id} ${run.state}`),
    botRegistered: (bot) => heard.push(`botRegistered ${bot.id}`),
    botLost: (botId) => heard.push(`botLost ${botId}`),
  });
  const store = await financeStore();
  const queue = new RunQueue({ store, manifest, notifier: new QueueNotifier(), now: () => clock.now, events });
  return { store, queue, heard, clock };
}

describe('RunQueue events', () => {
  const SWEEP = { name: 'finance', queueTimeoutMs: 60 * 60_000, heartbeatTimeoutMs: 300, idleSilenceMs: 5000, maxAttempts: 2, inactiveMs: 10 * 24 * 60 * 60_000, committedBots: 0 };
  let t: Awaited<ReturnType<typeof listeningQueue>>;
  beforeEach(async () => {
    t = await listeningQueue();
  });
  afterEach(async () => t.store.close());

  const enqueue = (idempotencyKey?: string) => t.queue.enqueue({ group: 'finance', flow: 'invoice-entry', createdBy: 'ana', idempotencyKey });
  const registeredBot = async () => {
    await listed(t.store, 'finance-vm-1');
    return (await t.queue.register('finance', { vmName: 'finance-vm-1' }, testCredential())).bot!;
  };

  test('an enqueue announces the run queued once; a repeat of its idempotency key announces nothing', async () => {
    const { run } = await enqueue('key-1');
    await enqueue('key-1');
    expect(t.heard).toEqual([`runQueued ${run.id}`]);
  });

  test('a registration, a claim and a completion announce the bot registered, the run claimed and finished', async () => {
    const { run } = await enqueue();
    const bot = await registeredBot();
    await t.queue.claim(bot.id, 'finance', 0);
    await t.queue.complete({ botId: bot.id, runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0 });
    expect(t.heard).toEqual([`runQueued ${run.id}`, `botRegistered ${bot.id}`, `runClaimed ${run.id}`, `runFinished ${run.id} succeeded`]);
  });

  test('a cancel of a queued run announces it finished', async () => {
    const { run } = await enqueue();
    await t.queue.cancel(run.id, { id: 'ana', via: 'api' });
    expect(t.heard).toEqual([`runQueued ${run.id}`, `runFinished ${run.id} cancelled`]);
  });

  test('the sweep announces the bots it takes for lost', async () => {
    await enqueue();
    const bot = await registeredBot();
    await t.queue.claim(bot.id, 'finance', 0);
    t.heard.length = 0;
    t.clock.now = NOW + 1000;
    const swept = await t.queue.sweep([SWEEP], t.clock.now);
    expect(swept.lostBots).toEqual([bot.id]);
    expect(t.heard).toEqual([`botLost ${bot.id}`]);
  });

  test('the sweep announces the runs it ends', async () => {
    const { run } = await enqueue();
    t.heard.length = 0;
    await t.queue.sweep([{ ...SWEEP, queueTimeoutMs: 500 }], NOW + 1000);
    expect(t.heard).toEqual([`runFinished ${run.id} expired`]);
  });
});
