/**
 * `hosted-bots connector`: writes the Power Platform custom connector (runtime/api/connector.ts)
 * into a folder, both files or neither: they are written to a new folder beside it, which takes
 * its place only once both are there (staged-output.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CONNECTOR_FILES, connectorDefinition, connectorProblems, connectorProperties } from '../api/connector';
import { createStagingFolder, discardStagingFolder, replaceWithStaged } from './staged-output';

export interface ConnectorCommandOptions {
  /** The folder to write the two files to; created, or replaced when it holds only an earlier connector. */
  readonly out: string;
  /** The runtime's host name or URL (the stack's runtime_url output). @default none: set it when importing */
  readonly host?: string;
  /** The application (client) ID of the app registration the connector signs users in with. */
  readonly clientId?: string;
  /** The runtime's audience (its --entra-audience). */
  readonly resourceUri?: string;
  /** The runtime's tenant (its --entra-tenant). */
  readonly tenant?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;

/** A host as Swagger 2.0 wants it (name and port, no scheme or path), from a host name or an https URL. */
function hostOf(value: string): string {
  if (!value.includes('://')) {
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(value)) throw new Error(`--host "${value}" is not a host name; give the runtime's host, e.g. hostedbots-rpa-northeurope.azurewebsites.net, or its https:// URL`);
    return value.toLowerCase();
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--host "${value}" is not a URL; give the runtime's host, e.g. hostedbots-rpa-northeurope.azurewebsites.net`);
  }
  if (url.protocol !== 'https:') throw new Error(`--host "${value}" must be an https:// URL: connectors call their API over HTTPS only`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) throw new Error(`--host "${value}" must be the runtime's base address, without a path, query or fragment`);
  return url.host;
}

/** The connector's settings, or one error naming every missing or bad option. */
function settings(opts: ConnectorCommandOptions) {
  const problems: string[] = [];
  const clientId = opts.clientId ?? process.env.HOSTED_BOTS_CONNECTOR_CLIENT_ID;
  const resourceUri = opts.resourceUri ?? process.env.HOSTED_BOTS_ENTRA_AUDIENCE;
  const tenant = opts.tenant ?? process.env.HOSTED_BOTS_ENTRA_TENANT;
  if (!clientId) problems.push('--client-id is required: the application (client) ID of the app registration the connector signs users in with (or HOSTED_BOTS_CONNECTOR_CLIENT_ID)');
  else if (!GUID.test(clientId)) problems.push(`--client-id "${clientId}" must be an application (client) ID, a GUID such as 00000000-0000-0000-0000-000000000000`);
  if (!resourceUri) problems.push("--resource-uri is required: the runtime's Entra ID audience, as its --entra-audience (or HOSTED_BOTS_ENTRA_AUDIENCE)");
  else if (!GUID.test(resourceUri) && !/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(resourceUri)) problems.push(`--resource-uri "${resourceUri}" must be the runtime's application ID URI (e.g. api://hosted-bots) or its client ID`);
  if (!tenant) problems.push("--tenant is required: the runtime's directory (tenant) ID, as its --entra-tenant (or HOSTED_BOTS_ENTRA_TENANT)");
  else if (!GUID.test(tenant) && !DOMAIN.test(tenant)) problems.push(`--tenant "${tenant}" must be a directory (tenant) ID or a domain such as contoso.onmicrosoft.com`);
  let host: string | undefined;
  try {
    host = opts.host === undefined ? undefined : hostOf(opts.host);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length) throw new Error(`cannot write the connector:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return { host, clientId: clientId!, resourceUri: resourceUri!, tenantId: tenant! };
}

/** Refuses a folder that holds anything but an earlier connector: replacing it would delete it. */
function checkOut(out: string): void {
  if (!fs.existsSync(out)) return;
  if (!fs.statSync(out).isDirectory()) throw new Error(`--out ${out} is a file; give a folder for ${CONNECTOR_FILES.definition} and ${CONNECTOR_FILES.properties}`);
  const ours: string[] = Object.values(CONNECTOR_FILES);
  const others = fs.readdirSync(out).filter((name) => !ours.includes(name));
  if (others.length) throw new Error(`--out ${out} holds other files (${others.join(', ')}), which writing the connector there would delete; give a new or empty folder`);
}

/** Writes the connector's two files into `opts.out`; returns their paths. */
export function writeConnector(opts: ConnectorCommandOptions): string[] {
  const options = settings(opts);
  const out = path.resolve(opts.out);
  checkOut(out);
  const definition = connectorDefinition(options);
  // The registry's own check: a connector missing a summary is a bug here, not the user's to fix.
  const problems = connectorProblems(definition);
  if (problems.length) throw new Error(`the connector definition is incomplete:\n${problems.join('\n')}`);
  const staged = createStagingFolder(out);
  try {
    fs.writeFileSync(path.join(staged, CONNECTOR_FILES.definition), `${JSON.stringify(definition, null, 2)}\n`);
    fs.writeFileSync(path.join(staged, CONNECTOR_FILES.properties), `${JSON.stringify(connectorProperties(options), null, 2)}\n`);
  } catch (err) {
    discardStagingFolder(staged);
    throw new Error(`cannot write the connector beside ${out}: ${(err as Error).message}`);
  }
  replaceWithStaged(staged, out);
  return [path.join(out, CONNECTOR_FILES.definition), path.join(out, CONNECTOR_FILES.properties)];
}

export function runConnectorCommand(opts: ConnectorCommandOptions, say: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): void {
  const files = writeConnector(opts);
  for (const file of files) say(`wrote ${file}`);
  if (opts.host === undefined) say('no --host: enter the runtime\'s host on the "General" page when you import the connector');
  say(`create the connector: pac connector create --api-definition-file ${files[0]} --api-properties-file ${files[1]}`);
  say("then, on its Security page, enter the app registration's client secret, and add the connector's redirect URL to the app registration");
}
