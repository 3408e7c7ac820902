/**
 * The runtime's secret store over the real Key Vault SDK, against a local vault that answers as
 * Key Vault does: the SDK's first request carries no token and gets the 401 challenge; the token
 * it then asks for is for the resource the challenge names.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { KeyVaultSim } from '../../../runtime/arm-sim';
import { keyVaultSecretStore, SecretStore } from '../../../runtime/azure/key-vault';

describe('keyVaultSecretStore', () => {
  let vault: KeyVaultSim;
  let store: SecretStore;
  const scopes: string[][] = [];
  const credential: TokenCredential = {
    getToken: async (asked: string | string[], _options?: GetTokenOptions): Promise<AccessToken> => {
      scopes.push([asked].flat());
      return { token: 'vault-token', expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };

  beforeAll(async () => {
    vault = new KeyVaultSim();
    const { url, ca } = await vault.start();
    store = keyVaultSecretStore({ vaultUrl: url, credential, ca });
  });
  afterAll(async () => vault.stop());

  test('a secret that does not exist reads as undefined', async () => {
    await expect(store.get('runtime-admin-token')).resolves.toBeUndefined();
  });

  test('asks its credential for a Key Vault token, for the resource the 401 challenge names', async () => {
    await store.get('anything');
    expect(vault.stats.challenges).toBeGreaterThanOrEqual(1);
    expect(scopes[0]).toEqual(['https://vault.azure.net/.default']);
  });

  test('a set value reads back, and a newer version set elsewhere wins', async () => {
    await store.set('runtime-metrics-token', 'first');
    await expect(store.get('runtime-metrics-token')).resolves.toBe('first');
    vault.setSecret('runtime-metrics-token', 'second');
    await expect(store.get('runtime-metrics-token')).resolves.toBe('second');
    expect(vault.versions('runtime-metrics-token')).toEqual(['first', 'second']);
  });

  test('a refusal (a missing role, the firewall) is an error with its status, not a missing secret', async () => {
    vault.refuseAll();
    try {
      await expect(store.get('runtime-metrics-token')).rejects.toMatchObject({ statusCode: 403 });
    } finally {
      vault.refuseAll(false);
    }
  });
});
