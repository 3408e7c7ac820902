/**
 * Text that reaches Terraform intact.
 *
 * cdktf renders a string literal that sits inside a Terraform expression (a function argument, a
 * map value) between double quotes with only newlines and `${` escaped: a literal holding `"`,
 * `\` or `%{` breaks the expression, so `terraform plan` fails to parse the stack. And a literal at
 * the top level of an attribute is read by Terraform as a template, so `${` or `%{` in user text
 * (a PowerShell `${env:TEMP}`) would be evaluated. The helpers here escape literal text for each
 * place and leave the tokens (references, function calls) as they are.
 *
 * Escapes follow HCL's native syntax specification ("Template Expressions" and "Template
 * Literals"): in a quoted template `\\`, `\"`, `\n`, `\r`, `\t` and `\uNNNN`, and `$${` / `%%{`
 * for a literal `${` / `%{`; in a JSON-syntax template (what `cdk.tf.json` holds) backslashes
 * are JSON's own, and only `$${` / `%%{` are needed.
 */
import { Fn, IResolvable, IResolveContext, Token, Tokenization } from './cdktf';

type Piece = { readonly literal: string } | { readonly token: string };

/**
 * How cdktf encodes a string token (`cdktf/lib/tokens/private/encoding.ts`). The string is split
 * here rather than with `Tokenization.reverseString`, which reads a literal `${` as the start of a
 * raw Terraform expression and so swallows the token after it.
 */
const STRING_TOKEN = /\$\{TfToken\[[a-zA-Z0-9:._-]+\]\}/g;

/** The literal text and the tokens of a string, in order. */
function pieces(value: string): Piece[] {
  const out: Piece[] = [];
  let at = 0;
  for (const match of value.matchAll(STRING_TOKEN)) {
    if (match.index > at) out.push({ literal: value.slice(at, match.index) });
    out.push({ token: match[0] });
    at = match.index + match[0].length;
  }
  if (at < value.length || out.length === 0) out.push({ literal: value.slice(at) });
  return out;
}

/** Escapes text for an HCL quoted string: backslash escapes, and `$${` / `%%{` for template sequences. */
export function escapeQuoted(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\$\{/g, () => '$${')
    .replace(/%\{/g, '%%{');
}

/** Escapes text for a JSON-syntax template: `$${` and `%%{` only (JSON escapes the rest). */
export function escapeTemplate(text: string): string {
  return text.replace(/\$\{/g, () => '$${').replace(/%\{/g, '%%{');
}

/** An HCL string literal: inside an expression, `"<escaped>"`; at the top level, the escaped template text. */
class QuotedLiteral implements IResolvable {
  readonly creationStack: string[] = [];
  constructor(private readonly text: string) {}

  resolve(context: IResolveContext): string {
    return context.suppressBraces ? `"${escapeQuoted(this.text)}"` : `\${"${escapeQuoted(this.text)}"}`;
  }

  toString(): string {
    return Token.asString(this);
  }
}

/**
 * A string as a value that is safe inside any Terraform expression (a function argument, a map or
 * list element): literal parts become escaped HCL strings, joined with the tokens by `join("", …)`.
 * A lone token is returned as it is.
 */
export function expressionString(value: string): string {
  const parts = pieces(value);
  if (parts.length === 1 && 'token' in parts[0]) return parts[0].token;
  const rendered = parts.map((p) => ('token' in p ? p.token : Token.asString(new QuotedLiteral(p.literal))));
  if (rendered.length === 1) return rendered[0];
  return Token.asString({
    creationStack: [],
    resolve: (context: IResolveContext) => {
      const inner = context.suppressBraces;
      context.suppressBraces = true;
      const items = rendered.map((r) => String(context.resolve(r)));
      context.suppressBraces = inner;
      const joined = `join("", [${items.join(', ')}])`;
      return inner ? joined : `\${${joined}}`;
    },
  } as IResolvable);
}

/** Any JSON-like value with each string made safe by {@link expressionString}, for `Fn.jsonencode` and the like. */
export function expressionValue<T>(value: T): T {
  if (typeof value === 'string') return expressionString(value) as T;
  if (Array.isArray(value)) return value.map((v) => expressionValue(v)) as T;
  if (value !== null && typeof value === 'object' && !Tokenization.isResolvable(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expressionValue(v)])) as T;
  }
  return value;
}

/**
 * A string for the top level of an attribute, where Terraform reads a template: a literal has its
 * `${` and `%{` escaped. A string that also holds tokens becomes a `join` expression, because cdktf
 * reads an escaped `$${` next to a token as the start of a raw expression.
 */
export function templateString(value: string): string {
  const parts = pieces(value);
  if (parts.every((p) => 'literal' in p)) return escapeTemplate(value);
  return expressionString(value);
}

/**
 * The JSON text of a value, for an attribute that holds a JSON document: literal text stays
 * literal (escaped for Terraform), and each string holding a token is JSON-encoded by Terraform at
 * apply, so that a value with quotes or backslashes keeps the document valid. Cheaper to
 * synthesize than `Fn.jsonencode` over the whole value, which makes every literal a token.
 */
export function jsonTemplate(value: unknown): string {
  const tokens: string[] = [];
  const marked = JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== 'string' || !pieces(item).some((p) => 'token' in p)) return item;
    tokens.push(item);
    return `\u0000${tokens.length - 1}\u0000`;
  });
  // JSON.stringify writes the marker's NULs as \u0000.
  const text = marked.replace(/"\\u0000(\d+)\\u0000"/g, (_m, i: string) => Fn.jsonencode(expressionString(tokens[Number(i)])));
  return templateString(text);
}
