/**
 * Terraform in the loop: every expression of a synthesized stack, parsed and validated by Terraform
 * itself. The stacks need the azurerm and random providers, which cannot be installed here, so each
 * string holding an expression becomes a local of a provider-free configuration: `terraform init
 * -backend=false` and `terraform validate -json` then report every parse error, unknown function
 * and malformed argument, and the only diagnostics left to ignore are references to resources,
 * data sources and variables that the provider-free configuration does not declare.
 *
 * Where `terraform` is not installed, the same strings are parsed with the HCL parser cdktf-cli
 * ships (`@cdktf/hcl2json`), each as a heredoc, which reports the same syntax errors; the check
 * never skips.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** One string of a `cdk.tf.json` that Terraform reads as a template. */
export interface TerraformExpression {
  /** The stack it came from. */
  readonly stack: string;
  /** Where it sits in `cdk.tf.json`, e.g. `resource.azurerm_linux_web_app.runtime_app.app_settings.HOSTED_BOTS_MANIFEST`. */
  readonly path: string;
  readonly text: string;
}

export interface ExpressionProblem {
  readonly stack: string;
  readonly path: string;
  readonly summary: string;
  readonly detail: string;
}

export interface ExpressionCheck {
  readonly checker: 'terraform' | 'hcl2json';
  readonly checked: number;
  readonly problems: ExpressionProblem[];
}

/** Terraform reads every JSON string of a configuration as a template: these hold an interpolation or directive. */
const TEMPLATE = /[$%]\{/;

/** Every string of a synthesized stack that Terraform evaluates as a template, with its path. */
export function expressionsOf(stack: string, terraformJson: unknown): TerraformExpression[] {
  const found: TerraformExpression[] = [];
  const walk = (value: unknown, at: string): void => {
    if (typeof value === 'string') {
      if (TEMPLATE.test(value)) found.push({ stack, path: at, text: value });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${at}[${i}]`));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) walk(item, at ? `${at}.${key}` : key);
    }
  };
  walk(terraformJson, '');
  return found;
}

/** Diagnostics that only say the provider-free configuration lacks what the stack declares. */
const UNDECLARED = /^Reference to undeclared (resource|input variable|local value|module|data resource)/;

/** The terraform binary on PATH, or undefined when there is none. */
export function terraformBinary(): string | undefined {
  const probe = spawnSync('terraform', ['version', '-json'], { encoding: 'utf8' });
  return probe.status === 0 ? 'terraform' : undefined;
}

interface TerraformDiagnostic {
  severity: string;
  summary: string;
  detail?: string;
  range?: { start: { line: number } };
}

/**
 * Validates the expressions with Terraform: one local per line of a `main.tf.json`, so that a
 * diagnostic's line names the expression it is about.
 */
export function checkWithTerraform(expressions: readonly TerraformExpression[], binary = 'terraform'): ExpressionProblem[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-expressions-'));
  try {
    const FIRST_LINE = 2;
    const lines = expressions.map((e, i) => `${JSON.stringify(`e${i}`)}: ${JSON.stringify(e.text)}${i < expressions.length - 1 ? ',' : ''}`);
    fs.writeFileSync(path.join(dir, 'main.tf.json'), `{"locals": {\n${lines.join('\n')}\n}}\n`);
    const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_ARGS: '' };
    const init = spawnSync(binary, ['init', '-backend=false', '-input=false', '-no-color'], { cwd: dir, encoding: 'utf8', env });
    // A parse error stops init too; validate below reports it with its position.
    const validate = spawnSync(binary, ['validate', '-json', '-no-color'], { cwd: dir, encoding: 'utf8', env });
    let report: { diagnostics?: TerraformDiagnostic[] };
    try {
      report = JSON.parse(validate.stdout) as { diagnostics?: TerraformDiagnostic[] };
    } catch {
      throw new Error(`terraform validate printed no JSON (exit ${validate.status}):\n${validate.stdout}${validate.stderr}\ninit: ${init.stdout}${init.stderr}`);
    }
    return (report.diagnostics ?? [])
      .filter((d) => !UNDECLARED.test(d.summary))
      .map((d) => {
        const index = d.range ? d.range.start.line - FIRST_LINE : -1;
        const at = expressions[index];
        return {
          stack: at?.stack ?? '(unknown)',
          path: at?.path ?? `(line ${d.range?.start.line ?? '?'} of the provider-free configuration)`,
          summary: `${d.severity}: ${d.summary}`,
          detail: d.detail ?? '',
        };
      });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses each expression as a heredoc template with cdktf-cli's HCL parser. */
export async function checkWithHcl(expressions: readonly TerraformExpression[]): Promise<ExpressionProblem[]> {
  // Loaded only on this path, taken where terraform is not installed.
  const { parse } = require('@cdktf/hcl2json') as { parse: (file: string, text: string) => Promise<unknown> };
  const problems: ExpressionProblem[] = [];
  for (const e of expressions) {
    let marker = 'EXPRESSION';
    while (e.text.split('\n').some((line) => line.trim() === marker)) marker += '_';
    try {
      await parse('expression.tf', `locals {\n  e = <<${marker}\n${e.text}\n${marker}\n}\n`);
    } catch (err) {
      problems.push({ stack: e.stack, path: e.path, summary: 'parse error', detail: (err as Error).message });
    }
  }
  return problems;
}

/** Checks with Terraform when it is installed, else with the HCL parser. */
export async function checkExpressions(expressions: readonly TerraformExpression[]): Promise<ExpressionCheck> {
  const binary = terraformBinary();
  if (binary) return { checker: 'terraform', checked: expressions.length, problems: checkWithTerraform(expressions, binary) };
  return { checker: 'hcl2json', checked: expressions.length, problems: await checkWithHcl(expressions) };
}

/** One line per problem, naming the stack and the resource path. */
export function describeProblems(problems: readonly ExpressionProblem[]): string {
  return problems.map((p) => `${p.stack}: ${p.path}: ${p.summary}${p.detail ? ` (${p.detail})` : ''}`).join('\n');
}

/**
 * Evaluates JSON-syntax template strings with `terraform console`, after replacing references the
 * provider-free configuration cannot hold (a resource's attribute, a data source) with values:
 * each key of `values` is a regular expression source, each value the HCL expression put in its place.
 */
export function evaluateWithTerraform(templates: Readonly<Record<string, string>>, values: Readonly<Record<string, string>>, binary = 'terraform'): Record<string, string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-evaluate-'));
  try {
    const replace = (text: string) => Object.entries(values).reduce((t, [pattern, value]) => t.replace(new RegExp(pattern, 'g'), value), text);
    const locals = Object.fromEntries(Object.entries(templates).map(([name, text]) => [name, replace(text)]));
    fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ locals }));
    const names = Object.keys(templates);
    const result = spawnSync(binary, ['console'], {
      cwd: dir,
      input: `jsonencode([${names.map((n) => `local.${n}`).join(', ')}])\n`,
      encoding: 'utf8',
      env: { ...process.env, CHECKPOINT_DISABLE: '1' },
    });
    if (result.status !== 0) throw new Error(`terraform console failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
    const evaluated = JSON.parse(JSON.parse(result.stdout.trim())) as string[];
    return Object.fromEntries(names.map((n, i) => [n, evaluated[i]]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The terraform binary for a test that evaluates with it. CI machines have it, so there a missing
 * binary fails the test; elsewhere the test says what it leaves out and returns undefined.
 */
export function terraformFor(purpose: string): string | undefined {
  const binary = terraformBinary();
  if (binary) return binary;
  if (process.env.CI) throw new Error(`terraform is not on PATH; CI machines have it (needed for ${purpose})`);
  console.warn(`terraform is not on PATH: skipping ${purpose}`);
  return undefined;
}
