/**
 * Settings of the runtime that is deployed with every `HostedBotsStack`. The bots' bootstrap
 * calls the runtime at its App Service address, which is derived here from a plain name rather
 * than from a resource reference, so that scale sets and the runtime can refer to each other.
 */
import { names } from './naming';

export interface BotRuntimeProps {
  /**
   * The runtime's App Service name; it must be unique across Azure.
   * @default `hostedbots-<environment>-<region>-<hash of the stack path>`
   */
  readonly appName?: string;
}

/** The App Service name of a stack's runtime. */
export function runtimeAppName(props: BotRuntimeProps | undefined, environment: string, region: string, stackPath: string): string {
  return props?.appName ?? names.runtimeApp(environment, region, stackPath);
}

/** The HTTPS address bots and users call. */
export function runtimeUrlOf(appName: string): string {
  return `https://${appName}.azurewebsites.net`;
}
