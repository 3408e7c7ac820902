/** The manifest's webhooks in the store: stable IDs, secrets from the vault (or kept in the store), refusals. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SecretStore } from '../../../runtime/azure/key-vault';
import type { FleetManifest } from '../../../runtime/config/manifest';
import { SqliteStore } from '../../../runtime/store/sqlite';
import { AddressGuard } from '../../../runtime/webhooks/address-guard';
import { declaredWebhookId, defaultSecretName, syncDeclaredWebhooks } from '../../../runtime/webhooks/declared';
import { newSecret } from '../../../runtime/webhooks/signing';

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
