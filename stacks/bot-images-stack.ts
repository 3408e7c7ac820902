/**
 * The compute gallery and its bot images, shared by the environment stacks of every geography.
 */
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { Aspects, Construct, TerraformStack } from '../constructs/cdktf';
import { DISABLE_STACK_TRACES } from '../constructs/cdktf';
import { BotImageGallery, GallerySharing } from '../constructs/image-gallery';
import { normalizeRegion } from '../constructs/geography';
import { IPlacementProvider, ResourcePlacement } from '../constructs/placement';
import { AzureRulesAspect } from '../constructs/policy';
import { RoleAssignment } from '../constructs/role-assignments';
import { Tags, TagsAspect } from '../constructs/tags';
import { BotStackBackend, configureBackend } from './backend';

export interface BotImagesStackProps {
  /** The region of the gallery; each image version also keeps a replica here. */
  readonly location: string;
  /** @default `rg-hostedbots-images-<location>` */
  readonly resourceGroupName?: string;
  /** @default { name: 'botimages' } */
  readonly gallery?: {
    readonly name?: string;
    readonly description?: string;
    readonly sharing?: GallerySharing;
    readonly readers?: readonly string[];
    readonly roleAssignments?: readonly RoleAssignment[];
  };
  /** @default local state in the working directory */
  readonly backend?: BotStackBackend;
  /** @default only the hosted-bots tags */
  readonly tags?: Tags;
}

export class BotImagesStack extends TerraformStack implements IPlacementProvider {
  readonly placement: ResourcePlacement;
  readonly resourceGroup: ResourceGroup;
  readonly gallery: BotImageGallery;

  constructor(scope: Construct, id: string, props: BotImagesStackProps) {
    super(scope, id);
    // Rule findings point at constructs by path; a stack trace into the Aspect would only add noise.
    this.node.setContext(DISABLE_STACK_TRACES, true);
    const location = normalizeRegion(props.location);
    configureBackend(this, props.backend);
    new AzurermProvider(this, 'azurerm', { features: [{}] });
    const resourceGroupName = props.resourceGroupName ?? `rg-hostedbots-images-${location}`;
    this.resourceGroup = new ResourceGroup(this, 'resource-group', { name: resourceGroupName, location });
    this.placement = { resourceGroupName: this.resourceGroup.name, location, declaredResourceGroupName: resourceGroupName };
    this.gallery = new BotImageGallery(this, 'gallery', {
      name: props.gallery?.name ?? 'botimages',
      description: props.gallery?.description ?? 'Images for hosted RPA bots',
      sharing: props.gallery?.sharing,
      readers: props.gallery?.readers,
      roleAssignments: props.gallery?.roleAssignments,
    });
    Aspects.of(this).add(new AzureRulesAspect());
    Aspects.of(this).add(new TagsAspect({ 'hosted-bots-stack': id, 'managed-by': 'hosted-rpa-bots', ...props.tags }));
  }
}
