/**
 * The one place that imports CDK for Terraform's core library.
 *
 * CDKTF was archived upstream; its community fork `cdktn` is a drop-in rename. Every other module
 * imports core classes from here, so that move is a change to this file (or a package alias).
 * Provider resources are imported deeply (`@cdktf/provider-azurerm/lib/<resource>`), never
 * through the provider's index, which costs seconds to load.
 */
export {
  Annotations,
  App,
  AzurermBackend,
  Aspects,
  Fn,
  LocalBackend,
  TerraformAsset,
  AssetType,
  TerraformElement,
  TerraformLocal,
  TerraformOutput,
  TerraformResource,
  TerraformStack,
  TerraformVariable,
  Token,
  Tokenization,
  Lazy,
  Op,
  conditional,
} from 'cdktf';
// Not re-exported by the package index; both are stable parts of cdktf's synthesis.
export { addCustomSynthesis } from 'cdktf/lib/synthesize/synthesizer';
export { resolve as resolveTokens } from 'cdktf/lib/_tokens';
export type { AzurermBackendConfig, IAspect, IResolvable, IResolveContext, ISynthesisSession, TerraformBackend } from 'cdktf';
export { Construct } from 'constructs';
export type { IConstruct } from 'constructs';

/** Context key that keeps cdktf from recording a stack trace with every annotation. */
export const DISABLE_STACK_TRACES = '@cdktf/disable_stack_trace_in_metadata';
