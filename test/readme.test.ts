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
