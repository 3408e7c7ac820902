/**
 * Image definitions and versions in a bot image gallery, and the image a bot group boots from.
 */
import { SharedImage } from '@cdktf/provider-azurerm/lib/shared-image';
import { SharedImageVersion } from '@cdktf/provider-azurerm/lib/shared-image-version';
import type { ImageSourceFacts, ImageSourceKind } from './azure-rules';
import { Construct, Token } from './cdktf';
import { assertGeography, Geography, normalizeRegion, regionFor } from './geography';
import type { BotImageGallery } from './image-gallery';
import { checkAtSynth, IPolicySubject, PolicyFacts } from './policy';
import { Tags } from './tags';

export interface BotImageProps {
  /** Image definition name: 1-80 letters, digits, hyphens, periods or underscores. */
  readonly name: string;
  /** Publisher part of the image identifier. */
  readonly publisher: string;
  /** Offer part of the image identifier. */
  readonly offer: string;
  /** SKU part of the image identifier. */
  readonly sku: string;
  /** @default no description */
  readonly description?: string;
  /** @default the enclosing stack's tags only */
  readonly tags?: Tags;
}

/** An image definition: Windows, generalized, Hyper-V Gen2, trusted launch supported. */
export class BotImage extends Construct implements IPolicySubject {
  readonly name: string;
  readonly gallery: BotImageGallery;
  readonly resource: SharedImage;
  readonly id: string;

  constructor(gallery: BotImageGallery, id: string, props: BotImageProps) {
    super(gallery, id);
    checkAtSynth(this);
    this.name = props.name;
    this.gallery = gallery;
    this.resource = new SharedImage(this, 'image', {
      name: props.name,
      galleryName: gallery.resource.name,
      resourceGroupName: gallery.placement.resourceGroupName,
      location: gallery.placement.location,
      osType: 'Windows',
      specialized: false,
      hyperVGeneration: 'V2',
      trustedLaunchSupported: true,
      description: props.description,
      identifier: { publisher: props.publisher, offer: props.offer, sku: props.sku },
      tags: props.tags ? { ...props.tags } : undefined,
    });
    this.id = this.resource.id;
  }

  /** Adds a version, replicated to the region of every geography that uses it. */
  addVersion(version: string, props: BotImageVersionProps): BotImageVersion {
    return new BotImageVersion(this, `v${version}`, { ...props, version });
  }

  policyFacts(): PolicyFacts {
    return { kind: 'image', name: this.name };
  }
}

/** Where an image version's disk comes from. Exactly one kind. */
export type BotImageVersionSource =
  | { readonly managedImageId: string }
  | { readonly osDiskSnapshotId: string }
  | { readonly blobUri: string; readonly storageAccountId: string };

export interface BotImageVersionProps {
  readonly source: BotImageVersionSource;
  /** The geographies whose stacks use this version: it is replicated to each one's region. */
  readonly geographies: readonly Geography[];
  /**
   * Further regions to replicate to, for stacks that override their geography's default region.
   * @default none
   */
  readonly additionalRegions?: readonly string[];
  /**
   * Replicas per region; more replicas serve more simultaneous VM creations.
   * @default 1
   */
  readonly replicaCount?: number;
  /**
   * The security type of the VM a managed image or OS disk snapshot source was taken from. The
   * library's image definitions are Trusted Launch supported, and Azure fills those only from
   * sources without VM guest state, which a Trusted Launch VM's disk carries; a resource ID does not
   * say which kind of VM it came from, so synth asks for it here (rule HRB-IMAGE-4). Not used for a
   * VHD source, which never carries guest state.
   * @default 'Standard' for a managed image (Azure makes no managed image of a Trusted Launch VM);
   * 'TrustedLaunch' for an OS disk snapshot (new Gen2 VMs are Trusted Launch VMs by default)
   */
  readonly sourceVmSecurityType?: 'Standard' | 'TrustedLaunch';
  /** @default the enclosing stack's tags only */
  readonly tags?: Tags;
}

/** A `Major.Minor.Patch` version of a bot image, replicated to the regions of its geographies. */
export class BotImageVersion extends Construct implements IPolicySubject {
  readonly version: string;
  readonly image: BotImage;
  readonly geographies: readonly Geography[];
  /** Every region with a replica, in declaration order. */
  readonly regions: readonly string[];
  readonly resource: SharedImageVersion;
  /** The version's resource ID; another stack's scale set may reference it. */
  readonly id: string;

  private readonly source: BotImageVersionSource;
  private readonly sourceVmSecurityType?: 'Standard' | 'TrustedLaunch';

  constructor(image: BotImage, id: string, props: BotImageVersionProps & { readonly version: string }) {
    super(image, id);
    checkAtSynth(this);
    this.source = props.source;
    this.sourceVmSecurityType = props.sourceVmSecurityType;
    this.version = props.version;
    this.image = image;
    // In the table's spelling, whatever case the user typed.
    this.geographies = props.geographies.map((g, i) => assertGeography(g, `${this.node.path}: geographies[${i}]`));
    const regions = [...this.geographies.map(regionFor), ...(props.additionalRegions ?? []).map(normalizeRegion)];
    this.regions = [...new Set(regions)];
    const replicaCount = props.replicaCount ?? 1;
    const gallery = image.gallery;

    this.resource = new SharedImageVersion(this, 'version', {
      name: props.version,
      galleryName: gallery.resource.name,
      imageName: image.resource.name,
      resourceGroupName: gallery.placement.resourceGroupName,
      location: gallery.placement.location,
      ...props.source,
      targetRegion: this.regions.map((name) => ({
        name,
        regionalReplicaCount: replicaCount,
        storageAccountType: 'Standard_LRS',
      })),
      tags: props.tags ? { ...props.tags } : undefined,
    });
    this.id = this.resource.id;
  }

  /** How messages name this version: `gallery/image@version`. */
  get label(): string {
    return `${this.image.gallery.name}/${this.image.name}@${this.version}`;
  }

  policyFacts(): PolicyFacts {
    return {
      kind: 'imageVersion',
      version: this.version,
      galleryRegion: normalizeRegion(this.image.gallery.placement.location),
      targetRegions: this.regions,
      geographies: this.geographies,
      ...this.sourceFacts(),
    };
  }

  private sourceFacts(): ImageSourceFacts {
    const source = this.source;
    const [kind, sourceId]: [ImageSourceKind, string] =
      'managedImageId' in source ? ['managedImageId', source.managedImageId] : 'osDiskSnapshotId' in source ? ['osDiskSnapshotId', source.osDiskSnapshotId] : ['blobUri', source.blobUri];
    return {
      source: kind,
      sourceId,
      sourceIsToken: Token.isUnresolved(sourceId),
      sourceVmSecurityType: this.sourceVmSecurityType ?? (kind === 'osDiskSnapshotId' ? 'TrustedLaunch' : 'Standard'),
      sourceVmSecurityTypeGiven: this.sourceVmSecurityType !== undefined,
    };
  }
}

/** The marketplace image bots use unless a group names a gallery version. */
export interface MarketplaceImage {
  readonly publisher: string;
  readonly offer: string;
  readonly sku: string;
  /** @default 'latest' */
  readonly version?: string;
}

/** The image a bot group boots from. */
export abstract class BotImageSource {
  /** The Windows 11 desktop image (Pro, 24H2, Gen2) from the Azure marketplace. */
  static windowsDesktop(image: Partial<MarketplaceImage> = {}): BotImageSource {
    return new MarketplaceImageSource({
      publisher: image.publisher ?? 'MicrosoftWindowsDesktop',
      offer: image.offer ?? 'windows-11',
      sku: image.sku ?? 'win11-24h2-pro',
      version: image.version ?? 'latest',
    });
  }

  /** A version from a compute gallery, possibly declared in another stack of the same app. */
  static fromVersion(version: BotImageVersion): BotImageSource {
    return new GalleryImageSource(version);
  }

  abstract readonly kind: 'marketplace' | 'gallery';
}

export class MarketplaceImageSource extends BotImageSource {
  readonly kind = 'marketplace' as const;
  constructor(readonly image: Required<MarketplaceImage>) {
    super();
  }
}

export class GalleryImageSource extends BotImageSource {
  readonly kind = 'gallery' as const;
  constructor(readonly version: BotImageVersion) {
    super();
  }
}
