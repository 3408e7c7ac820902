/**
 * What runs on a simulated VM: the real bot agent, started when arm-sim boots the VM and stopped
 * when it deletes it. The demo, `hosted-bots arm-sim`, the tests and the benchmarks share this.
 */
import { BotAgent, FlowExecutor } from '../agent/agent';
import type { AttestedDocument } from '../agent/identity';
import { SimulatedExecutor } from '../agent/simulated-executor';
import { ArmSim } from '../arm-sim';
import type { ArmSimOptions, SimAgentHandle, SimVm } from '../arm-sim';
import type { FleetManifest } from '../config/manifest';
import type { Log } from '../log';

export interface SimBotOptions {
  readonly manifest: FleetManifest;
  readonly botTokens: Readonly<Record<string, string>>;
  /**
   * For groups whose bots prove the group with a managed identity: the identity's token, and the
   * VM's attested data (arm-sim's attest()). @default none: every agent uses its group's token
   */
  readonly identity?: {
    readonly tokenFor: (group: string) => () => Promise<string>;
    readonly attest: (vm: SimVm, nonce: string) => Promise<AttestedDocument>;
  };
  /** The runtime the agents call. A function, for a runtime whose URL is known only later. */
  readonly runtimeUrl: string | (() => string);
  /** @default a SimulatedExecutor per VM */
  readonly executor?: (vm: SimVm) => FlowExecutor;
  /** @default 30 */
  readonly claimWaitSeconds?: number;
  readonly retryDelayMs?: number;
  readonly log?: Log;
  /** Told about every agent started. */
  readonly onAgent?: (vm: SimVm, agent: BotAgent) => void;
  /** Told how the runtime took each run report. */
  readonly onReport?: (runId: string, outcome: 'completed' | 'duplicate' | 'stale') => void;
}

/** An `onBoot` for ArmSim that starts the group's bot agent on each VM. */
export function simBotBooter(options: SimBotOptions): (vm: SimVm) => SimAgentHandle | undefined {
  return (vm) => {
    const group = options.manifest.groups.find((g) => g.vmss.name === vm.scaleSet.name);
    if (!group) return undefined;
    const identity = group.botAuth.kind === 'managed-identity' ? options.identity : undefined;
    if (group.botAuth.kind === 'managed-identity' && !identity) throw new Error(`group ${group.name} proves itself by managed identity, and no local identity was given`);
    const agent = new BotAgent({
      url: typeof options.runtimeUrl === 'function' ? options.runtimeUrl() : options.runtimeUrl,
      token: identity ? identity.tokenFor(group.name) : options.botTokens[group.name],
      group: group.name,
      vmName: vm.name,
      ...(identity ? { attest: (nonce: string) => identity.attest(vm, nonce) } : {}),
      executor: options.executor?.(vm) ?? new SimulatedExecutor(vm.name),
      claimWaitSeconds: options.claimWaitSeconds,
      retryDelayMs: options.retryDelayMs,
      log: options.log,
      onReport: options.onReport,
    });
    options.onAgent?.(vm, agent);
    void agent.start();
    return { stop: () => agent.stop('VM deleted') };
  };
}

/** Quick timings of a simulated fleet for tests and benchmarks: boots in 0.3 s, deletes and other operations in 0.1 s. */
export const QUICK_SIM_TIMINGS = { bootSeconds: 0.3, deleteSeconds: 0.1, operationSeconds: 0.1 } as const;

/**
 * Starts an arm-sim that holds the manifest's scale sets and boots each VM into its group's bot
 * agent (simBotBooter). `sim` sets arm-sim's own options (timings, a log), over QUICK_SIM_TIMINGS.
 * Returns the started sim, its URL and its CA certificate (PEM).
 */
export async function startSimFleet(bots: SimBotOptions, sim: Omit<Partial<ArmSimOptions>, 'onBoot'> = {}): Promise<{ sim: ArmSim; url: string; ca: string }> {
  const armSim = new ArmSim({ ...QUICK_SIM_TIMINGS, ...sim, onBoot: simBotBooter(bots) });
  for (const g of bots.manifest.groups) armSim.addScaleSet(g.vmss, { location: bots.manifest.environment.region });
  const { url, ca } = await armSim.start();
  return { sim: armSim, url, ca };
}
