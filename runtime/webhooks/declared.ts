/**
 * The webhooks a stack declares (each group's `webhooks` in the fleet manifest), kept in the store
 * beside those made through the API. A declared subscription's ID comes from its group and URL, so
 * it survives deploys; its signing secret never passes through git or Terraform:
 * - with a Key Vault (a deployed runtime), it lives there under the subscription's `secretName`
 *   (by default `webhook-<group>-<12 hex digits of the URL's hash>`), created by the runtime when
 *   missing, as its own tokens are (runtime/api/vault-tokens.ts); the receiver's owner reads it
 *   there, and rotating it is setting a new version and restarting the runtime;
 * - without one (a local runtime), the runtime makes it once and keeps it in its store.
 */
import { createHash } from 'crypto';
import type { FleetManifest } from '../config/manifest';
import type { SecretStore } from '../azure/key-vault';
import type { NewSubscription, Store } from '../store/types';
import { AddressGuard, DestinationRefused } from './address-guard';
import { newSecret, secretKey } from './signing';

/** A declared subscription's ID: `whm_` and 24 hex digits of the hash of its group and URL. */
export function declaredWebhookId(group: string, url: string): string {
  return `whm_${createHash('sha256').update(`${group}\n${url}`).digest('hex').slice(0, 24)}`;
}

/** The Key Vault secret a declared subscription's signing secret lives in, unless it names one. */
export function defaultSecretName(group: string, url: string): string {
  return `webhook-${group}-${declaredWebhookId(group, url).slice(4, 16)}`;
}

/**
 * Makes the store's declared subscriptions the manifest's. A URL the destination rules refuse
 * stops the runtime with the reason, as any other manifest fault does.
 */
export async function syncDeclaredWebhooks(manifest: FleetManifest, store: Pick<Store, 'webhooks'>, guard: AddressGuard, secrets: SecretStore | undefined, now: number): Promise<NewSubscription[]> {
  const kept = new Map((await store.webhooks.subscriptions()).filter((s) => s.source === 'manifest').map((s) => [s.id, s]));
  const declared: NewSubscription[] = [];
  for (const group of manifest.groups) {
    for (const [i, w] of (group.webhooks ?? []).entries()) {
      try {
        guard.checkUrl(w.url);
      } catch (err) {
        if (!(err instanceof DestinationRefused)) throw err;
        throw new Error(`group ${group.name}, webhooks[${i}]: ${err.message.replace(/^url: /, '')}`);
      }
      const id = declaredWebhookId(group.name, w.url);
      const secret = secrets ? await vaultSecret(secrets, w.secretName ?? defaultSecretName(group.name, w.url)) : (kept.get(id)?.secret ?? newSecret());
      declared.push({
        id,
        group: group.name,
        url: w.url,
        events: w.events,
        format: w.format,
        secret,
        waitAboveMinutes: w.waitAboveMinutes,
        source: 'manifest',
        createdBy: 'manifest',
        createdAt: kept.get(id)?.createdAt ?? now,
      });
    }
  }
  await store.webhooks.syncDeclaredSubscriptions(declared);
  return declared;
}

/** The signing secret in the vault, created when missing; a value that is no Standard Webhooks secret is refused, naming the secret. */
async function vaultSecret(secrets: SecretStore, name: string): Promise<string> {
  let value = await secrets.get(name);
  if (value === undefined) {
    await secrets.set(name, newSecret());
    // Replicas may create it at once: the vault keeps one latest version, and everyone reads it.
    value = await secrets.get(name);
  }
  if (value === undefined) throw new Error(`Key Vault secret ${name}: missing after it was created; check the runtime's access to the vault`);
  try {
    secretKey(value);
  } catch (err) {
    throw new Error(`Key Vault secret ${name}: ${(err as Error).message.replace(/^webhook secret: /, '')}; set it to whsec_ and the base64 of 24 to 64 random bytes`);
  }
  return value;
}
