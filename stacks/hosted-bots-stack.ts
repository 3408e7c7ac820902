/**
 * One bot environment in one geography: the provider, a resource group, the network, the roles,
 * the bot groups, and the fleet manifest the runtime reads.
 */
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { RandomProvider } from '@cdktf/provider-random/lib/provider';
import { BotEnvironment, BotEnvironmentProps } from '../constructs/bot-environment';
import { agentBundleSha256, botAuthenticationOf, BotRuntime, BotRuntimeProps, runtimeAppName, runtimeBundleZip, runtimeUrlOf } from '../constructs/bot-runtime';
import { Aspects, Construct, Fn, resolveTokens, TerraformLocal, TerraformOutput, TerraformStack } from '../constructs/cdktf';
import { DISABLE_STACK_TRACES } from '../constructs/cdktf';
import { FleetManifest, FleetManifestFile } from '../constructs/fleet-manifest';
import { assertGeography, Geography, resolveRegion } from '../constructs/geography';
import { GlobalNameInputs, NAME_SUFFIX_LENGTH, names, resourceGroupId } from '../constructs/naming';
import { IPlacementProvider, ResourcePlacement } from '../constructs/placement';
import { AzureRulesAspect } from '../constructs/policy';
import { Tags, TagsAspect } from '../constructs/tags';
import { expressionString } from '../constructs/terraform-expressions';
import { BotStackBackend, configureBackend } from './backend';

export interface HostedBotsStackProps {
  /** The geography; it picks the default region. UAE, Korea and sovereign clouds are not supported. */
  readonly geography: Geography;
  /** A region of the same geography. @default the geography's region, see regionFor() */
  readonly region?: string;
  readonly environment: BotEnvironmentProps;
  /** @default an App Service named after the environment, region and stack */
  readonly runtime?: BotRuntimeProps;
  /** @default local state in `terraform.<stack id>.tfstate` of the directory synth runs in */
  readonly backend?: BotStackBackend;
  /**
   * Begins every Azure-wide name (Key Vault, storage account, PostgreSQL server, App Service):
   * 1-8 lowercase letters or digits, starting with a letter, e.g. your organisation's short name.
   * @default no prefix; the names still end in a suffix unique per subscription and resource group
   */
  readonly globalNamePrefix?: string;
  /** Tags for every taggable resource of the stack. @default only the hosted-bots tags */
  readonly tags?: Tags;
}

export class HostedBotsStack extends TerraformStack implements IPlacementProvider {
  readonly geography: Geography;
  readonly region: string;
  readonly resourceGroup: ResourceGroup;
  readonly placement: ResourcePlacement;
  readonly environment: BotEnvironment;
  /** The HTTPS address of this stack's runtime, which bots and users call; its name part is a Terraform expression (see naming.ts). */
  readonly runtimeUrl: string;
  readonly runtime: BotRuntime;
  /** What the Azure-wide names are built from; `suffix` is a Terraform expression. */
  readonly globalNames: GlobalNameInputs;
  private promotion?: readonly string[];

  constructor(scope: Construct, id: string, props: HostedBotsStackProps) {
    super(scope, id);
    // Rule findings point at constructs by path; a stack trace into the Aspect would only add noise.
    this.node.setContext(DISABLE_STACK_TRACES, true);
    this.geography = assertGeography(props.geography, `${id}: geography`);
    this.region = resolveRegion(this.geography, props.region, `${id}: region`);
    const envName = props.environment.name;

    configureBackend(this, props.backend);
    new AzurermProvider(this, 'azurerm', { features: [{}] });
    new RandomProvider(this, 'random');
    const client = new DataAzurermClientConfig(this, 'client');

    const resourceGroupName = names.resourceGroup(envName, this.region);
    this.resourceGroup = new ResourceGroup(this, 'resource-group', {
      name: resourceGroupName,
      location: this.region,
    });
    this.placement = { resourceGroupName: this.resourceGroup.name, location: this.region, declaredResourceGroupName: resourceGroupName };
    // Unique per subscription and resource group, and the same on every apply: Bicep's
    // uniqueString(resourceGroup().id), computed by Terraform from the resource group's ID.
    const suffix = new TerraformLocal(
      this,
      'global_name_suffix',
      Fn.substr(Fn.sha256(Fn.lower(expressionString(resourceGroupId(client.subscriptionId, resourceGroupName)))), 0, NAME_SUFFIX_LENGTH),
    ).asString;
    this.globalNames = { prefix: props.globalNamePrefix, environment: envName, suffix };
    const appName = runtimeAppName(props.runtime, this.globalNames);
    this.runtimeUrl = runtimeUrlOf(appName);

    this.environment = new BotEnvironment(this, 'environment', props.environment, {
      stackName: id,
      geography: this.geography,
      region: this.region,
      placement: this.placement,
      resourceGroupName,
      resourceGroupId: this.resourceGroup.id,
      subscriptionId: client.subscriptionId,
      runtimeUrl: this.runtimeUrl,
      // The same package the runtime ships (BotRuntime resolves it the same way).
      agentSha256: agentBundleSha256(runtimeBundleZip(props.runtime?.bundleZip)),
      botAuth:
        botAuthenticationOf(props.runtime) === 'managed-identity' && props.runtime?.entra
          ? { kind: 'managed-identity', audience: props.runtime.entra.audience }
          : { kind: 'token' },
      nameSuffix: suffix,
    });

    this.runtime = new BotRuntime(this, 'runtime', props.runtime ?? {}, {
      environment: this.environment,
      appName,
      tenantId: client.tenantId,
      resourceGroupId: this.resourceGroup.id,
      globalNames: this.globalNames,
      manifest: () => this.fleetManifest,
    });
    new TerraformOutput(this, 'runtime_url', { value: this.runtime.url, description: 'The runtime API and dashboard.' });
    new TerraformOutput(this, 'runtime_principal_id', { value: this.runtime.identity.principalId, description: "The runtime identity's object ID." });
    new TerraformOutput(this, 'key_vault_name', { value: this.runtime.keyVault.name, description: 'Holds the runtime admin token (and metrics token), which the runtime creates on its first start.' });
    new TerraformOutput(this, 'admin_token_secret', {
      value: this.runtime.adminTokenSecretName,
      description: 'az keyvault secret show --vault-name <key_vault_name> --name <admin_token_secret> --query value -o tsv (from operatorIpRanges or the VNet, as a secretReader)',
    });
    if (this.runtime.metricsTokenSecretName) {
      new TerraformOutput(this, 'metrics_token_secret', {
        value: this.runtime.metricsTokenSecretName,
        description: 'The bearer token for /metrics: az keyvault secret show --vault-name <key_vault_name> --name <metrics_token_secret> --query value -o tsv',
      });
    }

    new FleetManifestFile(this, 'fleet-manifest', () => this.fleetManifest);
    Aspects.of(this).add(new AzureRulesAspect());
    Aspects.of(this).add(
      new TagsAspect({
        'hosted-bots-environment': envName,
        'hosted-bots-stack': id,
        'managed-by': 'hosted-rpa-bots',
        ...props.tags,
      }),
    );
  }

  /** The fleet manifest, with Terraform tokens for values known only at apply time. */
  get fleetManifest(): FleetManifest {
    const manifest = this.environment.manifest();
    return this.promotion ? { ...manifest, promotion: { order: this.promotion } } : manifest;
  }

  /** The fleet manifest with tokens rendered as Terraform expressions, as written to fleet.json. */
  resolvedFleetManifest(): FleetManifest {
    return resolveTokens(this, this.fleetManifest);
  }

  /** @internal set by declarePromotionOrder() */
  _setPromotionOrder(order: readonly string[]): void {
    this.promotion = order;
  }
}
