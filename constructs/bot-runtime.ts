/**
 * The runtime deployed with every `HostedBotsStack`: one self-contained JavaScript bundle on a
 * Linux App Service, its user-assigned identity with roles on exactly what scaling touches, an
 * Azure Database for PostgreSQL flexible server as its store, and a Key Vault for its secrets.
 *
 * Private by default: the database has private access only (a delegated subnet and a private DNS
 * zone), the App Service is integrated into the environment's VNet and routes all its traffic
 * there, the Key Vault is reached through a private endpoint (and from `operatorIpRanges`, when
 * given, for people reading the admin token), and bots reach the runtime through a private
 * endpoint. Users and pipelines reach the API over HTTPS.
 *
 * Terraform never touches the Key Vault's data plane, so a deploy works from any machine, the
 * second time as well as the first: no secret is a Terraform resource. The runtime creates its own
 * admin and metrics tokens in the vault with its managed identity (runtime/api/runtime-secrets.ts),
 * and signs in to PostgreSQL with that identity's Entra ID tokens: the database has no password.
 * The vault authorizes with Azure RBAC, so deployers never overwrite each other's access.
 *
 * The package reaches the App Service as a blob that the app reads with its managed identity
 * (`WEBSITE_RUN_FROM_PACKAGE` with a blob URL): no publishing credentials, so it works on every
 * apply with basic authentication off. `zip_deploy_file` posts the zip with the publishing
 * profile's basic authentication, which this app turns off: the first apply would publish
 * before the setting applies, and every later one fails with 401 (azurerm docs for
 * linux_web_app; hashicorp/terraform-provider-azurerm#25775).
 *
 * The bots' bootstrap calls the runtime at its App Service address, derived from its name rather
 * than from a resource reference, so that scale sets and the runtime can refer to each other
 * without a cycle.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { LinuxWebApp } from '@cdktf/provider-azurerm/lib/linux-web-app';
import { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
import { PostgresqlFlexibleServerActiveDirectoryAdministrator } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-active-directory-administrator';
import { PostgresqlFlexibleServerDatabase } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-database';
import { PostgresqlFlexibleServerFirewallRule } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-firewall-rule';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
import { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { ServicePlan } from '@cdktf/provider-azurerm/lib/service-plan';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { RUNTIME_SECRET_NAMES } from '../runtime/config/runtime-secret-names';
import type { BotEnvironment } from './bot-environment';
import { GalleryImageSource } from './bot-image';
import { AssetType, Construct, Lazy, TerraformAsset } from './cdktf';
import type { FleetManifest } from './fleet-manifest';
import { PINNED_NODE } from './agent-bootstrap';
import { GlobalNameInputs, names, SAMPLE_NAME_SUFFIX } from './naming';
import { checkAtSynth, IPolicySubject, PolicyFacts } from './policy';
import { resourceGroupOf, virtualNetworkOf } from './resource-ids';
import { markRoutineReplacement } from './routine-replacement';
import { jsonTemplate } from './terraform-expressions';

/** The App Service Node.js stack: the newest LTS that azurerm 4.55 (the provider these bindings pin) accepts. */
export const RUNTIME_NODE_VERSION = '22-lts';

/** The smallest plan with Always On, VNet integration and private endpoints. */
const DEFAULT_PLAN_SKU = 'B1';

export interface BotRuntimeProps {
  /**
   * The runtime's App Service name; it must be unique across Azure (2-60 letters, digits and
   * hyphens, not starting or ending with a hyphen).
   * @default `[prefix-]hostedbots-<environment>-<suffix>`, see naming.ts
   */
  readonly appName?: string;
  /** The App Service plan's SKU: Basic or higher, for Always On, VNet integration and the private endpoint. @default 'B1' */
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
  /**
   * Object IDs (users, groups, service principals) that may read the runtime's secrets in Key
   * Vault (the admin and metrics tokens): the built-in role Key Vault Secrets User on the vault.
   * @default nobody but the runtime itself
   */
  readonly secretReaders?: readonly string[];
  /**
   * Object IDs that may also set new versions of those secrets, to rotate them (the runtime picks
   * a new version up within a minute): Key Vault Secrets Officer on the vault, e.g. the on-call
   * group. Deployers need no role on the vault: Terraform never reads or writes its secrets.
   * @default nobody but the runtime itself
   */
  readonly secretOfficers?: readonly string[];
  /** The zipped runtime bundle (main.js, agent.js) to deploy. @default the one built with this package */
  readonly bundleZip?: string;
  /**
   * Serve Prometheus metrics at `/metrics` to a bearer token that the runtime generates and keeps
   * in Key Vault (secret `runtime-metrics-token`). `false` turns `/metrics` off. @default true
   */
  readonly metrics?: boolean;
  /**
   * Public IPv4 addresses or CIDR ranges from which people may read the runtime's secrets in Key
   * Vault (with a role from `secretReaders` or `secretOfficers`), e.g. your office's egress range.
   * Terraform needs none of them: a deploy works from any address.
   * @default none: the vault has no public network access; read it from inside the VNet
   */
  readonly operatorIpRanges?: readonly string[];
  /**
   * @deprecated Terraform no longer reads or writes the vault's secrets, so the machine that runs it
   * needs no address in the vault's firewall. Addresses given here are not used; synth warns
   * (HRB-NET-3). Use `operatorIpRanges` for people who read the admin token.
   */
  readonly deployerIpRanges?: readonly string[];
  /**
   * How bots prove their group. `managed-identity`: each bot presents an Entra access token of its
   * group's user-assigned identity for `entra.audience`, from the VM's metadata service; no shared
   * secret exists. `token`: a shared group token, generated here and kept on each bot, for runtimes
   * without Entra ID. Either way each bot then proves itself with the credential it registered with.
   * @default 'managed-identity' with `entra`, else 'token'
   */
  readonly botAuthentication?: 'managed-identity' | 'token';
  /**
   * With managed-identity bots, each bot registers with its VM's attested data, which Azure signs
   * with a certificate of its metadata service; the runtime checks that certificate's chain through
   * these issuing CAs (PEM, one or more `BEGIN CERTIFICATE` blocks) up to a root. Microsoft keeps
   * the list of Azure's issuing CAs, with their certificates, in "Azure Certificate Authority
   * details" (Microsoft Learn); the attested data carries only the signing certificate in
   * Microsoft's examples, so without the issuing CA registrations are refused (`attestation_chain`,
   * naming the issuer to add). The runtime setting HOSTED_BOTS_ATTESTATION_INTERMEDIATES.
   * @default none
   */
  readonly attestationIssuers?: string;
  /**
   * The roots attested data must chain to (PEM), the runtime setting HOSTED_BOTS_ATTESTATION_ROOTS.
   * @default Node.js's root store (tls.rootCertificates), which holds the roots Azure's CA list names
   */
  readonly attestationRoots?: string;
  /**
   * Opt out of the private defaults: the database takes connections from every Azure service (the
   * `0.0.0.0` firewall rule, which admits any Azure customer's services, not only yours) and the
   * Key Vault from the whole Internet. Synth warns when this is on.
   * @default false
   */
  readonly publicNetworkAccess?: boolean;
}

/** How the bots of a runtime prove their group: what was asked for, else managed identity where Entra ID is set up. */
export function botAuthenticationOf(props: BotRuntimeProps | undefined): 'managed-identity' | 'token' {
  return props?.botAuthentication ?? (props?.entra ? 'managed-identity' : 'token');
}

/** The App Service name of a stack's runtime. */
export function runtimeAppName(props: BotRuntimeProps | undefined, inputs: GlobalNameInputs): string {
  return props?.appName ?? names.webApp(inputs);
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
  // A checkout run from its sources before any build: build it once per process. The builder is
  // loaded only on this path, so a synth from a built package never loads it.
  const { buildBundle } = require('../runtime/cli/bundle') as typeof import('../runtime/cli/bundle');
  builtBundle ??= `${buildBundle(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hosted-bots-bundle-')), 'bundle'))}.zip`;
  return builtBundle;
}
let builtBundle: string | undefined;

/**
 * The package's blob name, from its content: a new bundle gets a new name, so the app setting
 * changes and App Service loads it ("If you publish an updated package with the same name to Blob
 * storage, you need to restart your app", Microsoft Learn, app-service/deploy-run-package.md).
 */
export function packageBlobName(zip: string): string {
  let digest = packageDigests.get(zip);
  if (!digest) {
    digest = createHash('sha256').update(fs.readFileSync(zip)).digest('hex').slice(0, 16);
    packageDigests.set(zip, digest);
  }
  return `runtime-${digest}.zip`;
}
const packageDigests = new Map<string, string>();

/**
 * The SHA-256 (hex) of the agent inside the runtime package, which the runtime serves to bots and
 * their bootstrap checks before running it. Read from the zip itself, so it is of the very file
 * App Service runs.
 */
export function agentBundleSha256(zip: string): string {
  let digest = agentDigests.get(zip);
  if (!digest) {
    // Loaded on use, as the builder is in runtimeBundleZip.
    const { BUNDLE_FILES, readZipEntry } = require('../runtime/cli/bundle') as typeof import('../runtime/cli/bundle');
    digest = createHash('sha256').update(readZipEntry(zip, BUNDLE_FILES.agent)).digest('hex');
    agentDigests.set(zip, digest);
  }
  return digest;
}
const agentDigests = new Map<string, string>();

/**
 * What the runtime's identity may do, assigned only at the scale sets, identities, subnet, NSG.
 * A group's standby pool asks nothing more of it: "Moving virtual machines between the standby pool
 * into the scale set happens automatically whenever a scale-out event is triggered. There's no extra
 * configuration required." (Microsoft Learn, "Standby pools for Virtual Machine Scale Sets",
 * virtual-machine-scale-sets/standby-pools-overview.md). The pool's own permissions belong to the
 * Standby Pool Resource Provider ("Configure role permissions for standby pools").
 */
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

/**
 * What a scale-out of a Flexible scale set creates in the resource group on the caller's behalf,
 * and a scale-in deletes: VMs (with their extensions), their NICs and disks. These do not exist
 * before the scale-out, so no narrower scope than the resource group can hold the grant. Microsoft
 * Learn, virtual-machine-scale-sets/virtual-machine-scale-sets-orchestration-modes.md, lists
 * "RBAC Permissions Required: Compute Virtual Machine Scale Sets Write, Compute VM Write,
 * Network" for Flexible orchestration, against only the scale set write for Uniform.
 */
export const RUNTIME_INSTANCE_ACTIONS = [
  'Microsoft.Compute/virtualMachines/read',
  'Microsoft.Compute/virtualMachines/write',
  'Microsoft.Compute/virtualMachines/delete',
  'Microsoft.Compute/virtualMachines/extensions/read',
  'Microsoft.Compute/virtualMachines/extensions/write',
  'Microsoft.Compute/disks/read',
  'Microsoft.Compute/disks/write',
  'Microsoft.Compute/disks/delete',
  'Microsoft.Network/networkInterfaces/read',
  'Microsoft.Network/networkInterfaces/write',
  'Microsoft.Network/networkInterfaces/delete',
  'Microsoft.Network/networkInterfaces/join/action',
];

/** Storage Blob Data Reader: what the app's identity needs to load its package from a private container. */
const BLOB_READER = 'Storage Blob Data Reader';

export interface BotRuntimeSite {
  readonly environment: BotEnvironment;
  readonly appName: string;
  readonly tenantId: string;
  readonly resourceGroupId: string;
  /** Global names of the stack, see naming.ts. */
  readonly globalNames: GlobalNameInputs;
  readonly manifest: () => FleetManifest;
}

export class BotRuntime extends Construct implements IPolicySubject {
  readonly identity: UserAssignedIdentity;
  readonly app: LinuxWebApp;
  readonly database: PostgresqlFlexibleServer;
  readonly keyVault: KeyVault;
  /** The Key Vault secret holding the API admin token, which the runtime creates. */
  readonly adminTokenSecretName: string = RUNTIME_SECRET_NAMES.adminToken;
  /** The Key Vault secret holding the token a Prometheus scraper sends to `/metrics`; absent when metrics are off. */
  readonly metricsTokenSecretName?: string;
  /** The runtime's Entra ID administration of its database: it signs in with its identity, no password. */
  readonly databaseAdministrator: PostgresqlFlexibleServerActiveDirectoryAdministrator;
  /** Holds the runtime packages, one blob per bundle. */
  readonly packageStorage: StorageAccount;
  readonly packageBlob: StorageBlob;
  /** Where bots reach the runtime inside the VNet. */
  readonly privateEndpoint: PrivateEndpoint;
  /** The runtime's base URL, as Azure reports it. */
  readonly url: string;
  readonly roleAssignments: RoleAssignment[] = [];

  private readonly props: BotRuntimeProps;
  private readonly site: BotRuntimeSite;

  constructor(scope: Construct, id: string, props: BotRuntimeProps, site: BotRuntimeSite) {
    super(scope, id);
    checkAtSynth(this);
    this.props = props;
    this.site = site;
    const env = site.environment;
    const network = env.network;
    const { resourceGroupName, location } = env.placement;
    const isPrivate = !(props.publicNetworkAccess ?? false);

    this.identity = new UserAssignedIdentity(this, 'identity', { name: names.runtimeIdentity(env.name), resourceGroupName, location });

    // The vault holds only what the runtime writes itself, through its identity: Terraform never
    // reads or writes a secret, so neither plan nor refresh touches the data plane, from wherever
    // they run. Azure RBAC, not access policies: a role assignment per principal, so a pipeline
    // and a person deploying by hand no longer replace each other's access on every apply.
    // Reached through a private endpoint; people read the admin token from `operatorIpRanges`.
    const operatorIps = (props.operatorIpRanges ?? []).map(keyVaultIpRule);
    this.keyVault = new KeyVault(this, 'key-vault', {
      name: names.keyVault(site.globalNames),
      resourceGroupName,
      location,
      tenantId: site.tenantId,
      skuName: 'standard',
      softDeleteRetentionDays: 7,
      rbacAuthorizationEnabled: true,
      publicNetworkAccessEnabled: !isPrivate || operatorIps.length > 0,
      networkAcls: {
        defaultAction: isPrivate ? 'Deny' : 'Allow',
        bypass: 'AzureServices',
        ipRules: operatorIps,
      },
    });
    const vaultRole = (aid: string, principalId: string, roleDefinitionName: string, principalType?: 'ServicePrincipal') => {
      const assignment = new RoleAssignment(this, aid, { scope: this.keyVault.id, principalId, roleDefinitionName, ...(principalType ? { principalType } : {}) });
      this.roleAssignments.push(assignment);
      return assignment;
    };
    // Built-in data-plane roles (Microsoft Learn, key-vault/general/rbac-guide.md): Key Vault
    // Secrets Officer manages secrets, so the runtime creates its tokens and reads new versions;
    // Key Vault Secrets User reads secret contents.
    const runtimeSecrets = vaultRole('vault-runtime', this.identity.principalId, 'Key Vault Secrets Officer', 'ServicePrincipal');
    (props.secretReaders ?? []).forEach((principalId, i) => vaultRole(`vault-reader-${i}`, principalId, 'Key Vault Secrets User'));
    (props.secretOfficers ?? []).forEach((principalId, i) => vaultRole(`vault-officer-${i}`, principalId, 'Key Vault Secrets Officer'));
    if (props.metrics ?? true) this.metricsTokenSecretName = RUNTIME_SECRET_NAMES.metricsToken;

    this.database = this.buildDatabase(isPrivate);
    this.databaseAdministrator = new PostgresqlFlexibleServerActiveDirectoryAdministrator(this, 'database-administrator', {
      serverName: this.database.name,
      resourceGroupName,
      tenantId: site.tenantId,
      objectId: this.identity.principalId,
      principalName: this.identity.name,
      principalType: 'ServicePrincipal',
    });
    new PostgresqlFlexibleServerDatabase(this, 'database-runtime', { name: 'hostedbots', serverId: this.database.id, charset: 'UTF8', collation: 'en_US.utf8' });

    // Roles: one custom role assigned only where scaling acts, and one at the resource group for
    // the VMs, NICs and disks a Flexible scale-out creates there.
    const assignableScopes = [site.resourceGroupId];
    // An existing subnet may live in another resource group; the role must be assignable there.
    const subnetGroup = network.existingSubnet ? resourceGroupOf(env.subnetId) : undefined;
    if (subnetGroup) assignableScopes.push(subnetGroup);
    const role = new RoleDefinition(this, 'runtime-role', {
      name: names.roleDefinition('runtime', env.name, env.region, site.globalNames.suffix),
      scope: site.resourceGroupId,
      assignableScopes,
      description: `What the hosted RPA bots runtime of environment ${env.name} needs to scale its bot groups.`,
      permissions: [{ actions: RUNTIME_ACTIONS }],
    });
    const instancesRole = new RoleDefinition(this, 'runtime-instances-role', {
      name: names.roleDefinition('runtime instances', env.name, env.region, site.globalNames.suffix),
      scope: site.resourceGroupId,
      assignableScopes: [site.resourceGroupId],
      description: `The VMs, NICs and disks that scaling the bot groups of environment ${env.name} creates and deletes.`,
      permissions: [{ actions: RUNTIME_INSTANCE_ACTIONS }],
    });
    const assign = (aid: string, scope: string, roleDefinition: { id?: string; name?: string }) => {
      const assignment = new RoleAssignment(this, aid, {
        scope,
        principalId: this.identity.principalId,
        principalType: 'ServicePrincipal',
        ...(roleDefinition.id ? { roleDefinitionId: roleDefinition.id } : { roleDefinitionName: roleDefinition.name }),
      });
      this.roleAssignments.push(assignment);
      return assignment;
    };
    const runtimeRole = { id: role.roleDefinitionResourceId };
    assign('scale-subnet', env.subnetId, runtimeRole);
    assign('scale-nsg', env.networkSecurityGroupId, runtimeRole);
    assign('scale-instances', site.resourceGroupId, { id: instancesRole.roleDefinitionResourceId });
    // Groups are added after the stack is built: their secrets and roles follow as they come.
    // A group's bot token and admin password reach its VMs in the scale set's protected settings
    // only; no copy goes to the vault.
    env.onGroupAdded((group) => {
      assign(`scale-${group.name}`, group.scaleSetId, runtimeRole);
      assign(`assign-identity-${group.name}`, group.identity.id, runtimeRole);
      if (group.image instanceof GalleryImageSource) assign(`read-image-${group.name}`, group.image.version.id, { name: 'Reader' });
    });

    // The package: a blob in a private container, read by the app's identity.
    this.packageStorage = new StorageAccount(this, 'package-storage', {
      name: names.storageAccount(site.globalNames),
      resourceGroupName,
      location,
      accountTier: 'Standard',
      accountReplicationType: 'LRS',
      minTlsVersion: 'TLS1_2',
      httpsTrafficOnlyEnabled: true,
      allowNestedItemsToBePublic: false,
    });
    const container = new StorageContainer(this, 'package-container', {
      name: 'runtime-packages',
      storageAccountId: this.packageStorage.id,
      containerAccessType: 'private',
    });
    // A file asset: the zip is made once per build, not once per stack at every synth.
    const zip = runtimeBundleZip(props.bundleZip);
    const bundle = new TerraformAsset(this, 'bundle', { path: zip, type: AssetType.FILE });
    this.packageBlob = new StorageBlob(this, 'package', {
      name: packageBlobName(zip),
      storageAccountName: this.packageStorage.name,
      storageContainerName: container.name,
      type: 'Block',
      source: bundle.path,
      contentType: 'application/zip',
      // The running app keeps reading the old package until its setting points at the new one.
      lifecycle: { createBeforeDestroy: true },
    });
    // A new bundle replaces it on purpose: hosted-bots plan and diff report that as routine.
    markRoutineReplacement(this.packageBlob, 'runtime-package');
    const readPackage = assign('read-package', this.packageStorage.id, { name: BLOB_READER });

    // The runtime reaches its vault inside the VNet: a private endpoint beside the app's own, and
    // the zone that makes `<vault>.vault.azure.net` resolve to it there.
    const vaultZone = this.privateZone('vault-dns', 'privatelink.vaultcore.azure.net').zone;
    const vaultEndpoint = new PrivateEndpoint(this, 'vault-private-endpoint', {
      name: names.vaultPrivateEndpoint(env.name),
      resourceGroupName,
      location,
      subnetId: env.subnetId,
      privateServiceConnection: {
        name: 'vault',
        privateConnectionResourceId: this.keyVault.id,
        subresourceNames: ['vault'],
        isManualConnection: false,
      },
      privateDnsZoneGroup: { name: 'vault', privateDnsZoneIds: [vaultZone.id] },
    });

    const plan = new ServicePlan(this, 'plan', { name: names.servicePlan(env.name), resourceGroupName, location, osType: 'Linux', skuName: props.planSku ?? DEFAULT_PLAN_SKU });
    this.app = new LinuxWebApp(this, 'app', {
      name: site.appName,
      resourceGroupName,
      location,
      servicePlanId: plan.id,
      httpsOnly: true,
      // Users and pipelines call the API over HTTPS; bots use the private endpoint below.
      publicNetworkAccessEnabled: true,
      // Dashboard sessions live in each instance's memory: keep a browser on one instance.
      clientAffinityEnabled: true,
      identity: { type: 'UserAssigned', identityIds: [this.identity.id] },
      ftpPublishBasicAuthenticationEnabled: false,
      webdeployPublishBasicAuthenticationEnabled: false,
      virtualNetworkSubnetId: network.runtimeSubnet.id,
      siteConfig: {
        alwaysOn: true,
        healthCheckPath: '/healthz',
        healthCheckEvictionTimeInMin: 5,
        minimumTlsVersion: '1.2',
        ftpsState: 'Disabled',
        // The vault's private endpoint and the database are reached over the VNet: "Linux
        // applications that connect to private endpoints must be explicitly configured to route
        // all traffic through the virtual network" (app-service/app-service-key-vault-references.md).
        vnetRouteAllEnabled: true,
        // Nothing publishes through the SCM site: the package is a blob.
        scmIpRestrictionDefaultAction: 'Deny',
        appCommandLine: 'node main.js runtime',
        applicationStack: { nodeVersion: RUNTIME_NODE_VERSION },
      },
      appSettings: {
        WEBSITE_RUN_FROM_PACKAGE: this.packageBlob.url,
        WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID: this.identity.id,
        // Resolved at synth, once every group is declared; Terraform fills in the IDs at apply.
        HOSTED_BOTS_MANIFEST: Lazy.stringValue({ produce: () => jsonTemplate(site.manifest()) }),
        // No password: the runtime signs in as its identity, the database's Entra ID administrator.
        HOSTED_BOTS_STORE: `postgresql://${encodeURIComponent(names.runtimeIdentity(env.name))}@${this.database.fqdn}:5432/hostedbots?sslmode=require`,
        HOSTED_BOTS_STORE_AUTH: 'managed-identity',
        // The runtime keeps its admin (and metrics) token here, creating them on first start.
        HOSTED_BOTS_KEY_VAULT_URL: this.keyVault.vaultUri,
        AZURE_CLIENT_ID: this.identity.clientId,
        // App Service's front end adds the client's address to X-Forwarded-For: believe one hop.
        HOSTED_BOTS_TRUST_PROXY: '1',
        ...(this.metricsTokenSecretName ? { HOSTED_BOTS_METRICS_TOKEN_SECRET: this.metricsTokenSecretName } : {}),
        ...(props.entra ? { HOSTED_BOTS_ENTRA_TENANT: props.entra.tenantId, HOSTED_BOTS_ENTRA_AUDIENCE: props.entra.audience } : {}),
        ...(props.attestationIssuers ? { HOSTED_BOTS_ATTESTATION_INTERMEDIATES: props.attestationIssuers } : {}),
        ...(props.attestationRoots ? { HOSTED_BOTS_ATTESTATION_ROOTS: props.attestationRoots } : {}),
        // Where the runtime exports its OpenTelemetry metrics, traces and logs; none when monitoring is off.
        ...(env.monitoring ? { APPLICATIONINSIGHTS_CONNECTION_STRING: env.monitoring.connectionString } : {}),
      },
      // The first start loads the package, signs in to the database and writes its tokens: its
      // grants must exist by then, and the vault's private address must resolve.
      dependsOn: [readPackage, this.databaseAdministrator, runtimeSecrets, vaultEndpoint],
    });
    this.url = `https://${this.app.defaultHostname}`;
    env.monitoring?.monitorRuntime({ appId: this.app.id, keyVaultId: this.keyVault.id, databaseId: this.database.id });

    // Bots reach the runtime inside the VNet: a private endpoint in their subnet, and the
    // privatelink zone that makes `<app>.azurewebsites.net` resolve to it there.
    const appZone = this.privateZone('app-dns', 'privatelink.azurewebsites.net').zone;
    this.privateEndpoint = new PrivateEndpoint(this, 'private-endpoint', {
      name: names.runtimePrivateEndpoint(env.name),
      resourceGroupName,
      location,
      subnetId: env.subnetId,
      privateServiceConnection: {
        name: 'runtime',
        privateConnectionResourceId: this.app.id,
        subresourceNames: ['sites'],
        isManualConnection: false,
      },
      privateDnsZoneGroup: { name: 'runtime', privateDnsZoneIds: [appZone.id] },
    });
  }

  /**
   * A private DNS zone in the environment's resource group, linked to its VNet and, with an
   * existing bots subnet, to that subnet's VNet too: bots resolve the runtime's private endpoint
   * through it ("DNS resolution against a private DNS zone works only from virtual networks that
   * are linked to it", Microsoft Learn, "What is an Azure Private DNS zone?", dns/private-dns-privatednszone.md).
   */
  private privateZone(id: string, zoneName: string): { zone: PrivateDnsZone; link: PrivateDnsZoneVirtualNetworkLink } {
    const env = this.site.environment;
    const { resourceGroupName } = env.placement;
    const zone = new PrivateDnsZone(this, id, { name: zoneName, resourceGroupName });
    const linkTo = (lid: string, name: string, virtualNetworkId: string) =>
      new PrivateDnsZoneVirtualNetworkLink(this, lid, { name, resourceGroupName, privateDnsZoneName: zone.name, virtualNetworkId, registrationEnabled: false });
    const link = linkTo(`${id}-link`, names.virtualNetwork(env.name), env.network.virtualNetwork.id);
    if (env.network.existingSubnet) linkTo(`${id}-bots-link`, names.botNetworkLink(env.name), virtualNetworkOf(env.subnetId));
    return { zone, link };
  }

  /**
   * The store. Private by default: "public_network_access_enabled must be set to false when
   * delegated_subnet_id and private_dns_zone_id have a value" (azurerm docs for
   * postgresql_flexible_server), and the server waits for its zone's VNet link.
   */
  private buildDatabase(isPrivate: boolean): PostgresqlFlexibleServer {
    const env = this.site.environment;
    const { resourceGroupName, location } = env.placement;
    const db = this.props.database;
    const common = {
      name: names.postgresServer(this.site.globalNames),
      resourceGroupName,
      location,
      version: db?.version ?? '16',
      skuName: db?.skuName ?? 'B_Standard_B1ms',
      storageMb: db?.storageMb ?? 32768,
      backupRetentionDays: db?.backupRetentionDays ?? 7,
      // Entra ID sign-in only: no password exists to keep, leak or rotate. A server first created
      // with a password login keeps it (`administrator_login` is Optional and Computed, so leaving
      // it out is no change), but password sign-in is switched off in place ("authentication" is
      // updated by PATCH: internal/services/postgres/postgresql_flexible_server_resource.go).
      authentication: { activeDirectoryAuthEnabled: true, passwordAuthEnabled: false, tenantId: this.site.tenantId },
      lifecycle: { ignoreChanges: ['zone'] },
    };
    if (!isPrivate) {
      const server = new PostgresqlFlexibleServer(this, 'database', { ...common, publicNetworkAccessEnabled: true });
      // Opted out: 0.0.0.0 admits every Azure service, any customer's, not only this runtime.
      new PostgresqlFlexibleServerFirewallRule(this, 'database-azure-services', {
        name: 'allow-azure-services',
        serverId: server.id,
        startIpAddress: '0.0.0.0',
        endIpAddress: '0.0.0.0',
      });
      return server;
    }
    const { zone, link } = this.privateZone('database-dns', names.postgresDnsZone(env.name));
    return new PostgresqlFlexibleServer(this, 'database', {
      ...common,
      publicNetworkAccessEnabled: false,
      delegatedSubnetId: env.network.databaseSubnet.id,
      privateDnsZoneId: zone.id,
      dependsOn: [link],
    });
  }

  policyFacts(): PolicyFacts {
    const props = this.props;
    const sample: GlobalNameInputs = { ...this.site.globalNames, suffix: SAMPLE_NAME_SUFFIX };
    return {
      kind: 'runtime',
      globalNamePrefix: this.site.globalNames.prefix,
      names: {
        keyVault: names.keyVault(sample),
        storageAccount: names.storageAccount(sample),
        postgresServer: names.postgresServer(sample),
        webApp: runtimeAppName(props, sample),
      },
      givenBy: props.appName !== undefined ? { webApp: 'runtime.appName' } : {},
      publicNetworkAccess: props.publicNetworkAccess ?? false,
      operatorIpRanges: [...(props.operatorIpRanges ?? [])],
      deployerIpRanges: props.deployerIpRanges ? [...props.deployerIpRanges] : undefined,
      planSku: props.planSku ?? DEFAULT_PLAN_SKU,
      botAuthentication: botAuthenticationOf(props),
      chosen: props.botAuthentication !== undefined,
      entra: props.entra !== undefined,
      nodeVersions: { 'runtime node_version': RUNTIME_NODE_VERSION, 'bots Node.js': PINNED_NODE.version },
    };
  }
}

/** Key Vault takes a single address without its /32. */
function keyVaultIpRule(range: string): string {
  return range.endsWith('/32') ? range.slice(0, -3) : range;
}
