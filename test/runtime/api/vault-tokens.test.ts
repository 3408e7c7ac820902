/**
 * The admin and metrics tokens the runtime keeps in its Key Vault: created when missing, kept when
 * present, rotated by a new version, and retried while the vault cannot be reached.
 */
import { createHash } from 'crypto';
import type { SecretStore } from '../../../runtime/azure/key-vault';
import { VAULT_ADMIN_PRINCIPAL, VaultTokens } from '../../../runtime/api/vault-tokens';
import { Authenticator } from '../../../runtime/http/auth';
import { parseManifest } from '../../../runtime/config/manifest';
import { oneGroupManifest } from '../../helpers/manifest';

/** A store in memory whose failures a test can switch on. */
class MemoryStore implements SecretStore {
  readonly values = new Map<string, string>();
  failure?: Error & { statusCode?: number };
  sets = 0;
  async get(name: string) {
    if (this.failure) throw this.failure;
    return this.values.get(name);
  }
  async set(name: string, value: string) {
    if (this.failure) throw this.failure;
    this.sets++;
    this.values.set(name, value);
  }
}

const sha = (v: string) => createHash('sha256').update(v).digest('hex');

describe('VaultTokens', () => {
  test('creates a missing admin token in the vault and accepts it as an environment admin', async () => {
    const store = new MemoryStore();
    const tokens = new VaultTokens({ store, generate: () => 'generated-admin-token' });
    await tokens.refresh();
    expect(store.values.get('runtime-admin-token')).toBe('generated-admin-token');
    expect(tokens.users()).toEqual([{ principal: VAULT_ADMIN_PRINCIPAL, sha256: sha('generated-admin-token'), admin: true }]);
  });

  test('keeps a token the vault already holds: nothing is written', async () => {
    const store = new MemoryStore();
    store.values.set('runtime-admin-token', 'existing');
    const tokens = new VaultTokens({ store });
    await tokens.refresh();
    expect(store.sets).toBe(0);
    expect(tokens.users()[0].sha256).toBe(sha('existing'));
  });

  test('the metrics token is kept only when asked for, under its secret name', async () => {
    const store = new MemoryStore();
    const without = new VaultTokens({ store, generate: () => 'x' });
    await without.refresh();
    expect(without.metrics()).toBeUndefined();
    expect([...store.values.keys()]).toEqual(['runtime-admin-token']);
    const withMetrics = new VaultTokens({ store, metricsSecret: 'runtime-metrics-token', generate: () => 'metrics-value' });
    await withMetrics.refresh();
    expect(withMetrics.metrics()).toBe('metrics-value');
  });

  test('a new version set in the vault replaces the old token at the next refresh: the old one is refused', async () => {
    const store = new MemoryStore();
    store.values.set('runtime-admin-token', 'old-token');
    const tokens = new VaultTokens({ store });
    await tokens.refresh();
    const auth = new Authenticator(parseManifest(oneGroupManifest({ maxBots: 1 }), { source: 'test' }), [], undefined, () => tokens.users());
    await expect(auth.authenticate('Bearer old-token')).resolves.toMatchObject({ kind: 'user', id: VAULT_ADMIN_PRINCIPAL, admin: true });
    store.values.set('runtime-admin-token', 'new-token');
    await tokens.refresh();
    await expect(auth.authenticate('Bearer old-token')).resolves.toBeUndefined();
    await expect(auth.authenticate('Bearer new-token')).resolves.toMatchObject({ id: VAULT_ADMIN_PRINCIPAL });
  });

  test('a vault it cannot read is logged with what to check, the last known token stays, and the next refresh recovers', async () => {
    const store = new MemoryStore();
    store.values.set('runtime-admin-token', 'known');
    const events: Array<[string, Record<string, unknown> | undefined]> = [];
    const tokens = new VaultTokens({ store, log: (event, fields) => events.push([event, fields]) });
    await tokens.refresh();
    store.failure = Object.assign(new Error('Forbidden'), { statusCode: 403 });
    await tokens.refresh();
    expect(events).toEqual([
      ['vault.secret_failed', expect.objectContaining({ secret: 'runtime-admin-token', status: 403, message: expect.stringMatching(/Key Vault Secrets Officer role.*retrying every 60 s/) })],
    ]);
    expect(tokens.users()[0].sha256).toBe(sha('known'));
    store.failure = undefined;
    store.values.set('runtime-admin-token', 'later');
    await tokens.refresh();
    expect(tokens.users()[0].sha256).toBe(sha('later'));
  });

  test('before the vault ever answered, there is no admin token to match', async () => {
    const store = new MemoryStore();
    store.failure = Object.assign(new Error('getaddrinfo ENOTFOUND'), {});
    const tokens = new VaultTokens({ store, log: () => undefined });
    await tokens.refresh();
    expect(tokens.users()).toEqual([]);
    expect(tokens.metrics()).toBeUndefined();
  });
});
