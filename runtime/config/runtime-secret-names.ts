/**
 * The secrets the runtime keeps in its stack's Key Vault, by name. The runtime creates each one
 * with its managed identity when it is missing and reads new versions as they appear; the stack's
 * outputs name them for the people who read them. One list, imported by both sides.
 */
export const RUNTIME_SECRET_NAMES = {
  /** The API admin token (an environment admin). */
  adminToken: 'runtime-admin-token',
  /** The bearer token a Prometheus scraper sends to `/metrics`. */
  metricsToken: 'runtime-metrics-token',
} as const;

/** The Entra ID scope of tokens for Azure Database for PostgreSQL ("Connect with managed identity", Microsoft Learn). */
export const POSTGRES_ENTRA_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';
