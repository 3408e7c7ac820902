/**
 * The deployed runtime's own tokens (the API admin token, and the metrics token), kept in its Key
 * Vault. Terraform never writes them: on its first start the runtime creates each missing one, and
 * it reads the latest versions again every `refreshMs`, so that rotating one is setting a new
 * version in the vault (`az keyvault secret set`): the old token stops working within that time.
 *
 * Several replicas may create a missing token at once; each reads the latest version back, and the
 * next refresh leaves them all on the one the vault kept. A vault the runtime cannot reach yet (a
 * role assignment Azure has not applied, a private DNS record not yet resolvable) is retried on
 * every refresh; meanwhile the runtime serves Entra ID and static-token callers as usual.
 */
import { createHash, randomBytes } from 'crypto';
import type { SecretStore } from '../azure/key-vault';
import type { Log } from '../log';
import { silentLog } from '../log';
import { RUNTIME_SECRET_NAMES } from '../config/runtime-secret-names';
import type { StaticToken } from '../http/auth';

/** Tokens that may change while the runtime runs. */
export interface RotatingTokens {
  /** The user tokens to accept now: the admin token once it is known. */
  users(): readonly StaticToken[];
  /** The metrics token now; undefined until it is known, or when metrics are off. */
  metrics(): string | undefined;
}

export interface VaultTokensOptions {
  readonly store: SecretStore;
  /** Keep a metrics token too, under this secret name. @default no metrics token */
  readonly metricsSecret?: string;
  /** @default 60000 */
  readonly refreshMs?: number;
  readonly log?: Log;
  /** A new token's value. @default 48 random base64url characters */
  readonly generate?: () => string;
}

/** The principal the vault's admin token signs in as: an environment admin. */
export const VAULT_ADMIN_PRINCIPAL = 'hosted-bots-admin';

export class VaultTokens implements RotatingTokens {
  private adminToken?: StaticToken;
  private metricsToken?: string;
  private timer?: NodeJS.Timeout;
  private readonly log: Log;
  private readonly generate: () => string;

  constructor(private readonly options: VaultTokensOptions) {
    this.log = options.log ?? silentLog;
    this.generate = options.generate ?? (() => randomBytes(36).toString('base64url'));
  }

  users(): readonly StaticToken[] {
    return this.adminToken ? [this.adminToken] : [];
  }

  metrics(): string | undefined {
    return this.metricsToken;
  }

  /** Reads (or creates) the tokens once, then keeps reading them every `refreshMs`. Never throws: a failure is logged and retried. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass: each secret's latest version, created first when missing. */
  async refresh(): Promise<void> {
    const admin = await this.current(RUNTIME_SECRET_NAMES.adminToken);
    if (admin !== undefined) this.adminToken = { principal: VAULT_ADMIN_PRINCIPAL, sha256: createHash('sha256').update(admin).digest('hex'), admin: true };
    if (this.options.metricsSecret) {
      const metrics = await this.current(this.options.metricsSecret);
      if (metrics !== undefined) this.metricsToken = metrics;
    }
  }

  private async current(name: string): Promise<string | undefined> {
    const { store } = this.options;
    try {
      const value = await store.get(name);
      if (value !== undefined && value !== '') return value;
      await store.set(name, this.generate());
      this.log('vault.secret_created', { secret: name });
      // Read back: another replica may have written a version in between, and the latest one wins.
      return await store.get(name);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      const hint =
        status === 403
          ? "the runtime's identity needs the Key Vault Secrets Officer role on the vault (the stack assigns it; Azure can take a few minutes to apply a new role assignment)"
          : 'the vault is reached through its private endpoint; check that the runtime routes its traffic through the VNet and that privatelink.vaultcore.azure.net resolves there';
      this.log('vault.secret_failed', {
        secret: name,
        status,
        message: `cannot read Key Vault secret ${name} (${status ?? 'no answer'}: ${(error as Error).message}): ${hint}; retrying every ${Math.round((this.options.refreshMs ?? 60_000) / 1000)} s`,
      });
      return undefined;
    }
  }
}
