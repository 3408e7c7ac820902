/**
 * One tags shape for every construct: a map of strings. Stacks apply their tags to every taggable
 * resource below them through an Aspect; tags set on a construct win over the stack's.
 */
import { IAspect, IConstruct, TerraformResource } from './cdktf';

/** Azure resource tags. */
export type Tags = Readonly<Record<string, string>>;

interface TaggableResource {
  tagsInput?: Record<string, string>;
  tags: Record<string, string>;
}

function isTaggable(node: IConstruct): node is TerraformResource & TaggableResource {
  return node instanceof TerraformResource && 'tagsInput' in node;
}

/** Merges tags into every taggable resource below the scope it is added to. */
export class TagsAspect implements IAspect {
  constructor(private readonly tags: Tags) {}

  visit(node: IConstruct): void {
    if (!isTaggable(node)) return;
    node.tags = { ...this.tags, ...(node.tagsInput ?? {}) };
  }
}
