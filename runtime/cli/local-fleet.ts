/**
 * A whole fleet on this machine: arm-sim plays Azure, the runtime runs with the real Azure driver
 * and SDK pointed at it, and every simulated VM runs the real bot agent in process. The demo,
 * the end-to-end tests and the benchmarks all start fleets here, from a manifest a real synth
 * wrote. Only the cloud is imitated.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BotAgent } from '../agent/agent';
import { ArmSim } from '../arm-sim';
import { createAzureDriver } from '../azure/azure-driver';
import type { ComputeCallObserver } from '../azure/compute';
import type { EntraOptions } from '../http/auth';
import type { RateLimits } from '../http/limits';
import { FleetManifest, localizeManifest, parseManifest, ScalingSettings, sha256Hex } from '../config/manifest';
import { Log, silentLog } from '../log';
import { LOCAL_SUBSCRIPTION, localArmCredential, randomToken } from './local-values';
import { createRuntime, Runtime } from '../server';
import type { Store } from '../store/types';
import { simBotBooter } from './sim-bots';
import type { LocalIdentities } from './local-identity';
import type { AttestedDocument } from '../agent/identity';
import { AttestationTrust, certificatesFromPem } from '../api/attested-data';
import type { SimAttestationTrust } from '../arm-sim';

export { LOCAL_SUBSCRIPTION, localArmCredential, randomToken } from './local-values';

export interface LocalManifestOptions {
  /** Overrides of every group's scaling settings (and the environment's), e.g. short idle times. */
  readonly scaling?: Partial<ScalingSettings>;
  /** Bot tokens by group. @default random ones */
  readonly botTokens?: Readonly<Record<string, string>>;
  /** Replaces environment fields, e.g. `{ enabled: false }` or a smaller capacity. */
  readonly environment?: Partial<FleetManifest['environment']>;
  /** Replaces group fields by group name, e.g. `{ finance: { maxBots: 5 } }`. */
  readonly groups?: Readonly<Record<string, Partial<FleetManifest['groups'][number]>>>;
  /** Groups whose bots prove the group with a local managed identity (localIdentities()). @default none */
  readonly identities?: LocalIdentities['identities'];
}

/**
 * Turns a synthesized fleet.json into one this machine can run: the apply-time values filled
 * in, and optional overrides for quick local scaling. A local fleet runs in compressed time, so
 * its durations (heartbeats, boot and queue time-outs, retention) need only be more than 0.
 * Returns the manifest and the bot tokens.
 */
export function localManifest(raw: unknown, options: LocalManifestOptions = {}): { manifest: FleetManifest; botTokens: Record<string, string> } {
  const groups = ((raw as { groups?: Array<{ name: string }> }).groups ?? []).map((g) => g.name);
  const botTokens: Record<string, string> = { ...Object.fromEntries(groups.map((g) => [g, randomToken()])), ...options.botTokens };
  const local = localizeManifest(raw, { subscriptionId: LOCAL_SUBSCRIPTION, botTokens, identities: options.identities }) as Record<string, any>;
  if (options.environment) local.environment = { ...local.environment, ...options.environment };
  if (options.scaling) local.environment.scaling = { ...local.environment.scaling, ...options.scaling };
  local.groups = local.groups.map((g: Record<string, any>) => ({
    ...g,
    ...(options.groups?.[g.name] ?? {}),
    scaling: { ...g.scaling, ...(options.scaling ?? {}), ...(options.groups?.[g.name]?.scaling ?? {}) },
  }));
  return { manifest: parseManifest(local, { source: 'local manifest', compressedTime: true }), botTokens };
}

export interface LocalFleetOptions {
  readonly manifest: FleetManifest;
  readonly botTokens: Readonly<Record<string, string>>;
  /** Static user tokens: principal → secret. */
  readonly userTokens: Readonly<Record<string, string>>;
  readonly bootSeconds: number;
  readonly deleteSeconds?: number;
  readonly operationSeconds?: number;
  /** The runtime's port. @default 0 (any free port) */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** The SQLite file. @default a new file in a temp folder, removed on stop */
  readonly storeFile?: string;
  /** Another store, e.g. PostgreSQL. */
  readonly store?: Store;
  /** @default 1000 */
  readonly tickMs?: number;
  /** @default 2000 */
  readonly backoffBaseMs?: number;
  /** How long agents long-poll. @default 5 */
  readonly claimWaitSeconds?: number;
  readonly log?: Log;
  readonly observer?: ComputeCallObserver;
  /** Accept Entra ID tokens too. @default the identities' when given */
  readonly entra?: EntraOptions;
  /**
   * The local managed identities of the groups that use one: their bots get its tokens, and
   * register with arm-sim's attested data, which the runtime is told to trust. @default none
   */
  readonly identities?: LocalIdentities;
  readonly limits?: RateLimits;
  readonly timeouts?: { readonly requestMs?: number; readonly headersMs?: number };
  /** Expose /metrics to this token. @default off */
  readonly metricsToken?: string;
  /** Proxy hops whose X-Forwarded-For to believe. @default 0 */
  readonly trustProxy?: number;
  /** Webhook delivery: the hosts an admin allows, the resolver. @default public HTTPS destinations only */
  readonly webhooks?: import('../server').RuntimeOptions['webhooks'];
}

export class LocalFleet {
  readonly agents = new Map<string, BotAgent>();
  url = '';

  private constructor(
    readonly sim: ArmSim,
    public runtime: Runtime,
    readonly store: Store,
    public manifest: FleetManifest,
    private readonly makeRuntime: (manifest: FleetManifest) => Runtime,
    private readonly cleanupDir?: string,
  ) {}

  /**
   * Restarts the runtime with another manifest on the same store, port and arm-sim, as a deploy
   * of changed code would. Agents keep running and reconnect.
   */
  async restartRuntime(manifest: FleetManifest): Promise<void> {
    await this.runtime.close();
    this.manifest = manifest;
    this.runtime = this.makeRuntime(manifest);
    const port = Number(new URL(this.url).port);
    this.url = await this.runtime.listen(port, new URL(this.url).hostname);
  }

  static async start(options: LocalFleetOptions): Promise<LocalFleet> {
    const log = options.log ?? silentLog;
    let fleet: LocalFleet | undefined;
    const sim: ArmSim = new ArmSim({
      bootSeconds: options.bootSeconds,
      deleteSeconds: options.deleteSeconds,
      operationSeconds: options.operationSeconds,
      onBoot: simBotBooter({
        manifest: options.manifest,
        botTokens: options.botTokens,
        identity: options.identities && { tokenFor: options.identities.tokenFor, attest: (vm, nonce): Promise<AttestedDocument> => sim.attest(vm.name, nonce) },
        runtimeUrl: () => fleet!.url,
        claimWaitSeconds: options.claimWaitSeconds ?? 5,
        retryDelayMs: 200,
        log: options.log,
        onAgent: (vm, agent) => fleet!.agents.set(vm.name, agent),
      }),
    });
    for (const g of options.manifest.groups) sim.addScaleSet(g.vmss, { location: options.manifest.environment.region, vmSize: g.vmSize });
    const { url: armUrl, ca } = await sim.start();
    // Only groups with a managed identity register by attested data; the test chain is made for them.
    const attested = options.manifest.groups.some((g) => g.botAuth.kind === 'managed-identity');
    const attestation = attested ? attestationTrustOf(await sim.attestationTrust()) : undefined;

    let cleanupDir: string | undefined;
    let store = options.store;
    if (!store) {
      let file = options.storeFile;
      if (!file) {
        cleanupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-'));
        file = path.join(cleanupDir, 'runtime.db');
      }
      // Loaded here, so that importing this module never loads the native SQLite driver.
      const { SqliteStore } = require('../store/sqlite') as typeof import('../store/sqlite');
      store = new SqliteStore({ file });
    }
    const driver = createAzureDriver({
      credential: localArmCredential(),
      endpoint: armUrl,
      ca,
      pollIntervalMs: 50,
      retry: { maxRetries: 3, retryDelayInMs: 50, maxRetryDelayInMs: 500 },
      observer: (call) => {
        options.observer?.(call);
        fleet?.runtime.metrics.armCall(call);
      },
    });
    const makeRuntime = (manifest: FleetManifest) =>
      createRuntime({
        manifest,
        store: store!,
        driver,
        tokens: Object.entries(options.userTokens).map(([principal, secret]) => ({ principal, sha256: sha256Hex(secret) })),
        tickMs: options.tickMs ?? 1000,
        backoffBaseMs: options.backoffBaseMs ?? 2000,
        backoffMaxMs: 30_000,
        expectedBootMs: options.bootSeconds * 1000,
        entra: options.entra ?? options.identities?.entra,
        attestation,
        limits: options.limits,
        timeouts: options.timeouts,
        metricsToken: options.metricsToken,
        trustProxy: options.trustProxy,
        webhooks: options.webhooks,
        log,
      });
    fleet = new LocalFleet(sim, makeRuntime(options.manifest), store, options.manifest, makeRuntime, cleanupDir);
    fleet.url = await fleet.runtime.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    return fleet;
  }

  async stop(): Promise<void> {
    await this.runtime.close();
    await this.sim.stop();
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    await this.store.close();
    if (this.cleanupDir) fs.rmSync(this.cleanupDir, { recursive: true, force: true });
  }
}

/** What the runtime trusts attested data by, when arm-sim signs it. */
function attestationTrustOf(trust: SimAttestationTrust): AttestationTrust {
  return {
    roots: trust.roots.flatMap((pem) => certificatesFromPem(pem, 'arm-sim attestation root')),
    intermediates: trust.intermediates.flatMap((pem) => certificatesFromPem(pem, 'arm-sim attestation issuing CA')),
  };
}
