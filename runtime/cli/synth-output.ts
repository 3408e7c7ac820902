/**
 * What `cdktf synth` wrote, as the deployer needs it: the stacks of `manifest.json` and their
 * dependencies, each environment stack's fleet.json, and the image versions of image stacks.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The parts of a synthesized fleet.json the deployer reads; values known at apply time are Terraform expressions. */
export interface SynthFleet {
  readonly environment: { readonly name: string; readonly geography: string; readonly region: string; readonly botCapacity: number; readonly plan?: string };
  readonly groups: ReadonlyArray<{
    readonly name: string;
    readonly maxBots: number;
    readonly committedBots?: number;
    readonly image?: { readonly kind: string; readonly sku?: string; readonly gallery?: string; readonly image?: string; readonly version?: string };
    readonly flows?: Readonly<Record<string, unknown>>;
  }>;
  readonly promotion?: { readonly order: readonly string[] };
}

export interface ImageVersionSummary {
  readonly gallery: string;
  readonly image: string;
  readonly version: string;
  readonly regions: readonly string[];
}

/** A rule of the pack that the app suppressed, with the reason it gave. */
export interface SuppressedRuleRecord {
  readonly id: string;
  readonly path: string;
  readonly reason: string;
}

export interface SynthStack {
  readonly name: string;
  readonly dependencies: readonly string[];
  readonly directory: string;
  /** Present for environment stacks. */
  readonly fleet?: SynthFleet;
  readonly imageVersions: readonly ImageVersionSummary[];
  /** From the stack's `"//".metadata.suppressedRules`, which the rule pack writes. */
  readonly suppressedRules: readonly SuppressedRuleRecord[];
}

function readJson(file: string, what: string): any {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** `${azurerm_x.id.name}` → that resource's literal name, when the same file declares it. */
function literal(value: unknown, resources: Record<string, Record<string, any>>): string {
  if (typeof value !== 'string') return '?';
  const ref = /^\$\{([\w-]+)\.([\w-]+)\.name\}$/.exec(value);
  if (!ref) return value;
  const name = resources[ref[1]]?.[ref[2]]?.name;
  return typeof name === 'string' && !name.includes('${') ? name : value;
}

function imageVersionsOf(tfJson: any): ImageVersionSummary[] {
  const resources = (tfJson?.resource ?? {}) as Record<string, Record<string, any>>;
  return Object.values(resources.azurerm_shared_image_version ?? {}).map((v) => ({
    gallery: literal(v.gallery_name, resources),
    image: literal(v.image_name, resources),
    version: String(v.name),
    regions: (Array.isArray(v.target_region) ? v.target_region : [v.target_region]).filter(Boolean).map((r: { name: string }) => String(r.name)),
  }));
}

function suppressedRulesOf(tfJson: any): SuppressedRuleRecord[] {
  const list = tfJson?.['//']?.metadata?.suppressedRules;
  if (!Array.isArray(list)) return [];
  return list.map((r: Record<string, unknown>) => ({ id: String(r?.id), path: String(r?.path), reason: String(r?.reason) }));
}

export class SynthOutput {
  private readonly byName: ReadonlyMap<string, SynthStack>;

  private constructor(
    readonly outdir: string,
    readonly stacks: readonly SynthStack[],
  ) {
    this.byName = new Map(stacks.map((s) => [s.name, s]));
  }

  static read(outdir: string): SynthOutput {
    const manifestFile = path.join(outdir, 'manifest.json');
    if (!fs.existsSync(manifestFile)) {
      throw new Error(`${manifestFile} does not exist: cdktf synth wrote its output elsewhere; pass the app's output folder with --output`);
    }
    const manifest = readJson(manifestFile, 'cdktf manifest');
    if (!manifest || typeof manifest.stacks !== 'object') throw new Error(`cdktf manifest ${manifestFile} has no "stacks"`);
    const stacks = Object.entries(manifest.stacks as Record<string, any>).map(([key, s]): SynthStack => {
      const name = String(s.name ?? key);
      const directory = path.join(outdir, String(s.workingDirectory ?? path.join('stacks', name)));
      const fleetFile = path.join(directory, 'fleet.json');
      const tfFile = path.join(outdir, String(s.synthesizedStackPath ?? path.join('stacks', name, 'cdk.tf.json')));
      const tfJson = fs.existsSync(tfFile) ? readJson(tfFile, 'Terraform configuration') : undefined;
      return {
        name,
        dependencies: Array.isArray(s.dependencies) ? s.dependencies.map(String) : [],
        directory,
        fleet: fs.existsSync(fleetFile) ? readJson(fleetFile, 'fleet manifest') : undefined,
        imageVersions: tfJson ? imageVersionsOf(tfJson) : [],
        suppressedRules: tfJson ? suppressedRulesOf(tfJson) : [],
      };
    });
    return new SynthOutput(outdir, stacks);
  }

  get names(): string[] {
    return this.stacks.map((s) => s.name);
  }

  get(name: string): SynthStack | undefined {
    return this.byName.get(name);
  }

  /** Refuses names that are not stacks of the app, listing the ones that are. */
  assertKnown(names: readonly string[], what: string): void {
    const unknown = names.filter((n) => !this.byName.has(n));
    if (unknown.length) {
      const list = unknown.map((n) => `"${n}"`).join(', ');
      throw new Error(`${what} ${list} ${unknown.length > 1 ? 'are not stacks' : 'is not a stack'} of this app; its stacks are: ${this.names.join(', ')}`);
    }
  }

  /** Every stack `name` depends on, directly or not. */
  ancestors(name: string): Set<string> {
    const seen = new Set<string>();
    const visit = (n: string) => {
      for (const d of this.byName.get(n)?.dependencies ?? []) {
        if (!seen.has(d)) {
          seen.add(d);
          visit(d);
        }
      }
    };
    visit(name);
    return seen;
  }

  /**
   * The stacks in an order where each comes after the stacks it depends on; ties keep the order
   * of `names` (all stacks in manifest order when not given).
   */
  dependencyOrder(names: readonly string[] = this.names): string[] {
    const wanted = [...new Set(names)];
    const ordered: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (n: string, trail: string[]) => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'visiting') throw new Error(`stacks depend on each other in a cycle: ${[...trail, n].join(' → ')}`);
      state.set(n, 'visiting');
      for (const d of this.byName.get(n)?.dependencies ?? []) visit(d, [...trail, n]);
      state.set(n, 'done');
      ordered.push(n);
    };
    for (const n of wanted) visit(n, []);
    const selected = new Set(wanted);
    return ordered.filter((n) => selected.has(n));
  }

  /** The promotion order the environment stacks declare; undefined when none does. */
  declaredPromotionOrder(): readonly string[] | undefined {
    const declared = this.stacks.filter((s) => s.fleet?.promotion?.order?.length);
    if (declared.length === 0) return undefined;
    const first = declared[0].fleet!.promotion!.order;
    const other = declared.find((s) => s.fleet!.promotion!.order.join(',') !== first.join(','));
    if (other) {
      throw new Error(
        `stacks declare different promotion orders: ${declared[0].name} has ${first.join(', ')}, ${other.name} has ${other.fleet!.promotion!.order.join(', ')}; call declarePromotionOrder() once, or pass --order`,
      );
    }
    return first;
  }
}

export function imageLabel(image: SynthFleet['groups'][number]['image']): string {
  if (!image) return 'default';
  if (image.kind === 'marketplace') return `${image.sku} (marketplace)`;
  if (image.kind === 'gallery') return `${image.gallery}/${image.image}@${image.version}`;
  return image.kind;
}
