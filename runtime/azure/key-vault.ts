/**
 * The runtime's own secrets in its stack's Key Vault, through its managed identity. Terraform never
 * reads or writes them (constructs/bot-runtime.ts): the runtime creates them on its first start
 * and reads new versions an operator sets, so rotating one is `az keyvault secret set`.
 *
 * The official SDK (@azure/keyvault-secrets) with its challenge-based bearer policy: the first
 * request goes without a token, and the vault's 401 names the resource to ask a token for. Against
 * a local vault (tests, with `ca`), the challenge's resource (vault.azure.net) cannot match
 * 127.0.0.1, so that one check is turned off there and only there.
 */
import type { TokenCredential } from '@azure/core-auth';

/** Secrets by name: the latest version's value, or undefined when there is none. */
export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
}

export interface KeyVaultOptions {
  /** The vault's URL, e.g. `https://kv-prod-5f3a9c0e1b.vault.azure.net/`. */
  readonly vaultUrl: string;
  readonly credential: TokenCredential;
  /** A PEM CA to trust, for a local vault (tests only). */
  readonly ca?: string | Buffer;
}

export function keyVaultSecretStore(options: KeyVaultOptions): SecretStore {
  // Loaded on use: only a runtime with a vault needs the SDK.
  const { SecretClient } = require('@azure/keyvault-secrets') as typeof import('@azure/keyvault-secrets');
  const local = options.ca !== undefined;
  const client = new SecretClient(options.vaultUrl, options.credential, {
    ...(local ? { tlsOptions: { ca: options.ca }, disableChallengeResourceVerification: true } : {}),
    retryOptions: { maxRetries: 3, retryDelayInMs: 500 },
  } as import('@azure/keyvault-secrets').SecretClientOptions);
  return {
    async get(name) {
      try {
        return (await client.getSecret(name)).value;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw error;
      }
    },
    async set(name, value) {
      await client.setSecret(name, value, { contentType: 'text/plain' });
    },
  };
}
