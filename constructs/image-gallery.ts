/**
 * A compute gallery that holds bot images, private or shared with groups, with Reader role
 * assignments for the principals allowed to use its images.
 */
import { SharedImageGallery } from '@cdktf/provider-azurerm/lib/shared-image-gallery';
import { BotImage, BotImageProps } from './bot-image';
import { Construct } from './cdktf';
import { checkAtSynth, IPolicySubject, PolicyFacts } from './policy';
import { resolvePlacement, ResourcePlacement } from './placement';
import { assignRoles, RoleAssignment } from './role-assignments';
import { Tags } from './tags';

export type GallerySharing = 'private' | 'groups';

export interface BotImageGalleryProps {
  /** Gallery name: 1-80 letters, digits, periods or underscores; no hyphens. */
  readonly name: string;
  /** @default no description */
  readonly description?: string;
  /**
   * `private`: only role assignments give access. `groups`: RBAC plus direct sharing with
   * subscriptions and tenants.
   * @default 'private'
   */
  readonly sharing?: GallerySharing;
  /**
   * Principal object IDs that may read the gallery's images (machine owners, the runtime's
   * identity). Each gets the built-in Reader role on the gallery.
   * @default no readers
   */
  readonly readers?: readonly string[];
  /** @default the enclosing stack's resource group */
  readonly resourceGroupName?: string;
  /** @default the enclosing stack's location */
  readonly location?: string;
  /** @default the enclosing stack's tags only */
  readonly tags?: Tags;
  /** Further role assignments on the gallery. @default none */
  readonly roleAssignments?: readonly RoleAssignment[];
}

export class BotImageGallery extends Construct implements IPolicySubject {
  readonly name: string;
  readonly sharing: GallerySharing;
  readonly placement: ResourcePlacement;
  readonly resource: SharedImageGallery;
  /** The gallery's resource ID. */
  readonly id: string;

  constructor(scope: Construct, id: string, props: BotImageGalleryProps) {
    super(scope, id);
    checkAtSynth(this);
    this.name = props.name;
    this.sharing = props.sharing ?? 'private';
    this.placement = resolvePlacement(scope, props);

    this.resource = new SharedImageGallery(this, 'gallery', {
      name: props.name,
      description: props.description,
      resourceGroupName: this.placement.resourceGroupName,
      location: this.placement.location,
      sharing: { permission: this.sharing === 'groups' ? 'Groups' : 'Private' },
      tags: props.tags ? { ...props.tags } : undefined,
    });
    this.id = this.resource.id;

    assignRoles(this, 'reader', this.id, (props.readers ?? []).map((principalId) => ({
      principalId,
      roleDefinitionIdOrName: 'Reader',
      description: `May use the bot images of gallery ${props.name}`,
    })));
    assignRoles(this, 'role', this.id, props.roleAssignments ?? []);
  }

  /** Adds an image definition: Windows, generalized, Hyper-V Gen2, trusted launch supported. */
  addImage(id: string, props: BotImageProps): BotImage {
    return new BotImage(this, id, props);
  }

  policyFacts(): PolicyFacts {
    return { kind: 'gallery', name: this.name };
  }
}
