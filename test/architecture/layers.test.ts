/**
 * The import layers, kept by a test: arrows point down (api and dashboard → queue and domain →
 * store; scaler → azure), the API and the dashboard never import each other (the server composes
 * them on the shared HTTP front), the queue tells its subscribers what happened through its own
 * events instead of importing them, and the constructs import no runtime server code.
 *
 * The graph holds value imports only, followed through every file: a type import is erased when
 * the code is compiled and ties no layer to another at run time (test/helpers/import-graph.ts).
 * A broken rule fails with the chain of imports that breaks it, shortest first.
 */
import * as path from 'path';
import { ImportGraph, LayerRule, layerViolations, valueImportGraph } from '../helpers/import-graph';

/** The layer rules. A folder ends in `/`; anything else is one file. */
const LAYER_RULES: readonly LayerRule[] = [
  {
    rule: 'the API, the dashboard, their HTTP front, the queue and the domain never reach the Azure driver or the scaler loop',
    from: ['runtime/api/', 'runtime/dashboard/', 'runtime/http/', 'runtime/queue/', 'runtime/domain/'],
    neverReaches: ['runtime/azure/', 'runtime/scaler/loop.ts'],
  },
  {
    rule: 'the API never imports the dashboard',
    from: ['runtime/api/'],
    neverReaches: ['runtime/dashboard/'],
  },
  {
    rule: 'the dashboard never imports the API',
    from: ['runtime/dashboard/'],
    neverReaches: ['runtime/api/'],
  },
  {
    rule: 'the HTTP front the API and the dashboard share imports neither of them',
    from: ['runtime/http/'],
    neverReaches: ['runtime/api/', 'runtime/dashboard/', 'runtime/server.ts'],
  },
  {
    rule: 'the queue imports none of those that subscribe to its events',
    from: ['runtime/queue/'],
    neverReaches: ['runtime/scaler/', 'runtime/api/', 'runtime/dashboard/', 'runtime/http/', 'runtime/server.ts'],
  },
  {
    rule: 'the domain and the store reach no layer above them',
    from: ['runtime/domain/', 'runtime/store/'],
    neverReaches: ['runtime/queue/', 'runtime/scaler/', 'runtime/azure/', 'runtime/api/', 'runtime/dashboard/', 'runtime/http/', 'runtime/server.ts'],
  },
  {
    rule: 'the constructs import no runtime server code: only the manifest schema and the bundle they deploy',
    from: ['constructs/'],
    neverReaches: ['runtime/'],
    except: ['runtime/config/', 'runtime/cli/bundle.ts', 'runtime/cli/bundle-files.ts', 'runtime/charts.ts'],
  },
  {
    rule: 'no file reaches itself',
    noCycleWithin: ['index.ts', 'constructs/', 'stacks/', 'runtime/', 'examples/', 'bench/'],
  },
];

describe('import layers', () => {
  let graph: ImportGraph;
  beforeAll(() => {
    graph = valueImportGraph(path.join(__dirname, '..', '..', 'tsconfig.json'));
  });

  test('the graph holds the layers the rules speak of', () => {
    // A graph that lost its files or its edges would keep every rule; these must be in it.
    expect(graph.get('runtime/server.ts')).toEqual(expect.arrayContaining(['runtime/api/routes.ts', 'runtime/dashboard/routes.ts', 'runtime/scaler/loop.ts']));
    expect(graph.get('runtime/scaler/loop.ts')).toContain('runtime/azure/compute.ts');
    expect(graph.get('constructs/bot-group.ts')).toContain('runtime/config/fleet-schema.ts');
  });

  test.each(LAYER_RULES.map((rule) => [rule.rule, rule] as const))('%s', (_name, rule) => {
    expect(layerViolations(graph, rule)).toEqual([]);
  });
});

describe('the layer checker', () => {
  const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));
  const downward: LayerRule = { rule: 'the API never reaches the Azure driver', from: ['api/'], neverReaches: ['azure/'], except: ['azure/types.ts'] };

  test('names the whole chain of a file that reaches a forbidden one through others', () => {
    const graph = graphOf({ 'api/routes.ts': ['queue/queue.ts'], 'queue/queue.ts': ['scaler/loop.ts'], 'scaler/loop.ts': ['azure/compute.ts'], 'azure/compute.ts': [] });
    expect(layerViolations(graph, downward)).toEqual(['api/routes.ts → queue/queue.ts → scaler/loop.ts → azure/compute.ts']);
  });

  test('names the shortest chain when there are several', () => {
    const graph = graphOf({ 'api/routes.ts': ['a.ts', 'b.ts'], 'a.ts': ['c.ts'], 'c.ts': ['azure/compute.ts'], 'b.ts': ['azure/compute.ts'] });
    expect(layerViolations(graph, downward)).toEqual(['api/routes.ts → b.ts → azure/compute.ts']);
  });

  test('passes a graph whose arrows point down, and a file the rule excepts', () => {
    const graph = graphOf({ 'api/routes.ts': ['queue/queue.ts', 'azure/types.ts'], 'queue/queue.ts': ['store/types.ts'], 'scaler/loop.ts': ['azure/compute.ts', 'queue/queue.ts'] });
    expect(layerViolations(graph, downward)).toEqual([]);
  });

  test('names each circle once, from where it is first met', () => {
    const graph = graphOf({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'], 'd.ts': ['d.ts'], 'e.ts': ['a.ts'] });
    expect(layerViolations(graph, { rule: 'no circles', noCycleWithin: ['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts'] })).toEqual(['a.ts → b.ts → c.ts → a.ts', 'd.ts → d.ts']);
  });
});

describe('the value-import graph', () => {
  test('leaves out type imports, `import { type X }` and names that are only types; keeps values, re-exports and require()', () => {
    const graph = valueImportGraph(path.join(__dirname, 'fixtures', 'tsconfig.json'));
    expect(graph.get('main.ts')).toEqual(['mixed.ts', 'reexport.ts', 'required.ts', 'values.ts']);
  });
});
