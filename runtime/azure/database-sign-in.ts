/**
 * Signing in to Azure Database for PostgreSQL as the runtime's managed identity: each new
 * connection's password is a fresh Entra ID access token for the database's scope ("Connect with
 * managed identity to Azure Database for PostgreSQL flexible server", Microsoft Learn). Tokens live
 * about an hour and the credential caches them, so a pool that opens connections over days keeps
 * signing in with valid ones.
 */
import type { TokenCredential } from '@azure/core-auth';
import { POSTGRES_ENTRA_SCOPE } from '../config/runtime-secret-names';

export function databaseTokenPassword(credential: TokenCredential): () => Promise<string> {
  return async () => {
    const token = await credential.getToken(POSTGRES_ENTRA_SCOPE);
    if (!token) throw new Error(`the managed identity returned no token for ${POSTGRES_ENTRA_SCOPE}`);
    return token.token;
  };
}
