/**
 * Managed identities for a local fleet: what Entra ID and the VMs' metadata service do for the
 * bots of managed-identity groups in Azure, played on this machine so that their whole path
 * (the group's identity token, then the VM's attested data from arm-sim) runs in the tests and
 * the demo. Each group gets a user-assigned identity (a principal, a resource ID, a client ID),
 * tokens are signed by a key made here, and the runtime checks them against its JWKS, as it
 * checks Entra ID's.
 */
import { randomUUID } from 'crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import type { EntraOptions } from '../http/auth';
import { LOCAL_SUBSCRIPTION } from './local-values';

/** A group's user-assigned identity, as the manifest's botAuth holds it. */
export interface LocalIdentity {
  readonly kind: 'managed-identity';
  readonly principalId: string;
  readonly resourceId: string;
  readonly clientId: string;
}

export interface LocalIdentities {
  /** Per group name. */
  readonly identities: Readonly<Record<string, LocalIdentity>>;
  /** What the runtime verifies the tokens with. */
  readonly entra: EntraOptions;
  /** A current access token of the group's identity for the runtime's audience, as a VM of the group gets it. */
  tokenFor(group: string): () => Promise<string>;
}

const LOCAL_TENANT = '00000000-0000-0000-0000-00000000a11c';
const LOCAL_AUDIENCE = 'api://hosted-bots-local';

/** Identities for these groups, and a key to sign their tokens with. */
export async function localIdentities(groups: readonly string[]): Promise<LocalIdentities> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'local-managed-identity', alg: 'RS256', use: 'sig' };
  const identities = Object.fromEntries(
    groups.map((group): [string, LocalIdentity] => [
      group,
      {
        kind: 'managed-identity',
        principalId: randomUUID(),
        resourceId: `/subscriptions/${LOCAL_SUBSCRIPTION}/resourceGroups/local/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${group}-bots`,
        clientId: randomUUID(),
      },
    ]),
  );
  return {
    identities,
    entra: { tenantId: LOCAL_TENANT, audience: LOCAL_AUDIENCE, jwks: createLocalJWKSet({ keys: [jwk] }) },
    tokenFor(group) {
      const identity = identities[group];
      if (!identity) throw new Error(`no local identity for group "${group}"`);
      // Managed identity tokens are v1 tokens: issuer sts.windows.net.
      return () =>
        new SignJWT({ oid: identity.principalId, xms_mirid: identity.resourceId, idtyp: 'app' })
          .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
          .setIssuer(`https://sts.windows.net/${LOCAL_TENANT}/`)
          .setAudience(LOCAL_AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(privateKey);
    },
  };
}
