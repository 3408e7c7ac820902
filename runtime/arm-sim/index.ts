/** arm-sim: the local imitation of Azure Resource Manager used by tests, the demo and benchmarks. */
export { ArmSim } from './arm-sim';
export type {
  ArmSimOptions,
  CloudError,
  SimAgentHandle,
  SimCallName,
  SimFault,
  SimProvisioningState,
  SimStats,
  SimVm,
} from './arm-sim';
export { generateSimAttestationChain, sharedSimAttestationChain, simAttestationTrust } from './attestation';
export type { SimAttestationChain, SimAttestationTrust } from './attestation';
export { sharedSimCertificate } from './certificate';
export type { SimCertificate } from './certificate';
export { KeyVaultSim } from './key-vault-sim';
export type { KeyVaultSimStats } from './key-vault-sim';
