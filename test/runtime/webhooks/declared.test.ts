/**
 * The manifest's webhooks in the store: stable IDs, secrets from the vault (or kept in the store),
 * refusals; and the vault read again, so a rotated secret reaches deliveries without a restart.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SecretStore } from '../../../runtime/azure/key-vault';
import type { FleetManifest } from '../../../runtime/config/manifest';
import { SqliteStore } from '../../../runtime/store/sqlite';
import { AddressGuard } from '../../../runtime/webhooks/address-guard';
import { Webhook } from 'standardwebhooks';
import { DeclaredSecretRefresh, DeclaredSecretRefreshOptions, declaredWebhookId, defaultSecretName, syncDeclaredWebhooks } from '../../../runtime/webhooks/declared';
import { WebhookOutbox } from '../../../runtime/webhooks/outbox';
import { newSecret } from '../../../runtime/webhooks/signing';
import { receiverGuard, startReceiver, WebhookReceiver } from '../../helpers/webhook-receiver';

const T0 = 1_700_000_000_000;

/** A manifest with only what the sync reads: each group's name and webhooks. */
const manifest = (webhooks: Array<Record<string, unknown>>) => ({ groups: [{ name: 'finance', webhooks: webhooks.map((w) => ({ format: 'json', ...w })) }] }) as unknown as FleetManifest;

/** A vault in memory. */
function vault(initial: Record<string, string> = {}): SecretStore & { values: Map<string, string> } {
  const values = new Map(Object.entries(initial));
  return { values, get: async (name) => values.get(name), set: async (name, value) => void values.set(name, value) };
}

describe('syncDeclaredWebhooks', () => {
  let dir: string;
  let store: SqliteStore;
  const guard = new AddressGuard();
  const hook = { url: 'https://hooks.example.com/in', events: ['run.failed'] };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'declared-'));
    store = new SqliteStore({ file: path.join(dir, 'runtime.db') });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a declared webhook gets an ID from its group and URL, and a secret the runtime creates in the vault', async () => {
    const secrets = vault();
    await syncDeclaredWebhooks(manifest([hook]), store, guard, secrets, T0);
    const [s] = await store.webhooks.subscriptions('finance');
    expect(s).toMatchObject({ id: declaredWebhookId('finance', hook.url), source: 'manifest', createdBy: 'manifest', url: hook.url, events: ['run.failed'], format: 'json' });
    expect(s.id).toMatch(/^whm_[0-9a-f]{24}$/);
    expect(secrets.values.get(defaultSecretName('finance', hook.url))).toBe(s.secret);
    expect(s.secret).toMatch(/^whsec_/);
  });

  test('a secret already in the vault under its secretName is the one used', async () => {
    const existing = newSecret();
    await syncDeclaredWebhooks(manifest([{ ...hook, secretName: 'finance-hook' }]), store, guard, vault({ 'finance-hook': existing }), T0);
    expect((await store.webhooks.subscriptions('finance'))[0].secret).toBe(existing);
  });

  test('a vault secret that is no Standard Webhooks secret stops the sync, naming the secret', async () => {
    await expect(syncDeclaredWebhooks(manifest([{ ...hook, secretName: 'finance-hook' }]), store, guard, vault({ 'finance-hook': 'hunter2' }), T0)).rejects.toThrow(
      /^Key Vault secret finance-hook: must start with whsec_/,
    );
  });

  test('without a vault the secret is made once and kept across syncs (restarts)', async () => {
    await syncDeclaredWebhooks(manifest([hook]), store, guard, undefined, T0);
    const first = (await store.webhooks.subscriptions('finance'))[0].secret;
    await syncDeclaredWebhooks(manifest([hook]), store, guard, undefined, T0 + 1000);
    expect((await store.webhooks.subscriptions('finance'))[0]).toMatchObject({ secret: first, createdAt: T0 });
  });

  test('a webhook no longer declared goes; one made through the API stays', async () => {
    await store.webhooks.createSubscription({ id: 'wh_000000000000000000000001', group: 'finance', url: 'https://other.example.com', events: ['run.failed'], format: 'json', secret: newSecret(), source: 'api', createdBy: 'lead', createdAt: T0 });
    await syncDeclaredWebhooks(manifest([hook]), store, guard, undefined, T0);
    await syncDeclaredWebhooks(manifest([]), store, guard, undefined, T0);
    expect((await store.webhooks.subscriptions()).map((s) => s.id)).toEqual(['wh_000000000000000000000001']);
  });

  test('a declared URL the destination rules refuse stops the runtime, naming the group and the webhook', async () => {
    await expect(syncDeclaredWebhooks(manifest([{ url: 'https://169.254.169.254/x', events: ['run.failed'] }]), store, guard, undefined, T0)).rejects.toThrow(
      'group finance, webhooks[0]: 169.254.169.254 is a cloud metadata address',
    );
  });
});

describe('DeclaredSecretRefresh', () => {
  let dir: string;
  let store: SqliteStore;
  let receiver: WebhookReceiver;
  let secrets: ReturnType<typeof vault>;
  let logged: Array<[string, Record<string, unknown> | undefined]>;
  /** The clock of the refresh and the outbox; close to real time, as receivers check timestamps. */
  let clock: number;
  let hookUrl: string;
  let secretName: string;
  let original: string;

  const refresher = (options: Partial<DeclaredSecretRefreshOptions> = {}) =>
    new DeclaredSecretRefresh({ manifest: manifest([{ url: hookUrl, events: ['run.failed'] }]), store, secrets, now: () => clock, log: (event, fields) => logged.push([event, fields]), ...options });

  /** Sends one run.failed event through the outbox, and returns the request the receiver got. */
  async function deliverOne(runId: string) {
    const outbox = new WebhookOutbox({ store, guard: receiverGuard(), now: () => clock });
    expect(await outbox.publish('finance', 'run.failed', runId, { id: runId })).toBe(1);
    expect(await outbox.drain()).toBe(1);
    return receiver.received[receiver.received.length - 1];
  }

  /** Whether a receiver holding `key` accepts the request, checked by the reference implementation. */
  const accepts = (key: string, request: { body: string; headers: Record<string, string> }) => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(clock);
    try {
      new Webhook(key).verify(request.body, request.headers);
      return true;
    } catch {
      return false;
    } finally {
      now.mockRestore();
    }
  };

  const storedSecret = async () => (await store.webhooks.subscriptions('finance'))[0].secret;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'declared-refresh-'));
    store = new SqliteStore({ file: path.join(dir, 'runtime.db') });
    await store.syncGroups([{ name: 'finance', vmss: { subscriptionId: 'sub', resourceGroup: 'rg', name: 'vmss' } }], Date.now());
    receiver = await startReceiver();
    hookUrl = receiver.url();
    secretName = defaultSecretName('finance', hookUrl);
    original = newSecret();
    secrets = vault({ [secretName]: original });
    logged = [];
    clock = Date.now();
    // The start: the runtime reads the vault once before it listens.
    await syncDeclaredWebhooks(manifest([{ url: hookUrl, events: ['run.failed'] }]), store, receiverGuard(), secrets, clock);
  });

  afterEach(async () => {
    await store.close();
    await receiver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a secret changed in the vault signs deliveries after one refresh, with no restart, and the previous one still does for the grace period', async () => {
    const rotated = newSecret();
    secrets.values.set(secretName, rotated);
    expect(await refresher().refresh()).toEqual([declaredWebhookId('finance', hookUrl)]);
    const request = await deliverOne('run_1');
    expect(accepts(rotated, request)).toBe(true);
    expect(accepts(original, request)).toBe(true);
    expect(logged.map(([event]) => event)).toEqual(['webhook.secret_rotated']);
  });

  test('a refresh that finds the same secret changes nothing', async () => {
    expect(await refresher().refresh()).toEqual([]);
    const request = await deliverOne('run_1');
    expect(request.headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(accepts(original, request)).toBe(true);
  });

  test('a vault that does not answer keeps the current secret, and deliveries go on signed with it', async () => {
    secrets.get = async () => {
      throw Object.assign(new Error('connect ETIMEDOUT'), { statusCode: undefined });
    };
    expect(await refresher().refresh()).toEqual([]);
    expect(await storedSecret()).toBe(original);
    expect(accepts(original, await deliverOne('run_1'))).toBe(true);
  });

  test('a failing read is logged once per failure streak, naming the secret, and once when it reads again', async () => {
    const get = secrets.get;
    secrets.get = async () => {
      throw Object.assign(new Error('Forbidden'), { statusCode: 403 });
    };
    const r = refresher();
    for (let i = 0; i < 3; i++) await r.refresh();
    secrets.get = get;
    await r.refresh();
    await r.refresh();
    expect(logged.map(([event]) => event)).toEqual(['webhook.secret_read_error', 'webhook.secret_read_recovered']);
    expect(logged[0][1]).toMatchObject({ status: 403, message: expect.stringMatching(new RegExp(`^Key Vault secret ${secretName}: cannot be read \\(403: Forbidden\\); deliveries go on signed with the secret the runtime has`)) });
  });

  test('a vault value that is no Standard Webhooks secret keeps the current secret, and says what to set', async () => {
    secrets.values.set(secretName, 'hunter2');
    expect(await refresher().refresh()).toEqual([]);
    expect(await storedSecret()).toBe(original);
    expect(logged).toEqual([['webhook.secret_read_error', expect.objectContaining({ message: expect.stringContaining(`Key Vault secret ${secretName}: must start with whsec_`) })]]);
  });

  test('a secret deleted from the vault is not made anew by a refresh: the current one stays', async () => {
    secrets.values.delete(secretName);
    expect(await refresher().refresh()).toEqual([]);
    expect(secrets.values.has(secretName)).toBe(false);
    expect(await storedSecret()).toBe(original);
    expect(logged[0][1]).toMatchObject({ message: expect.stringContaining('missing') });
  });

  test('a store that fails the update is logged, and the next refresh stores the new secret', async () => {
    const rotate = store.webhooks.rotateDeclaredSecrets.bind(store.webhooks);
    store.webhooks.rotateDeclaredSecrets = async () => {
      throw new Error('database is locked');
    };
    const rotated = newSecret();
    secrets.values.set(secretName, rotated);
    const r = refresher();
    expect(await r.refresh()).toEqual([]);
    expect(logged.map(([event]) => event)).toEqual(['webhook.secret_store_error']);
    store.webhooks.rotateDeclaredSecrets = rotate;
    expect(await r.refresh()).toEqual([declaredWebhookId('finance', hookUrl)]);
    expect(await storedSecret()).toBe(rotated);
  });

  test('once started, it reads the vault again every refresh interval and tells the outbox', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'Date'] });
    let changes = 0;
    let told!: () => void;
    const toldOutbox = new Promise<void>((resolve) => (told = resolve));
    const r = refresher({ refreshMs: 30_000, changed: () => (changes++, told()) });
    try {
      r.start();
      const rotated = newSecret();
      secrets.values.set(secretName, rotated);
      await jest.advanceTimersByTimeAsync(29_999);
      expect(changes).toBe(0);
      expect(await storedSecret()).toBe(original);
      await jest.advanceTimersByTimeAsync(1);
      // Only the timer's pass can tell the outbox: nothing else refreshes here.
      await toldOutbox;
      expect(await storedSecret()).toBe(rotated);
    } finally {
      r.stop();
      jest.useRealTimers();
    }
  });
});
