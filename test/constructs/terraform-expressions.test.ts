/**
 * Text reaches Terraform intact: literals with quotes, backslashes, newlines and template
 * sequences, alone and mixed with references, are synthesized by cdktf, applied by Terraform (a
 * provider-free stack: outputs and variables only) and read back unchanged.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Fn, LocalBackend, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import { escapeQuoted, expressionString, expressionValue, jsonTemplate, templateString } from '../../constructs/terraform-expressions';
import { checkWithHcl, expressionsOf, terraformFor } from '../helpers/terraform';

const TRICKY = [
  'plain',
  'C:\\flows\\invoice-entry.ps1 -Name "Q1" \'x\'',
  'powershell -Command "& { ${env:TEMP} }" %{if true}yes%{endif} $${already} %%{too}',
  'line one\nline two\r\n\ttabbed',
  'unicode é ü 日本 \u2028 end\\',
  '${',
  '}',
  '',
];

const SECRET = 'p"a\\s$s{w}o%rd';

function buildStack(outdir: string) {
  const app = new App({ outdir, stackTraces: false });
  const stack = new TerraformStack(app, 'text');
  new LocalBackend(stack, { path: 'terraform.tfstate' });
  const secret = new TerraformVariable(stack, 'secret', { type: 'string', default: SECRET }).stringValue;
  TRICKY.forEach((text, i) => {
    new TerraformOutput(stack, `template_${i}`, { value: templateString(text) });
    new TerraformOutput(stack, `template_mixed_${i}`, { value: templateString(`${text}|${secret}|${text}`), sensitive: true });
    new TerraformOutput(stack, `in_function_${i}`, { value: Fn.jsonencode(expressionValue({ text, mixed: `${text}|${secret}|${text}` })) });
    new TerraformOutput(stack, `json_${i}`, { value: jsonTemplate({ text, secret, mixed: `${text}|${secret}`, n: i, list: [text, secret] }), sensitive: true });
    new TerraformOutput(stack, `joined_${i}`, { value: Fn.base64encode(expressionString(`<${text}>${secret}`)) });
  });
  app.synth();
  return path.join(outdir, 'stacks', 'text');
}

describe('terraform expressions', () => {
  test('escapeQuoted escapes backslashes, quotes, control characters and template sequences', () => {
    expect(escapeQuoted('a\\b"c\nd${e}%{f}\u0001')).toBe('a\\\\b\\"c\\nd$${e}%%{f}\\u0001');
  });

  test('every synthesized expression parses', async () => {
    const dir = buildStack(fs.mkdtempSync(path.join(os.tmpdir(), 'tf-text-')));
    const expressions = expressionsOf('text', JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')));
    expect(expressions.length).toBeGreaterThan(TRICKY.length);
    expect(await checkWithHcl(expressions)).toEqual([]);
  });

  test('Terraform reads back every literal exactly, alone, in a function argument and joined with a reference', () => {
    const binary = terraformFor('the evaluation half of this test');
    if (!binary) return;
    const dir = buildStack(fs.mkdtempSync(path.join(os.tmpdir(), 'tf-text-')));
    const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
    const run = (args: string[]) => {
      const r = spawnSync(binary, args, { cwd: dir, encoding: 'utf8', env });
      if (r.status !== 0) throw new Error(`terraform ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    run(['init', '-input=false', '-no-color']);
    run(['apply', '-auto-approve', '-input=false', '-no-color']);
    const outputs = JSON.parse(run(['output', '-json'])) as Record<string, { value: string }>;
    TRICKY.forEach((text, i) => {
      expect(outputs[`template_${i}`].value).toBe(text);
      expect(outputs[`template_mixed_${i}`].value).toBe(`${text}|${SECRET}|${text}`);
      expect(JSON.parse(outputs[`in_function_${i}`].value)).toEqual({ text, mixed: `${text}|${SECRET}|${text}` });
      expect(JSON.parse(outputs[`json_${i}`].value)).toEqual({ text, secret: SECRET, mixed: `${text}|${SECRET}`, n: i, list: [text, SECRET] });
      expect(Buffer.from(outputs[`joined_${i}`].value, 'base64').toString('utf8')).toBe(`<${text}>${SECRET}`);
    });
  }, 60_000);
});
