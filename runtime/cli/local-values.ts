/**
 * The values a local run uses where a deployment has real ones: the subscription, arm-sim's
 * bearer token, random API tokens. Small on purpose: the CLI loads it at every start.
 */
import { randomBytes } from 'crypto';
import type { AccessToken, TokenCredential } from '@azure/core-auth';

/** The subscription local manifests use in place of the one Terraform would fill in. */
export const LOCAL_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

/** arm-sim accepts any bearer token; the SDK's bearer policy still sends one. */
export function localArmCredential(token = 'arm-sim-local-token'): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }),
  };
}

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}
