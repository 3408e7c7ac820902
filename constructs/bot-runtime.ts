/**
 * The runtime deployed with every `HostedBotsStack`: one self-contained JavaScript bundle on a
 * Linux App Service, its user-assigned identity with roles on exactly what scaling touches, an
 * Azure Database for PostgreSQL flexible server as its store, and a Key Vault for its secrets.
 *
 * The bots' bootstrap calls the runtime at its App Service address, derived from a plain name
 * rather than from a resource reference, so that scale sets and the runtime can refer to each
 * other without a cycle.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { KeyVaultSecret } from '@cdktf/provider-azurerm/lib/key-vault-secret';
import { LinuxWebApp } from '@cdktf/provider-azurerm/lib/linux-web-app';
import { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
import { PostgresqlFlexibleServerDatabase } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-database';
import { PostgresqlFlexibleServerFirewallRule } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-firewall-rule';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { ServicePlan } from '@cdktf/provider-azurerm/lib/service-plan';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { Password } from '@cdktf/provider-random/lib/password';
import type { BotEnvironment } from './bot-environment';
import { GalleryImageSource } from './bot-image';
import { AssetType, Construct, Fn, Lazy, TerraformAsset, Token } from './cdktf';
import type { FleetManifest } from './fleet-manifest';
import { names } from './naming';

export interface BotRuntimeProps {
  /**
   * The runtime's App Service name; it must be unique across Azure.
   * @default `hostedbots-<environment>-<region>-<hash of the stack path>`
   */
  readonly appName?: string;
  /** The App Service plan's SKU; Always On needs Basic or higher. @default 'B1' */
  readonly planSku?: string;
  /** The PostgreSQL flexible server. @default B_Standard_B1ms, PostgreSQL 16, 32 GiB */
  readonly database?: {
    /** @default 'B_Standard_B1ms' */
    readonly skuName?: string;
    /** @default '16' */
    readonly version?: string;
    /** @default 32768 */
    readonly storageMb?: number;
    /** @default 7 */
    readonly backupRetentionDays?: number;
  };
  /** Accept Entra ID access tokens for users, besides static tokens. @default static tokens only */
  readonly entra?: { readonly tenantId: string; readonly audience: string };
  /** Object IDs that may read the runtime's secrets (admin token, bot tokens) in Key Vault. @default only the deploying identity */
  readonly secretReaders?: readonly string[];
  /** The zipped runtime bundle (main.js, agent.js) to deploy. @default the one built with this package */
  readonly bundleZip?: string;
  /**
   * Serve Prometheus metrics at `/metrics` to a bearer token generated here and kept in Key Vault
   * (secret `runtime-metrics-token`). `false` turns `/metrics` off. @default true
   */
  readonly metrics?: boolean;
}

/** The App Service name of a stack's runtime. */
export function runtimeAppName(props: BotRuntimeProps | undefined, environment: string, region: string, stackPath: string): string {
  return props?.appName ?? names.runtimeApp(environment, region, stackPath);
}

/** The HTTPS address bots and users call. */
export function runtimeUrlOf(appName: string): string {
  return `https://${appName}.azurewebsites.net`;
}

/** The zipped runtime bundle: prebuilt by `npm run build` as dist/bundle.zip, else built now. */
export function runtimeBundleZip(explicit?: string): string {
  if (explicit) return explicit;
  const here = path.resolve(__dirname, '..');
  const prebuilt = [path.join(here, 'bundle.zip'), path.join(here, 'dist', 'bundle.zip')].find((f) => fs.existsSync(f));
  if (prebuilt) return prebuilt;
  // A checkout run from its sources before any build: build it once per process.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildBundle } = require('../runtime/cli/bundle') as typeof import('../runtime/cli/bundle');
  builtBundle ??= `${buildBundle(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-bundle-')), 'bundle'))}.zip`;
  return builtBundle;
}
let builtBundle: string | undefined;

/** What the runtime's identity may do, assigned only at the scale sets, identities, subnet, NSG. */
const RUNTIME_ACTIONS = [
  'Microsoft.Compute/virtualMachineScaleSets/read',
  'Microsoft.Compute/virtualMachineScaleSets/write',
  'Microsoft.Compute/virtualMachineScaleSets/delete/action',
  'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read',
  'Microsoft.Network/virtualNetworks/subnets/read',
  'Microsoft.Network/virtualNetworks/subnets/join/action',
  'Microsoft.Network/networkSecurityGroups/join/action',
  'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
];

export interface BotRuntimeSite {
  readonly environment: BotEnvironment;
  readonly appName: string;
  readonly tenantId: string;
  /** The identity that runs terraform: it writes the secrets. */
  readonly deployerObjectId: string;
  readonly resourceGroupId: string;
  readonly manifest: () => FleetManifest;
}

export class BotRuntime extends Construct {
  readonly identity: UserAssignedIdentity;
  readonly app: LinuxWebApp;
  readonly database: PostgresqlFlexibleServer;
  readonly keyVault: KeyVault;
  readonly adminTokenSecret: KeyVaultSecret;
  /** The token a Prometheus scraper sends to `/metrics`; absent when metrics are off. */
  readonly metricsTokenSecret?: KeyVaultSecret;
  /** The runtime's base URL, as Azure reports it. */
  readonly url: string;
  readonly roleAssignments: RoleAssignment[] = [];

  constructor(scope: Construct, id: string, props: BotRuntimeProps, site: BotRuntimeSite) {
    super(scope, id);
    const env = site.environment;
    const { resourceGroupName, location } = env.placement;
    const suffix = names.shortHash(`${this.node.path}/${env.name}`);

    this.identity = new UserAssignedIdentity(this, 'identity', { name: `id-hostedbots-${env.name}-runtime`, resourceGroupName, location });

    // Secrets: the database password and the API admin token are generated here; bot tokens and
    // admin passwords come from the groups. All are kept in Key Vault, written write-only.
    this.keyVault = new KeyVault(this, 'key-vault', {
      name: `kv-hb-${env.name.slice(0, 12)}-${suffix}`.slice(0, 24),
      resourceGroupName,
      location,
      tenantId: site.tenantId,
      skuName: 'standard',
      softDeleteRetentionDays: 7,
      accessPolicy: [
        { tenantId: site.tenantId, objectId: site.deployerObjectId, secretPermissions: ['Get', 'List', 'Set', 'Delete', 'Purge', 'Recover'] },
        { tenantId: site.tenantId, objectId: this.identity.principalId, secretPermissions: ['Get'] },
        ...(props.secretReaders ?? []).map((objectId) => ({ tenantId: site.tenantId, objectId, secretPermissions: ['Get', 'List'] })),
      ],
    });
    const secret = (sid: string, name: string, value: string) =>
      new KeyVaultSecret(this, sid, { name, keyVaultId: this.keyVault.id, valueWo: value, valueWoVersion: 1, contentType: 'text/plain' });

    const dbPassword = new Password(this, 'database-password', { length: 32, special: false, minUpper: 2, minLower: 2, minNumeric: 2 });
    const adminToken = new Password(this, 'admin-token', { length: 48, special: false });
    this.database = new PostgresqlFlexibleServer(this, 'database', {
      name: `psql-hostedbots-${env.name}-${suffix}`,
      resourceGroupName,
      location,
      version: props.database?.version ?? '16',
      skuName: props.database?.skuName ?? 'B_Standard_B1ms',
      storageMb: props.database?.storageMb ?? 32768,
      backupRetentionDays: props.database?.backupRetentionDays ?? 7,
      administratorLogin: 'hostedbots',
      administratorPasswordWo: dbPassword.result,
      administratorPasswordWoVersion: 1,
      publicNetworkAccessEnabled: true,
      lifecycle: { ignoreChanges: ['zone'] },
    });
    new PostgresqlFlexibleServerDatabase(this, 'database-runtime', { name: 'hostedbots', serverId: this.database.id, charset: 'UTF8', collation: 'en_US.utf8' });
    // 0.0.0.0 admits Azure services only (the App Service's outbound addresses), not the Internet.
    new PostgresqlFlexibleServerFirewallRule(this, 'database-azure-services', {
      name: 'allow-azure-services',
      serverId: this.database.id,
      startIpAddress: '0.0.0.0',
      endIpAddress: '0.0.0.0',
    });
    const connection = secret(
      'secret-store',
      'runtime-store-connection',
      `postgresql://hostedbots:${Fn.urlencode(dbPassword.result)}@${this.database.fqdn}:5432/hostedbots?sslmode=require`,
    );
    this.adminTokenSecret = secret('secret-admin-token', 'runtime-admin-token', adminToken.result);
    if (props.metrics ?? true) {
      const metricsToken = new Password(this, 'metrics-token', { length: 48, special: false });
      this.metricsTokenSecret = secret('secret-metrics-token', 'runtime-metrics-token', metricsToken.result);
    }

    // Roles: one custom role, assigned only where scaling acts.
    const assignableScopes = [site.resourceGroupId];
    // An existing subnet may live in another resource group; the role must be assignable there.
    const subnetGroup = env.virtualNetwork ? undefined : resourceGroupOf(env.subnetId);
    if (subnetGroup) assignableScopes.push(subnetGroup);
    const role = new RoleDefinition(this, 'runtime-role', {
      name: names.roleDefinition('runtime', env.name, env.region),
      scope: site.resourceGroupId,
      assignableScopes,
      description: `What the hosted RPA bots runtime of environment ${env.name} needs to scale its bot groups.`,
      permissions: [{ actions: RUNTIME_ACTIONS }],
    });
    const assign = (aid: string, scope: string, roleDefinition: { id?: string; name?: string }) => {
      this.roleAssignments.push(
        new RoleAssignment(this, aid, {
          scope,
          principalId: this.identity.principalId,
          principalType: 'ServicePrincipal',
          ...(roleDefinition.id ? { roleDefinitionId: roleDefinition.id } : { roleDefinitionName: roleDefinition.name }),
        }),
      );
    };
    const runtimeRole = { id: role.roleDefinitionResourceId };
    assign('scale-subnet', env.subnetId, runtimeRole);
    assign('scale-nsg', env.networkSecurityGroupId, runtimeRole);
    // Groups are added after the stack is built: their secrets and roles follow as they come.
    env.onGroupAdded((group) => {
      secret(`secret-bot-token-${group.name}`, `bot-token-${group.name}`, group.botToken.result);
      secret(`secret-admin-password-${group.name}`, `bot-admin-password-${group.name}`, group.adminPassword);
      assign(`scale-${group.name}`, group.scaleSetId, runtimeRole);
      assign(`assign-identity-${group.name}`, group.identity.id, runtimeRole);
      if (group.image instanceof GalleryImageSource) assign(`read-image-${group.name}`, group.image.version.id, { name: 'Reader' });
    });

    const plan = new ServicePlan(this, 'plan', { name: `asp-hostedbots-${env.name}`, resourceGroupName, location, osType: 'Linux', skuName: props.planSku ?? 'B1' });
    // A file asset: the zip is made once per build, not once per stack at every synth.
    const bundle = new TerraformAsset(this, 'bundle', { path: runtimeBundleZip(props.bundleZip), type: AssetType.FILE });
    const vaultRef = (s: KeyVaultSecret) => `@Microsoft.KeyVault(SecretUri=${s.versionlessId})`;
    this.app = new LinuxWebApp(this, 'app', {
      name: site.appName,
      resourceGroupName,
      location,
      servicePlanId: plan.id,
      httpsOnly: true,
      // Dashboard sessions live in each instance's memory: keep a browser on one instance.
      clientAffinityEnabled: true,
      zipDeployFile: bundle.path,
      identity: { type: 'UserAssigned', identityIds: [this.identity.id] },
      keyVaultReferenceIdentityId: this.identity.id,
      ftpPublishBasicAuthenticationEnabled: false,
      webdeployPublishBasicAuthenticationEnabled: false,
      siteConfig: {
        alwaysOn: true,
        healthCheckPath: '/healthz',
        healthCheckEvictionTimeInMin: 5,
        minimumTlsVersion: '1.2',
        ftpsState: 'Disabled',
        appCommandLine: 'node main.js runtime',
        applicationStack: { nodeVersion: '20-lts' },
      },
      appSettings: {
        WEBSITE_RUN_FROM_PACKAGE: '1',
        SCM_DO_BUILD_DURING_DEPLOYMENT: 'false',
        // Resolved at synth, once every group is declared; Terraform fills in the IDs at apply.
        // JSON text with Terraform interpolations for the values known at apply (IDs, hashes).
        HOSTED_BOTS_MANIFEST: Lazy.stringValue({ produce: () => JSON.stringify(site.manifest()) }),
        HOSTED_BOTS_STORE: vaultRef(connection),
        HOSTED_BOTS_ADMIN_TOKEN_SHA256: Fn.sha256(adminToken.result),
        AZURE_CLIENT_ID: this.identity.clientId,
        ...(this.metricsTokenSecret ? { HOSTED_BOTS_METRICS_TOKEN: vaultRef(this.metricsTokenSecret) } : {}),
        ...(props.entra ? { HOSTED_BOTS_ENTRA_TENANT: props.entra.tenantId, HOSTED_BOTS_ENTRA_AUDIENCE: props.entra.audience } : {}),
      },
    });
    this.url = `https://${this.app.defaultHostname}`;
  }
}

/** The resource group ID of a resource ID, at synth when it is a plain string, else in Terraform. */
function resourceGroupOf(resourceId: string): string | undefined {
  if (Token.isUnresolved(resourceId)) {
    return Fn.element(Fn.regex('^(/subscriptions/[^/]+/resourceGroups/[^/]+)', resourceId), 0);
  }
  return /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+)/i.exec(resourceId)?.[1];
}
