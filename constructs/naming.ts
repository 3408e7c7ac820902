/**
 * Every Azure resource name the library makes comes from here, so names stay consistent and a
 * rule change happens in one place.
 */
import { createHash } from 'crypto';

/** Windows allows 15 characters and Azure appends 6 per VM, so a prefix has at most 9. */
const COMPUTER_NAME_PREFIX_MAX = 9;

export const names = {
  resourceGroup: (environment: string, region: string): string => `rg-hostedbots-${environment}-${region}`,
  virtualNetwork: (environment: string): string => `vnet-hostedbots-${environment}`,
  subnet: (): string => 'snet-bots',
  networkSecurityGroup: (environment: string): string => `nsg-hostedbots-${environment}-bots`,
  scaleSet: (environment: string, group: string): string => `vmss-${environment}-${group}`,
  standbyPool: (environment: string, group: string): string => `sbp-${environment}-${group}`,
  botIdentity: (environment: string, group: string): string => `id-${environment}-${group}-bots`,
  roleDefinition: (role: string, environment: string, region: string): string =>
    `Hosted RPA bots ${role} (${environment}, ${region})`,
  /**
   * The runtime's App Service name. App Service names are global, so a short hash of the stack
   * path keeps two stacks with the same environment name apart. It is a plain string, not a
   * reference, so scale sets can point at the runtime while the runtime's settings point at them.
   */
  runtimeApp: (environment: string, region: string, stackPath: string): string =>
    `hostedbots-${environment}-${region}-${shortHash(stackPath)}`.slice(0, 60),
  /** Derives a Windows computer-name prefix from a group name: its first 9 letters, digits or hyphens. */
  computerNamePrefix: (group: string): string =>
    group.replace(/[^A-Za-z0-9-]/g, '').slice(0, COMPUTER_NAME_PREFIX_MAX),
  /** Six hex characters that tell apart global names (App Service, Key Vault, PostgreSQL). */
  shortHash,
};

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 6);
}
