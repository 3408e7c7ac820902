/** A fleet manifest with one group, `finance`, as the runtime reads it: for tests of the queue and the scaler. */
import { DEFAULT_SCALING } from '../../constructs/scaling';
import { ScalingSettings, sha256Hex } from '../../runtime/config/manifest';

export const FINANCE_VMSS = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'vmss-demo-finance' };

/** The raw manifest (before parsing): environment capacity 10, the group's maxBots and scaling as given. */
export function oneGroupManifest(options: { readonly maxBots: number; readonly scaling?: Partial<ScalingSettings> }) {
  return {
    version: 1,
    stack: 'demo',
    environment: { name: 'demo', geography: 'Europe', region: 'northeurope', botCapacity: 10, plan: 'standard', enabled: true, admins: ['ops'], scaling: DEFAULT_SCALING },
    groups: [
      {
        name: 'finance',
        description: 'Invoice entry',
        maxBots: options.maxBots,
        committedBots: 0,
        vmss: FINANCE_VMSS,
        vmSize: 'Standard_D2s_v5',
        computerNamePrefix: 'finance',
        image: { kind: 'marketplace', publisher: 'MicrosoftWindowsDesktop', offer: 'windows-11', sku: 'win11-24h2-pro', version: 'latest' },
        flows: { 'invoice-entry': { command: 'invoice.cmd', timeoutMinutes: 30 } },
        access: { users: [], coOwners: [] },
        scaling: { ...DEFAULT_SCALING, ...options.scaling },
        botTokenSha256: sha256Hex('bot-token'),
      },
    ],
  };
}
