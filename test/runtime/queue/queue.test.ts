/**
 * RunQueue.register: an agent's registration goes through the queue, which records it within the
 * caps and wakes the group's waiting claims; a refused one changes nothing and wakes no one.
 */
import { parseManifest } from '../../../runtime/config/manifest';
import { QueueNotifier } from '../../../runtime/queue/notifier';
import { RunQueue } from '../../../runtime/queue/queue';
import { botModelKeyOf } from '../../../runtime/domain/bot';
import { SqliteStore } from '../../../runtime/store/sqlite';
import { testCredential } from '../../helpers/credentials';
import { FINANCE_VMSS, oneGroupManifest } from '../../helpers/manifest';

const NOW = Date.UTC(2026, 2, 10, 9, 0);
const VMSS = FINANCE_VMSS;
const manifest = parseManifest(oneGroupManifest({ maxBots: 1 }));

describe('RunQueue.register', () => {
  let store: SqliteStore;
  let notifier: QueueNotifier;
  let changed: string[];
  let queue: RunQueue;

  beforeEach(async () => {
    store = new SqliteStore({ file: ':memory:' });
    await store.syncGroups([{ name: 'finance', vmss: VMSS }], NOW);
    notifier = new QueueNotifier();
    changed = [];
    queue = new RunQueue({ store, manifest, notifier, now: () => NOW, onChange: (group) => changed.push(group) });
  });
  afterEach(async () => store.close());

  test('records the bot with the group\'s image and the credential\'s hash, wakes waiting claims and re-plans', async () => {
    const waiting = notifier.waitForChange('finance', notifier.version('finance'), 5_000);
    const credential = testCredential();
    const result = await queue.register('finance', 'finance-vm-1', credential);
    expect(result.kind).toBe('registered');
    await expect(waiting).resolves.toBe(true);
    expect(changed).toEqual(['finance']);
    const bot = await store.botByCredential(credential);
    expect(bot).toMatchObject({ id: result.bot!.id, group: 'finance', vmName: 'finance-vm-1', imageKey: botModelKeyOf(manifest.groups[0]) });
  });

  test('a refused registration (the group is at maxBots) wakes no one and re-plans nothing', async () => {
    await queue.register('finance', 'finance-vm-1', testCredential());
    const version = notifier.version('finance');
    changed = [];
    const result = await queue.register('finance', 'finance-vm-2', testCredential());
    expect(result.kind).toBe('refused');
    expect(notifier.version('finance')).toBe(version);
    expect(changed).toEqual([]);
    expect(await store.bots('finance')).toHaveLength(1);
  });

  test('an undeclared group is refused with a 404 naming it', async () => {
    await expect(queue.register('payroll', 'payroll-vm-1', testCredential())).rejects.toMatchObject({ status: 404, code: 'group_not_found', message: expect.stringMatching(/group "payroll" does not exist/) });
  });
});
