/**
 * What README.md claims that the code decides: the Node.js lines that build the project and run
 * in Azure, the reserved name of the self-test flow, and the rule IDs of the pack. Each is read
 * from the code, so a change there that the README does not follow fails here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PINNED_NODE } from '../constructs/agent-bootstrap';
import { RULE_CATALOGUE } from '../constructs/azure-rules';
import { RUNTIME_NODE_VERSION } from '../constructs/bot-runtime';
import { OPERATIONS } from '../runtime/api/operations';
import { buildProgram } from '../runtime/cli/main';
import { SELF_TEST_FLOW } from '../runtime/config/self-test-flow';

const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const major = (version: string) => Number(/^(\d+)/.exec(version)![1]);

/** The Requirements paragraph of the quick start, on one line. */
function requirements(): string {
  const at = readme.indexOf('Requirements:');
  expect(at).toBeGreaterThan(-1);
  return readme.slice(at, readme.indexOf('\n\n', at)).replace(/\s+/g, ' ');
}

describe('README requirements', () => {
  test('name the Node.js that builds and tests the project, its end of life, and the newer LTS lines, as package.json\'s engines allow', () => {
    expect(pkg.engines.node).toBe('>=20');
    expect(requirements()).toContain('Node.js **20** builds and tests this project');
    expect(requirements()).toContain('Node.js 20 reached its end of life on 2026-04-30, and the project builds on 20 and the newer LTS lines (`engines.node` is `>=20`)');
  });

  test("name the Node.js of the runtime's App Service, as the stack declares it", () => {
    expect(requirements()).toContain(`the runtime's App Service runs Node.js **${major(RUNTIME_NODE_VERSION)} LTS** (\`RUNTIME_NODE_VERSION\` in \`constructs/bot-runtime.ts\`)`);
  });

  test("name the Node.js of the bots, as the bootstrap pins it", () => {
    expect(requirements()).toContain(`the bots run Node.js **${major(PINNED_NODE.version)} LTS** (\`PINNED_NODE\` in \`constructs/agent-bootstrap.ts\`)`);
  });
});

describe('README and the self-test flow', () => {
  test('every smoke run it shows uses the built-in self-test by its reserved name', () => {
    // A real group's name, not a placeholder such as <group>/<flow> or g/f.
    const smokes = [...readme.matchAll(/--smoke ([a-z][a-z0-9-]+)\/([A-Za-z0-9._-]+)/g)].map((m) => m[2]);
    expect(smokes.length).toBeGreaterThan(0);
    expect(new Set(smokes)).toEqual(new Set([SELF_TEST_FLOW]));
  });
});

describe('README rule table', () => {
  test('lists every rule of the catalogue with its summary and level', () => {
    const missing = Object.entries(RULE_CATALOGUE)
      .filter(([id, rule]) => !readme.includes(`| \`${id}\` | ${rule.summary} | ${rule.severity} | ${rule.suppressible ? 'yes' : 'no'} |`))
      .map(([id]) => id);
    expect(missing).toEqual([]);
  });
});

/** The text of a `###` section, up to the next heading of its level or above. */
function section(text: string, heading: string): string {
  const at = text.indexOf(`\n### ${heading}\n`);
  if (at === -1) throw new Error(`README.md has no section "### ${heading}"`);
  const end = text.slice(at + 1).search(/\n#{2,3} /);
  return end === -1 ? text.slice(at) : text.slice(at, at + 1 + end);
}

/** Each `hosted-bots <command>` the text runs, with the flags that follow it on its line or in its code span. */
function cliInvocations(text: string): Array<{ command: string; flags: string[] }> {
  return [...text.matchAll(/\bhosted-bots ([a-z][a-z-]*)([^`\n]*)/g)].map((m) => ({
    command: m[1],
    // A shell comment ends the command.
    flags: [...m[2].split(/\s#\s/)[0].matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)].map((f) => f[1]),
  }));
}

/**
 * Each `/v1/...` route the text names, with its method: the word before it (`POST /v1/...`), else
 * curl's `-X <method>` on its line, else GET.
 */
function apiRoutes(text: string): Array<{ method: string; path: string }> {
  const routes: Array<{ method: string; path: string }> = [];
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/(?:\b(GET|POST|PATCH|DELETE) )?(\/v1\/[^\s`'"|)?,;]*)/g)) {
      const method = m[1] ?? /-X (GET|POST|PATCH|DELETE)\b/.exec(line)?.[1] ?? 'GET';
      routes.push({ method: method.toLowerCase(), path: m[2].replace(/\.$/, '') });
    }
  }
  return routes;
}

/** Whether a named path is a registered one: a `:param` segment stands for any one segment. */
function matchesPath(named: string, registered: string): boolean {
  const a = named.split('/');
  const b = registered.split('/');
  return a.length === b.length && b.every((segment, i) => segment.startsWith(':') ? a[i] !== '' : segment === a[i]);
}

/** What the runbook's names do not match: unknown commands, flags a command lacks, routes or methods the API lacks. */
function unknownNames(text: string): string[] {
  const commands = new Map(buildProgram().commands.map((c) => [c.name(), new Set([...c.options.map((o) => o.long), '--help'])]));
  const operations = Object.values(OPERATIONS);
  const unknown: string[] = [];
  for (const { command, flags } of cliInvocations(text)) {
    const options = commands.get(command);
    if (!options) unknown.push(`hosted-bots ${command}`);
    else unknown.push(...flags.filter((f) => !options.has(f)).map((f) => `hosted-bots ${command} ${f}`));
  }
  for (const { method, path: named } of apiRoutes(text)) {
    if (!operations.some((op) => op.method === method && matchesPath(named, op.path))) unknown.push(`${method.toUpperCase()} ${named}`);
  }
  return unknown;
}

describe('README runbook (When an alert fires)', () => {
  const runbook = section(readme, 'When an alert fires');

  test('names commands and routes, so that the checks below have something to check', () => {
    expect(cliInvocations(runbook).length).toBeGreaterThan(0);
    expect(apiRoutes(runbook).length).toBeGreaterThan(0);
  });

  test('runs only hosted-bots commands and flags the CLI has', () => {
    expect(unknownNames(runbook).filter((n) => n.startsWith('hosted-bots'))).toEqual([]);
  });

  test('names only routes, with their methods, that the operation registry holds', () => {
    expect(unknownNames(runbook).filter((n) => !n.startsWith('hosted-bots'))).toEqual([]);
  });

  test('would catch a command, a flag, a route or a method that does not exist', () => {
    const madeUp = [
      'npx hosted-bots drain --url $URL',
      '`hosted-bots status --group finance`',
      'api -X POST $URL/v1/groups/finance/drain',
      '`DELETE /v1/runs/<id>`',
    ].join('\n');
    expect(unknownNames(madeUp)).toEqual(['hosted-bots drain', 'hosted-bots status --group', 'POST /v1/groups/finance/drain', 'DELETE /v1/runs/<id>']);
  });
});
