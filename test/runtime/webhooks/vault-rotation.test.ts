/**
 * A running runtime whose declared webhook keeps its signing secret in a (local) Key Vault, read
 * through the real Key Vault SDK: a new version set in the vault signs the next deliveries after
 * one refresh, with the previous secret beside it, and no restart.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { Webhook } from 'standardwebhooks';
import { KeyVaultSim } from '../../../runtime/arm-sim';
import { keyVaultSecretStore } from '../../../runtime/azure/key-vault';
import { defaultSecretName } from '../../../runtime/webhooks/declared';
import { newSecret } from '../../../runtime/webhooks/signing';
import { eventually, startTestFleet, TestFleet } from '../../helpers/local-fleet';
import { RECEIVER_WEBHOOKS, startReceiver, WebhookReceiver } from '../../helpers/webhook-receiver';

const credential: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: 'vault-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };

describe('a declared webhook whose secret is rotated in Key Vault', () => {
  let vault: KeyVaultSim;
  let receiver: WebhookReceiver;
  let t: TestFleet;
  let secretName: string;

  beforeAll(async () => {
    vault = new KeyVaultSim();
    const { url, ca } = await vault.start();
    receiver = await startReceiver();
    secretName = defaultSecretName('finance', receiver.url());
    t = await startTestFleet(
      { groups: { finance: { webhooks: [{ url: receiver.url(), events: ['run.failed'], format: 'json' }] } } },
      { webhooks: { ...RECEIVER_WEBHOOKS, pollMs: 50, secrets: keyVaultSecretStore({ vaultUrl: url, credential, ca }), secretRefreshMs: 100 } },
    );
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await receiver?.close();
    await vault?.stop();
  });

  test('the next deliveries are signed with the new version after one refresh, and with the previous one too, without a restart', async () => {
    const first = vault.secret(secretName)!;
    expect(first).toMatch(/^whsec_/);
    const rotated = newSecret();
    vault.setSecret(secretName, rotated);
    const store = t.fleet.runtime.store;
    await eventually('the rotated secret in the store', async () => (await store.webhooks.subscriptions('finance')).find((s) => s.source === 'manifest')?.secret === rotated);

    await t.fleet.runtime.webhooks.publish('finance', 'run.failed', 'run_rotated', { id: 'run_rotated' });
    const request = await eventually('the delivery', () => receiver.received[0]);
    expect(new Webhook(rotated).verify(request.body, request.headers)).toMatchObject({ type: 'run.failed' });
    expect(new Webhook(first).verify(request.body, request.headers)).toMatchObject({ type: 'run.failed' });
  });
});
