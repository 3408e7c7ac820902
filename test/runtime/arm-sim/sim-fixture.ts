/** Shared set-up for the arm-sim and Azure driver tests: a started simulator and a driver on it. */
import { request as httpsRequest } from 'node:https';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ArmSim, ArmSimOptions } from '../../../runtime/arm-sim';
import { AzureDriverOptions, createAzureDriver } from '../../../runtime/azure/azure-driver';
import type { ComputeDriver, ScaleSetRef } from '../../../runtime/azure/compute';

export const SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';
export const RESOURCE_GROUP = 'rg-bots-demo';

/** A credential that hands out a fixed token, so the SDK's real bearer-token policy runs. */
export const fixedTokenCredential: TokenCredential = {
  async getToken(): Promise<AccessToken> {
    return { token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

export function scaleSetRef(name: string, resourceGroup = RESOURCE_GROUP): ScaleSetRef {
  return { subscriptionId: SUBSCRIPTION, resourceGroup, name };
}

export interface StartedSim {
  readonly sim: ArmSim;
  readonly url: string;
  readonly ca: string;
  /** A driver on the real SDK, pointed at the simulator, with fast retries and polling. */
  driver(overrides?: Partial<AzureDriverOptions>): ComputeDriver;
}

/** Starts simulators for one test file and stops them after each test. */
export function simHarness(): (options?: Partial<ArmSimOptions> & { scaleSets?: ScaleSetRef[] }) => Promise<StartedSim> {
  const started: ArmSim[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sim) => sim.stop()));
  });
  return async ({ scaleSets = [], ...options } = {}) => {
    const sim = new ArmSim({ bootSeconds: 0.05, deleteSeconds: 0.05, operationSeconds: 0.05, ...options });
    started.push(sim);
    for (const ref of scaleSets) sim.addScaleSet(ref, { location: 'northeurope' });
    const { url, ca } = await sim.start();
    return {
      sim,
      url,
      ca,
      driver: (overrides = {}) =>
        createAzureDriver({
          credential: fixedTokenCredential,
          endpoint: url,
          ca,
          retry: { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
          pollIntervalMs: 10,
          ...overrides,
        }),
    };
  };
}

/** Waits until the condition holds, checking every few milliseconds. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON, or undefined when there is none. */
  readonly json: unknown;
}

/** One plain HTTPS request to the simulator, without the SDK, to see exactly what it answers. */
export function rawRequest(
  started: { url: string; ca: string },
  path: string,
  options: { method?: string; authorization?: string | null; body?: unknown } = {},
): Promise<RawAnswer> {
  const url = new URL(path, started.url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const authorization = options.authorization === undefined ? 'Bearer test-token' : options.authorization;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        ca: started.ca,
        agent: false,
        headers: {
          ...(authorization === null ? {} : { Authorization: authorization }),
          ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: text ? JSON.parse(text) : undefined });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The ARM path of a scale set, with an api-version. */
export function scaleSetPath(ref: ScaleSetRef, suffix = ''): string {
  return (
    `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}` +
    `/providers/Microsoft.Compute/virtualMachineScaleSets/${ref.name}${suffix}?api-version=2025-04-01`
  );
}
