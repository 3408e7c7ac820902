/** Builders for small stacks used across the construct tests. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LinuxWebApp } from '@cdktf/provider-azurerm/lib/linux-web-app';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { App, Testing, TerraformStack, TerraformVariable } from 'cdktf';
import {
  annotationsOf,
  BotEnvironment,
  BotEnvironmentProps,
  BotMonitoringProps,
  EnvironmentSite,
  BotRuntimeProps,
  Geography,
  HostedBotGroupProps,
  HostedBotsStack,
  PolicyAnnotation,
} from '../../index';

export const GOOD_PASSWORD = 'Str0ng!Bot-Passw0rd';

export function groupProps(overrides: Partial<HostedBotGroupProps> = {}): HostedBotGroupProps {
  return {
    name: 'finance',
    maxBots: 3,
    adminUsername: 'botadmin',
    adminPassword: GOOD_PASSWORD,
    flows: { 'invoice-entry': { command: 'run-invoice.cmd', timeoutMinutes: 30 } },
    ...overrides,
  };
}

export interface FleetOptions {
  readonly id?: string;
  readonly geography?: Geography;
  readonly region?: string;
  /** @default monitoring: QUIET_MONITORING */
  readonly environment?: Partial<BotEnvironmentProps>;
  readonly groups?: ReadonlyArray<Partial<HostedBotGroupProps>>;
  /** @default { botAuthentication: 'token' }, so that the deploy-path warnings stay out of tests not about them */
  readonly runtime?: BotRuntimeProps;
  readonly globalNamePrefix?: string;
}

/**
 * Monitoring whose alerts notify someone, so that the no-receiver warning (HRB-MON-7) stays out of
 * tests not about it, as `botAuthentication: 'token'` keeps the deploy-path warnings out.
 */
export const QUIET_MONITORING: BotMonitoringProps = { alerts: { emails: ['bots-oncall@example.com'] } };

/** A documentation address (RFC 5737) standing for a machine outside the VNet (an operator, a pipeline runner). */
export const DEPLOYER_IP = '203.0.113.7';

/** A stack with one environment and the given groups (one default group when none are given). */
export function fleetStack(options: FleetOptions = {}): HostedBotsStack {
  const app = Testing.app();
  const stack = new HostedBotsStack(app, options.id ?? 'fleet', {
    geography: options.geography ?? 'Europe',
    region: options.region,
    environment: { name: 'demo', botCapacity: 4, monitoring: QUIET_MONITORING, ...options.environment },
    runtime: options.runtime ?? { botAuthentication: 'token' },
    globalNamePrefix: options.globalNamePrefix,
  });
  for (const [i, g] of (options.groups ?? [{}]).entries()) {
    const props = groupProps(g);
    stack.environment.addGroup(`group-${i}`, props);
  }
  return stack;
}

/** A sensitive Terraform variable's value, as a user would pass a password. */
export function sensitiveVariable(stack: HostedBotsStack, name: string): string {
  return new TerraformVariable(stack, name, { type: 'string', sensitive: true }).stringValue;
}

export interface SynthResult {
  readonly json: Record<string, any>;
  readonly text: string;
  readonly annotations: PolicyAnnotation[];
}

/** Synthesizes a stack (running its Aspects) and returns the Terraform JSON and the rule findings. */
export function synth(stack: HostedBotsStack | import('cdktf').TerraformStack): SynthResult {
  const text = Testing.synth(stack);
  return { json: JSON.parse(text), text, annotations: annotationsOf(stack) };
}

/** The resources of one type, keyed by their logical ID. */
export function resources(json: Record<string, any>, type: string): Record<string, any>[] {
  return Object.values(json.resource?.[type] ?? {});
}

export function errors(result: SynthResult): string[] {
  return result.annotations.filter((a) => a.level === 'error').map((a) => a.message);
}

export function warnings(result: SynthResult): string[] {
  return result.annotations.filter((a) => a.level === 'warning').map((a) => a.message);
}

/** Where a `BotEnvironment` lives when it is placed by hand, outside `HostedBotsStack`. */
export const PLAIN_SITE: EnvironmentSite = {
  stackName: 'plain',
  geography: 'Europe',
  region: 'northeurope',
  placement: { resourceGroupName: 'rg-bots', location: 'northeurope' },
  resourceGroupName: 'rg-bots',
  resourceGroupId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-bots',
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  runtimeUrl: 'https://bots.example.com',
  agentSha256: 'a'.repeat(64),
  botAuth: { kind: 'token' },
  nameSuffix: 'abc123def4567',
};

/**
 * A `BotEnvironment` in a plain `TerraformStack` (only the providers it needs), in an app that
 * writes to a temporary folder: nothing from `HostedBotsStack` checks it.
 */
export function plainEnvironment(props: Partial<BotEnvironmentProps> = {}): { app: App; stack: TerraformStack; environment: BotEnvironment; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'plain-stack-'));
  const app = new App({ outdir, stackTraces: false });
  const stack = new TerraformStack(app, 'plain');
  new AzurermProvider(stack, 'azurerm', { features: [{}] });
  new RandomProvider(stack, 'random');
  const environment = new BotEnvironment(stack, 'environment', { name: 'demo', botCapacity: 4, monitoring: QUIET_MONITORING, ...props }, PLAIN_SITE);
  return { app, stack, environment, outdir };
}

/** A web app of the user's own in the stack, basic auth off, with a zip deploy file when given. */
export function userWebApp(stack: TerraformStack, zipDeployFile?: string): LinuxWebApp {
  return new LinuxWebApp(stack, 'own-app', {
    name: 'contoso-own-app',
    resourceGroupName: 'rg',
    location: 'northeurope',
    servicePlanId: '/plan',
    siteConfig: {},
    webdeployPublishBasicAuthenticationEnabled: false,
    zipDeployFile,
  });
}
