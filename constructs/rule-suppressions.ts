/**
 * Suppressing a rule of the pack for a construct and everything below it, with a reason.
 *
 * A suppressed finding is neither an error nor a warning: it is recorded instead, as an info
 * annotation and in the stack's synthesized JSON (`"//".metadata.suppressedRules`), so that a
 * reviewer sees every rule that was set aside and why.
 */
import { isRuleId, RULE_CATALOGUE, RuleId } from './azure-rules';
import { Construct, IConstruct, TerraformElement, TerraformStack } from './cdktf';

/** A reason must say something; cdk-nag asks for ten characters too. */
export const MIN_SUPPRESSION_REASON = 10;

export interface RuleSuppression {
  readonly id: RuleId;
  readonly reason: string;
}

/** A suppressed finding as recorded in the synthesized stack. */
export interface SuppressedRule {
  readonly id: RuleId;
  /** The construct the finding was about. */
  readonly path: string;
  readonly reason: string;
}

/** The key under the stack's `"//".metadata` that lists the suppressed findings. */
export const SUPPRESSED_RULES_METADATA = 'suppressedRules';

const BY_SCOPE = new WeakMap<IConstruct, Map<RuleId, string>>();

function where(scope: IConstruct): string {
  return scope.node.path || '(app)';
}

export class RuleSuppressions {
  /** The suppressions of a construct; they apply to it and to every construct below it. */
  static of(scope: IConstruct): RuleSuppressions {
    return new RuleSuppressions(scope);
  }

  /** The suppression of rule `id` that applies to `node`: its own, else its nearest ancestor's. */
  static applying(node: IConstruct, id: RuleId): RuleSuppression | undefined {
    for (const scope of [...node.node.scopes].reverse()) {
      const reason = BY_SCOPE.get(scope)?.get(id);
      if (reason !== undefined) return { id, reason };
    }
    return undefined;
  }

  private constructor(private readonly scope: IConstruct) {}

  /**
   * Suppresses rule `id` here and below. Only rules the catalogue marks suppressible may be
   * suppressed; the reason is kept in the synth output.
   */
  suppress(id: string, reason: string): this {
    const at = `${where(this.scope)}: suppress`;
    if (!isRuleId(id)) {
      throw new Error(`${at}: id ${JSON.stringify(id)} must be a rule ID of the pack, one of ${Object.keys(RULE_CATALOGUE).join(', ')}`);
    }
    const rule = RULE_CATALOGUE[id];
    if (!rule.suppressible) {
      throw new Error(
        `${at}: id "${id}" (${rule.summary}) cannot be suppressed: Azure or the runtime enforces it anyway, so the deploy would fail instead; fix the value`,
      );
    }
    const text = typeof reason === 'string' ? reason.trim() : '';
    if (text.length < MIN_SUPPRESSION_REASON) {
      throw new Error(`${at}: reason ${JSON.stringify(reason)} for "${id}" must be at least ${MIN_SUPPRESSION_REASON} characters saying why the rule does not apply here`);
    }
    let own = BY_SCOPE.get(this.scope);
    if (!own) BY_SCOPE.set(this.scope, (own = new Map()));
    own.set(id, text);
    return this;
  }

  /** The suppressions made on this construct itself (not those inherited from above). */
  get own(): RuleSuppression[] {
    return [...(BY_SCOPE.get(this.scope) ?? new Map<RuleId, string>())].map(([id, reason]) => ({ id, reason }));
  }
}

/** Writes the stack's suppressed findings into its `"//"` metadata block. */
class SuppressedRulesRecord extends TerraformElement {
  readonly entries: SuppressedRule[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
  }

  toMetadata(): Record<string, unknown> {
    return this.entries.length ? { [SUPPRESSED_RULES_METADATA]: this.entries } : {};
  }
}

const RECORD_ID = 'hosted-bots-suppressed-rules';

/** Records a suppressed finding in the synthesized JSON of the stack that holds `node`, once. */
export function recordSuppressed(node: IConstruct, entry: SuppressedRule): void {
  const stack = TerraformStack.of(node);
  const record = (stack.node.tryFindChild(RECORD_ID) as SuppressedRulesRecord | undefined) ?? new SuppressedRulesRecord(stack, RECORD_ID);
  if (!record.entries.some((e) => e.id === entry.id && e.path === entry.path)) record.entries.push(entry);
}
