/**
 * The webhooks a stack declares (each group's `webhooks` in the fleet manifest), kept in the store
 * beside those made through the API. A declared subscription's ID comes from its group and URL, so
 * it survives deploys; its signing secret never passes through git or Terraform:
 * - with a Key Vault (a deployed runtime), it lives there under the subscription's `secretName`
 *   (by default `webhook-<group>-<12 hex digits of the URL's hash>`), created by the runtime when
 *   missing, as its own tokens are (runtime/api/vault-tokens.ts); the receiver's owner reads it
 *   there. The runtime reads it again on the tokens' refresh interval (DeclaredSecretRefresh), so
 *   rotating it is setting a new version: within that interval deliveries are signed with the new
 *   secret, and with the previous one too for SECRET_ROTATION_GRACE_MS (runtime/domain/webhook.ts),
 *   so the receiver can switch within a day without rejecting any;
 * - without one (a local runtime), the runtime makes it once and keeps it in its store.
 */
import { createHash } from 'crypto';
import type { FleetManifest } from '../config/manifest';
import type { SecretStore } from '../azure/key-vault';
import type { NewSubscription, Store } from '../store/types';
import { SECRET_ROTATION_GRACE_MS } from '../domain/webhook';
import { Log, silentLog } from '../log';
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

/** Each webhook the manifest declares, with its place, its subscription ID and its secret's name. */
function* declaredWebhooks(manifest: FleetManifest) {
  for (const group of manifest.groups) {
    for (const [index, webhook] of (group.webhooks ?? []).entries()) {
      yield { group, index, webhook, id: declaredWebhookId(group.name, webhook.url), secretName: webhook.secretName ?? defaultSecretName(group.name, webhook.url) };
    }
  }
}

/** Why a vault value is no Standard Webhooks secret, with what to set instead; undefined when it is one. */
function secretProblem(value: string): string | undefined {
  try {
    secretKey(value);
    return undefined;
  } catch (err) {
    return `${(err as Error).message.replace(/^webhook secret: /, '')}; set it to whsec_ and the base64 of 24 to 64 random bytes`;
  }
}

/**
 * Makes the store's declared subscriptions the manifest's. A URL the destination rules refuse
 * stops the runtime with the reason, as any other manifest fault does.
 */
export async function syncDeclaredWebhooks(manifest: FleetManifest, store: Pick<Store, 'webhooks'>, guard: AddressGuard, secrets: SecretStore | undefined, now: number): Promise<NewSubscription[]> {
  const kept = new Map((await store.webhooks.subscriptions()).filter((s) => s.source === 'manifest').map((s) => [s.id, s]));
  const declared: NewSubscription[] = [];
  for (const { group, index, webhook: w, id, secretName } of declaredWebhooks(manifest)) {
    try {
      guard.checkUrl(w.url);
    } catch (err) {
      if (!(err instanceof DestinationRefused)) throw err;
      throw new Error(`group ${group.name}, webhooks[${index}]: ${err.message.replace(/^url: /, '')}`);
    }
    const secret = secrets ? await vaultSecret(secrets, secretName) : (kept.get(id)?.secret ?? newSecret());
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
  await store.webhooks.syncDeclaredSubscriptions(declared, now);
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
  const problem = secretProblem(value);
  if (problem) throw new Error(`Key Vault secret ${name}: ${problem}`);
  return value;
}

export interface DeclaredSecretRefreshOptions {
  readonly manifest: FleetManifest;
  readonly store: Pick<Store, 'webhooks'>;
  readonly secrets: SecretStore;
  /** How often the vault is read again: the runtime's `--key-vault-refresh-seconds`. @default 60000 */
  readonly refreshMs?: number;
  /** Told after a refresh changed a secret, so cached subscriptions are read again. @default nothing */
  readonly changed?: () => void;
  readonly now?: () => number;
  readonly log?: Log;
}

/**
 * Reads the declared webhooks' secrets from the vault again every `refreshMs`, as VaultTokens does
 * the runtime's tokens, and gives a changed one to its subscription (rotateDeclaredSecrets, a
 * compare-and-set, so every replica may do it). A secret the vault does not give (no answer,
 * missing, not a Standard Webhooks secret) keeps the one in the store, and deliveries go on signed
 * with it: that is logged once when it starts failing and once when it reads again, not on every
 * refresh. Unlike the start, a refresh never creates a missing secret: a secret deleted from the
 * vault by mistake must not silently become a new one the receiver does not know.
 *
 * Replicas read the vault at different moments; one whose read came just before a rotation may
 * store the old secret back after another stored the new one. That is a rotation too (the new
 * secret becomes the previous one, and both still sign), and its next refresh stores the new one
 * again: no receiver holding either secret rejects a delivery meanwhile, and the grace period counts
 * from the last change.
 */
export class DeclaredSecretRefresh {
  private timer?: NodeJS.Timeout;
  private running?: Promise<string[]>;
  /** Secret names whose last read failed: the current failure streaks. */
  private readonly failing = new Set<string>();
  private readonly log: Log;
  private readonly now: () => number;

  constructor(private readonly options: DeclaredSecretRefreshOptions) {
    this.log = options.log ?? silentLog;
    this.now = options.now ?? Date.now;
  }

  /** Keeps reading the secrets every `refreshMs` (the start has just read them). Never throws. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One pass: each declared webhook's secret from the vault, and the changed ones stored. Returns
   * the IDs of the subscriptions whose secret changed. A pass still running (a slow vault) is
   * joined rather than doubled.
   */
  refresh(): Promise<string[]> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<string[]> {
    const read: Array<{ id: string; secret: string }> = [];
    for (const { id, secretName } of declaredWebhooks(this.options.manifest)) {
      const secret = await this.read(secretName, id);
      if (secret !== undefined) read.push({ id, secret });
    }
    if (read.length === 0) return [];
    try {
      const rotated = await this.options.store.webhooks.rotateDeclaredSecrets(read, this.now());
      if (rotated.length > 0) {
        this.options.changed?.();
        this.log('webhook.secret_rotated', { subscriptions: rotated, graceHours: SECRET_ROTATION_GRACE_MS / 3_600_000 });
      }
      return rotated;
    } catch (error) {
      // The store away for a moment: the next refresh writes the same secrets again.
      this.log('webhook.secret_store_error', { message: `cannot store the declared webhooks' secrets read from Key Vault: ${(error as Error).message}; retrying on the next refresh` });
      return [];
    }
  }

  /** The secret's latest version, or undefined (logged once per failure streak) when the vault does not give a usable one. */
  private async read(name: string, subscription: string): Promise<string | undefined> {
    let problem: string;
    let status: number | undefined;
    try {
      const value = await this.options.secrets.get(name);
      if (value === undefined) {
        problem = 'missing; set it again with az keyvault secret set (a refresh never creates it, so that the receiver is not left with an unknown secret)';
      } else {
        const invalid = secretProblem(value);
        if (invalid === undefined) {
          if (this.failing.delete(name)) this.log('webhook.secret_read_recovered', { subscription, message: `Key Vault secret ${name} reads again` });
          return value;
        }
        problem = invalid;
      }
    } catch (error) {
      status = (error as { statusCode?: number }).statusCode;
      problem = `cannot be read (${status ?? 'no answer'}: ${(error as Error).message})`;
    }
    if (!this.failing.has(name)) {
      this.failing.add(name);
      this.log('webhook.secret_read_error', {
        subscription,
        status,
        message: `Key Vault secret ${name}: ${problem}; deliveries go on signed with the secret the runtime has, and the vault is read again every ${Math.round((this.options.refreshMs ?? 60_000) / 1000)} s`,
      });
    }
    return undefined;
  }
}
